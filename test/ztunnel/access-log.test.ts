import t from 'tap';
import { AccessLog, AccessLogEntry } from '../../src/ztunnel/access-log';

const FIXED = new Date('2024-05-01T10:00:00.123Z');

function capture(): { log: AccessLog; lines: string[] } {
  const lines: string[] = [];
  return { log: new AccessLog({ sink: (l) => lines.push(l), now: () => FIXED }), lines };
}

const outbound: AccessLogEntry = {
  src: { addr: '10.4.0.9:41234', workload: 'sleep-7656cf8794-r7zb9', namespace: 'default', identity: 'spiffe://cluster.local/ns/default/sa/sleep' },
  dst: {
    addr: '10.4.0.5:15008',
    hboneAddr: '10.4.0.5:9080',
    service: 'productpage.default.svc.cluster.local',
    workload: 'productpage-v1-0',
    namespace: 'default',
    identity: 'spiffe://cluster.local/ns/default/sa/bookinfo-productpage',
  },
  direction: 'outbound',
  requestBytes: 80,
  responseBytes: 1480,
  durationMs: 12.9,
};

t.test('one JSON line per connection, in ztunnel key order', async (t) => {
  const { log, lines } = capture();
  const returned = log.write(outbound);
  t.equal(lines.length, 1);
  t.equal(lines[0], returned);
  t.notMatch(lines[0], /\n/);
  const rec = JSON.parse(lines[0]);
  t.same(Object.keys(rec), [
    'level',
    'time',
    'scope',
    'message',
    'src.addr',
    'src.workload',
    'src.namespace',
    'src.identity',
    'dst.addr',
    'dst.hbone_addr',
    'dst.service',
    'dst.workload',
    'dst.namespace',
    'dst.identity',
    'direction',
    'bytes_sent',
    'bytes_recv',
    'duration',
  ]);
  t.match(rec, {
    level: 'info',
    time: '2024-05-01T10:00:00.123Z',
    scope: 'access',
    message: 'connection complete',
    'src.addr': '10.4.0.9:41234',
    'dst.addr': '10.4.0.5:15008',
    'dst.hbone_addr': '10.4.0.5:9080',
    direction: 'outbound',
    duration: '12ms',
  });
  t.equal(rec.bytes_sent, 80, 'outbound: the local client sent the request');
  t.equal(rec.bytes_recv, 1480);
});

t.test('inbound logs bytes from the server side', async (t) => {
  const { log, lines } = capture();
  log.write({ ...outbound, direction: 'inbound' });
  const rec = JSON.parse(lines[0]);
  t.equal(rec.direction, 'inbound');
  t.equal(rec.bytes_sent, 1480, 'inbound: the local server sent the response');
  t.equal(rec.bytes_recv, 80);
});

t.test('errors, denials and early failures', async (t) => {
  const { log, lines } = capture();
  log.write({
    ...outbound,
    direction: 'inbound',
    requestBytes: 0,
    responseBytes: 0,
    durationMs: 0.4,
    error: 'connection closed due to policy rejection',
    reason: 'denied by ns[default]-policy[deny-sleep]-rule[0]',
    policy: 'ns[default]-policy[deny-sleep]-rule[0]',
  });
  const denied = JSON.parse(lines[0]);
  t.match(denied, { level: 'error', message: 'connection complete', error: 'connection closed due to policy rejection', duration: '0ms' });
  t.equal(denied.reason, 'denied by ns[default]-policy[deny-sleep]-rule[0]');
  t.equal(denied.policy, 'ns[default]-policy[deny-sleep]-rule[0]');
  t.same(Object.keys(denied).slice(-3), ['error', 'reason', 'policy']);

  log.write({
    src: { addr: '10.4.0.9:5000' },
    dst: { addr: '10.4.0.5:15008' },
    direction: 'inbound',
    requestBytes: 0,
    responseBytes: 0,
    durationMs: 1,
    failed: true,
    error: 'unknown destination',
  });
  const early = JSON.parse(lines[1]);
  t.match(early, { level: 'warn', message: 'connection failed', error: 'unknown destination' });
  t.notOk('src.identity' in early, 'absent fields are left out');
  t.notOk('dst.hbone_addr' in early);
});

t.test('writes to stdout by default', async (t) => {
  const written: string[] = [];
  const original = process.stdout.write.bind(process.stdout);
  process.stdout.write = ((chunk: string | Uint8Array) => {
    written.push(String(chunk));
    return true;
  }) as typeof process.stdout.write;
  try {
    new AccessLog().write(outbound);
    // Lines are written together once the event loop turns (src/telemetry/stdout-lines.ts).
    await new Promise((r) => setImmediate(r));
  } finally {
    process.stdout.write = original;
  }
  t.equal(written.length, 1);
  t.match(written[0], /^\{"level":"info","time":"[^"]+","scope":"access","message":"connection complete",.*\}\n$/);
});
