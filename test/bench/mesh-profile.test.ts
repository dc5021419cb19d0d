// bench/mesh-profile.ts: a .cpuprofile's busy time by kind of work (self time), and the
// simulator's own functions by inclusive time, each counted once per sample however deep.
import t from 'tap';
import { CpuProfile, formatSummary, kindOf, summarize } from '../../bench/mesh-profile';

const SRC = 'file:///repo/dist/src';
const frame = (functionName: string, url: string, lineNumber = 0) => ({ functionName, url, lineNumber });

// root -> enroll (src) -> createCsr (src) -> sign (@peculiar); root -> listen (node:net); idle.
const PROFILE: CpuProfile = {
  nodes: [
    { id: 1, callFrame: frame('(root)', ''), children: [2, 5, 6] },
    { id: 2, callFrame: frame('enroll', `${SRC}/ztunnel/captured-pod.js`, 40), children: [3] },
    { id: 3, callFrame: frame('createCsr', `${SRC}/identity/csr.js`, 9), children: [4] },
    { id: 4, callFrame: frame('sign', 'file:///repo/node_modules/@peculiar/x509/build/x509.cjs.js') },
    { id: 5, callFrame: frame('listen', 'node:net') },
    { id: 6, callFrame: frame('(idle)', '') },
  ],
  startTime: 0,
  endTime: 10_000_000,
  samples: [4, 4, 3, 5, 6, 6],
  timeDeltas: [1000, 1000, 1000, 2000, 5_000_000, 1000],
};

t.test('busy time by kind, idle left out; inclusive time of the project functions', async (t) => {
  const s = summarize('p', PROFILE);
  t.equal(s.wallMs, 10_000);
  t.equal(s.busyMs, 5);
  t.same(s.byKind, [
    ['certificates: x509, ASN.1, WebCrypto', 2],
    ['sockets and listeners', 2],
    ['the simulator (dist/src)', 1],
  ]);
  t.same(
    [...s.ownInclusive].sort(),
    [
      ['createCsr src/identity/csr.js:10', 3],
      ['enroll src/ztunnel/captured-pod.js:41', 3],
    ],
    'the 2 ms of signing count for both callers, the 1 ms of createCsr itself too',
  );
  t.match(formatSummary(s), /^p: 5 ms of CPU in 10000 ms\n by kind \(self time\):\n\s+2 ms\s+40%\s+certificates/);
});

t.test('kinds', async (t) => {
  t.equal(kindOf(frame('(garbage collector)', '')), 'garbage collection');
  t.equal(kindOf(frame('createSecureContext', 'node:_tls_common')), 'TLS');
  t.equal(kindOf(frame('compose', 'file:///r/node_modules/yaml/dist/compose/compose-doc.js')), 'YAML');
  t.equal(kindOf(frame('x', 'file:///r/node_modules/prom-client/lib/registry.js')), 'other dependencies');
  t.equal(kindOf(frame('x', 'node:internal/timers')), 'other Node internals');
});
