// A pod outside the mesh: where its connections go (DNS, kube-proxy round robin, the
// destination's redirection to :15006 when that pod is in the mesh), and the PROXY v1 line that
// stands in for SO_ORIGINAL_DST.
import t from 'tap';
import { routeFromPod } from '../../src/ztunnel/pod-network';
import { formatProxyV1, parseProxyV1 } from '../../src/ztunnel/inbound-plaintext';
import { MeshState } from '../../src/mesh/state';
import { REPLY_CONNECTION_REFUSED, REPLY_HOST_UNREACHABLE } from '../../src/ztunnel/socks5-server';
import { BASE, load } from '../mesh/fixtures/scenario-text';

const outside = (name: string) => {
  const s = load(BASE);
  return new MeshState({
    ...s,
    workloads: s.workloads.map((w) => (w.name === name ? { ...w, labels: { ...w.labels, 'istio.io/dataplane-mode': 'none' } } : w)),
  });
};

t.test('DNS, kube-proxy and redirection', async (t) => {
  const state = outside('sleep');
  const sleep = state.pod('sleep')!;
  const toEcho = routeFromPod(state, sleep, 'echo', 8080);
  t.match(toEcho, { kind: 'dial', ip: '10.4.2.5', port: 8080 });
  t.equal(toEcho.kind === 'dial' && toEcho.redirectTo15006?.name, 'echo', 'echo is in the mesh: its :15006');
  t.match(routeFromPod(state, sleep, '10.8.0.20', 8080), { kind: 'dial', ip: '10.4.2.5' }, 'the VIP too');
  t.match(routeFromPod(state, sleep, 'nope', 80), { kind: 'refused', reply: REPLY_HOST_UNREACHABLE });
  t.match(routeFromPod(state, sleep, 'echo', 9999), { kind: 'refused', reply: REPLY_CONNECTION_REFUSED });
  t.match(routeFromPod(state, sleep, '192.0.2.1', 443), { kind: 'dial', ip: '192.0.2.1', port: 443, redirectTo15006: undefined });
  const both = outside('echo');
  const plain = routeFromPod(both, both.pod('sleep')!, 'echo', 8080);
  t.equal(plain.kind === 'dial' && plain.redirectTo15006, undefined, 'echo outside the mesh too: its own port');
});

t.test('the PROXY v1 line', async (t) => {
  const h = { source: '10.4.1.5', destination: '10.4.2.5', sourcePort: 40000, destinationPort: 8080 };
  const line = formatProxyV1(h);
  t.equal(line, 'PROXY TCP4 10.4.1.5 10.4.2.5 40000 8080\r\n');
  t.same(parseProxyV1(line.trimEnd()), h);
  t.match(parseProxyV1('PROXY TCP6 ::1 ::1 1 2'), /not a PROXY TCP4 line/);
  t.match(parseProxyV1('PROXY TCP4 10.4.1.5 10.4.2.999 1 2'), /IPv4/);
  t.match(parseProxyV1('PROXY TCP4 10.4.1.5 10.4.2.5 1 0'), /out of range/);
  t.match(parseProxyV1('PROXY TCP4 10.4.1.5 10.4.2.5 1 99999'), /out of range/);
});
