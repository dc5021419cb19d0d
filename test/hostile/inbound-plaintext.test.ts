// Ambient enrollment end to end, and ztunnel's inbound plaintext port abused. Real processes on
// 10.114 (l4Scenario), with notsleep and sink labelled istio.io/dataplane-mode=none: outside
// the mesh. A client outside the mesh reaches a pod in it as plain TCP on that pod's :15006,
// policy sees no identity, metrics say connection_security_policy "unknown"; a pod in the mesh
// reaches one outside it as plain TCP. Then :15006 itself: garbage, an endless line, a line for
// another pod or for ztunnel's own ports, a client that says nothing: each is reset and logged,
// and the mesh keeps flowing.
import t from 'tap';
import * as net from 'node:net';
import { startMesh, Mesh, l4Scenario } from '../fixtures/scenario-mesh';
import { socks5Connect } from '../../src/apps/socks5';
import { echoFlows } from './fixtures/echo-flows';
import { PROXY_V1_MAX_BYTES } from '../../src/ztunnel/inbound-plaintext';

const N = 114;
const NOTSLEEP_SOCKS = { host: `127.${N}.1.2`, port: 15080 };
const CAPTURE_ECHO = { host: `127.${N}.0.1`, port: 15101 }; // sleep -> echo:8080, in the mesh
const CAPTURE_SINK = { host: `127.${N}.0.1`, port: 15103 }; // sleep -> sink:9000, sink outside
const DETAILS_A_PLAINTEXT = { host: `127.${N}.2.3`, port: 15006 };

const scenario = l4Scenario(N)
  .replace('labels: { app: notsleep }', 'labels: { app: notsleep, istio.io/dataplane-mode: none }')
  .replace('labels: { app: sink }', 'labels: { app: sink, istio.io/dataplane-mode: none }');

let mesh: Mesh;
const crashes: string[] = [];
t.before(async () => {
  mesh = await startMesh(scenario, 'inbound-plaintext');
  mesh.supervisor.onCrash((child, code, signal) => crashes.push(`${child.spec.name} exited ${code ?? signal}`));
});
t.teardown(() => mesh?.stop());

/** Sends `request` on `socket` (half-closing) and resolves with the reply and how it ended. */
function exchange(socket: net.Socket, request: string | Buffer, timeoutMs = 8000): Promise<{ reply: string; ended: 'closed' | 'reset' | 'open' }> {
  return new Promise((resolve) => {
    let reply = '';
    let ended: 'closed' | 'reset' | 'open' = 'open';
    const timer = setTimeout(() => {
      socket.destroy();
      resolve({ reply, ended });
    }, timeoutMs);
    socket.setEncoding('latin1');
    socket.on('data', (c: string) => (reply += c));
    socket.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'ECONNRESET') ended = 'reset';
    });
    socket.on('close', () => {
      clearTimeout(timer);
      resolve({ reply, ended: ended === 'open' ? 'closed' : ended });
    });
    socket.end(request);
  });
}

const fromNotsleep = (host: string, port: number) => socks5Connect({ proxy: NOTSLEEP_SOCKS, target: { host, port }, allowHalfOpen: true });
const GET_DETAILS = 'GET /details/0 HTTP/1.1\r\nHost: details\r\nConnection: close\r\n\r\n';

t.test('a pod outside the mesh reaches one in it as plaintext, with no identity', async (t) => {
  const r = await exchange(await fromNotsleep('details', 9080), GET_DETAILS);
  t.match(r.reply, /^HTTP\/1\.1 200 /, 'details answers');
  const samples = await mesh.metrics('node-b');
  const opened = samples.filter(
    (s) => s.name === 'istio_tcp_connections_opened_total' && s.labels.reporter === 'destination' && s.labels.source_workload === 'notsleep',
  );
  t.ok(opened.length > 0, 'details-v1-a or -b counted it');
  const labels = opened.find((s) => s.labels.destination_workload === 'details-v1-a') ?? opened[0];
  t.equal(labels.labels.connection_security_policy, 'unknown');
  t.equal(labels.labels.source_principal, 'unknown', 'no mTLS, no principal, whatever pod the address belongs to');
  // echo admits only sleep's identity: a plaintext client has none.
  const denied = await exchange(await fromNotsleep('echo', 8080), 'hello');
  t.equal(denied.reply, '');
  t.equal(denied.ended, 'reset', 'the policy resets it, as ztunnel does');
  await echoFlows(CAPTURE_ECHO, 'hello');
});

t.test('a pod in the mesh reaches one outside it as plain TCP', async (t) => {
  const s = net.connect({ ...CAPTURE_SINK, allowHalfOpen: true });
  const r = await exchange(s, 'x'.repeat(1000));
  t.equal(r.reply, '1000', 'the sink counted every byte');
  const samples = await mesh.metrics('node-a');
  const toSink = samples.find(
    (x) => x.name === 'istio_tcp_connections_opened_total' && x.labels.reporter === 'source' && x.labels.destination_workload === 'sink',
  );
  t.equal(toSink?.labels.connection_security_policy, 'unknown');
  t.equal(toSink?.labels.source_workload, 'sleep');
});

t.test(':15006 abused: each is reset and the mesh keeps flowing', async (t) => {
  const attempt = (bytes: string | Buffer, timeoutMs?: number) => exchange(net.connect(DETAILS_A_PLAINTEXT), bytes, timeoutMs);
  const cases: [string, string | Buffer][] = [
    ['garbage', 'GET / HTTP/1.1\r\n\r\n'],
    ['a line too long', `PROXY TCP4 ${'9'.repeat(PROXY_V1_MAX_BYTES)}`],
    ['another pod as destination', `PROXY TCP4 10.${N}.1.1 10.${N}.2.1 5000 8080\r\nhello`],
    ["ztunnel's own port", `PROXY TCP4 10.${N}.1.1 10.${N}.2.3 5000 15008\r\n`],
    ['IPv6', 'PROXY TCP6 ::1 ::1 5000 9080\r\n'],
    ['a port out of range', `PROXY TCP4 10.${N}.1.1 10.${N}.2.3 5000 70000\r\n`],
    ['random bytes', Buffer.from(Array.from({ length: 300 }, (_, i) => (i * 37) % 256))],
  ];
  for (const [what, bytes] of cases) {
    const r = await attempt(bytes);
    t.equal(r.reply, '', `${what}: nothing delivered`);
    t.not(r.ended, 'open', `${what}: closed`);
  }
  // One that says nothing is dropped once the header deadline passes.
  const silent = net.connect(DETAILS_A_PLAINTEXT);
  const quiet = await new Promise<string>((resolve) => {
    const timer = setTimeout(() => resolve('open'), 8000);
    silent.on('error', () => undefined);
    silent.on('close', () => {
      clearTimeout(timer);
      resolve('closed');
    });
  });
  t.equal(quiet, 'closed', 'a client that never sends its PROXY line is dropped');
  // A good line from a host address: the app gets the request, nothing more, nothing less.
  const good = await attempt(`PROXY TCP4 10.${N}.1.1 10.${N}.2.3 5000 9080\r\n${GET_DETAILS}`);
  t.match(good.reply, /^HTTP\/1\.1 200 /);
  await echoFlows(CAPTURE_ECHO, 'still here');
  t.same(crashes, [], 'no process crashed');
});
