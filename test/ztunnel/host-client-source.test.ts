// A client on the host (127.0.0.1) using a pod's SOCKS5 address or a port capture is that pod,
// as a capture in the pod's network namespace would see it: the source ztunnel's access log,
// the destination's, and the CONNECT's forwarded header all carry the pod's cluster address
// and the client's port, never 127.0.0.1 (block 10.76; node-c's ztunnel is a stand-in that
// records the CONNECT headers it gets for the probe pod).
import t from 'tap';
import * as net from 'node:net';
import { execFileSync, spawnSync } from 'node:child_process';
import { startMesh, Mesh } from '../fixtures/scenario-mesh';
import { field, AccessRecord } from '../../src/runner/access-records';
import { socks5Connect } from '../../src/apps/socks5';
import { loadOrCreateCa } from '../../src/identity/ca-store';
import { WorkloadCertificate } from '../../src/identity/workload-cert';
import { makeSpiffeId } from '../../src/identity/spiffe';
import { HboneServer } from '../../src/hbone/server';
import { logger } from '../../src/telemetry/log';

const SLEEP_IP = '10.76.1.1';
const SLEEP_SOCKS = { host: '127.76.1.1', port: 15080 };
const PROBE_HOST = '127.76.3.1';
const CAPTURE_HOST = '127.76.0.1';

const YAML = `name: host-client
nodes:
  - { name: node-a, ip: 10.76.0.1 }
  - { name: node-b, ip: 10.76.0.2 }
  - { name: node-c, ip: 10.76.0.3 }
workloads:
  - { name: sleep, namespace: default, serviceAccount: sleep, node: node-a, ip: ${SLEEP_IP}, labels: { app: sleep }, run: { app: sleep, port: 80 } }
  - { name: details, namespace: default, serviceAccount: bookinfo-details, node: node-b, ip: 10.76.2.1, labels: { app: details }, run: { app: details, port: 9080 } }
  # Alone on node-c: the test serves its :15008 in place of ztunnel-node-c.
  - { name: probe, namespace: default, serviceAccount: probe, node: node-c, ip: 10.76.3.1, labels: { app: probe }, run: { app: echo, port: 8080 } }
services:
  - { name: details, namespace: default, vip: 10.76.8.1, selector: { app: details }, ports: [ { name: http, port: 9080 } ] }
  - { name: probe, namespace: default, vip: 10.76.8.2, selector: { app: probe }, ports: [ { name: tcp, port: 8080 } ] }
captures:
  - { listen: ${CAPTURE_HOST}:15101, source: sleep, target: details:9080 }
  - { listen: ${CAPTURE_HOST}:15102, source: sleep, target: probe:8080 }
`;

let mesh: Mesh;
let probe: HboneServer | undefined;
let probeCert: WorkloadCertificate | undefined;
/** The forwarded header of every CONNECT the stand-in for node-c got. */
const forwarded: string[] = [];

t.before(async () => {
  mesh = await startMesh(YAML, 'host-client', ['ztunnel-node-c']);
  probeCert = await WorkloadCertificate.obtain(makeSpiffeId('default', 'probe'), await loadOrCreateCa(mesh.caDir));
  probe = new HboneServer({
    address: PROBE_HOST,
    certificate: probeCert,
    log: logger('test-probe', () => undefined),
    handler: (conn) => {
      forwarded.push(String(conn.headers.forwarded));
      const stream = conn.accept();
      stream.on('error', () => undefined);
      stream.end('seen\n');
      stream.resume();
    },
  });
  await probe.listen();
});

t.teardown(async () => {
  await probe?.close(0).catch(() => undefined);
  probeCert?.stop();
  await mesh?.stop();
});

/** One HTTP GET over `socket`, half-closed after it; resolves with everything that came back. */
function exchange(socket: net.Socket, request: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    socket.setEncoding('utf8');
    socket.on('data', (c: string) => (text += c));
    socket.on('error', reject);
    socket.on('close', () => resolve(text));
    socket.end(request);
  });
}

const GET_DETAILS = 'GET /details/0 HTTP/1.1\r\nHost: details:9080\r\nConnection: close\r\n\r\n';

/** The outbound record of node-a and the inbound record of node-b for one connection from `srcPort`. */
async function recordsFor(since: number, srcPort: number): Promise<{ out?: AccessRecord; in?: AccessRecord; all: AccessRecord[] }> {
  const mine = (r: AccessRecord): boolean => field(r, 'src.addr').endsWith(`:${srcPort}`);
  const all = await mesh.records.waitFor(since, (rs) => rs.filter(mine).length >= 2, 5000);
  const ofPort = all.filter(mine);
  return { out: ofPort.find((r) => field(r, 'direction') === 'outbound'), in: ofPort.find((r) => field(r, 'direction') === 'inbound'), all };
}

t.test("a Node SOCKS5 client from 127.0.0.1 through sleep's SOCKS5 address is sleep", async (t) => {
  const since = performance.now();
  const socket = await socks5Connect({ proxy: SLEEP_SOCKS, target: { host: 'details', port: 9080 }, localAddress: '127.0.0.1', allowHalfOpen: true });
  const port = socket.localPort!;
  t.match(await exchange(socket, GET_DETAILS), /^HTTP\/1\.1 200 /);
  const { out, in: inb, all } = await recordsFor(since, port);
  t.equal(field(out, 'src.addr'), `${SLEEP_IP}:${port}`, "the source ztunnel's access log: sleep's address, the client's port");
  t.equal(field(inb, 'src.addr'), `${SLEEP_IP}:${port}`, "the destination ztunnel's access log too (from forwarded)");
  t.notOk(
    all.some((r) => field(r, 'src.addr').startsWith('127.')),
    'no record names a host address',
  );
});

t.test(
  'curl --socks5-hostname from the host, as the README says',
  { skip: spawnSync('curl', ['--version']).status === 0 ? false : 'curl is not installed' },
  async (t) => {
    const since = performance.now();
    // --local-port pins the client port, to find this connection's records.
    const port = 40000 + (process.pid % 20000);
    const body = execFileSync(
      'curl',
      [
        '-sS',
        '--max-time',
        '10',
        '--interface',
        '127.0.0.1',
        '--local-port',
        `${port}-${port + 50}`,
        '--socks5-hostname',
        `${SLEEP_SOCKS.host}:${SLEEP_SOCKS.port}`,
        'http://details:9080/details/0',
      ],
      { encoding: 'utf8' },
    );
    t.match(JSON.parse(body), { author: 'William Shakespeare' });
    const all = await mesh.records.waitFor(since, (rs) => rs.filter((r) => field(r, 'dst.service') === 'details.default.svc.cluster.local').length >= 2, 5000);
    const out = all.find((r) => field(r, 'direction') === 'outbound');
    const inb = all.find((r) => field(r, 'direction') === 'inbound');
    t.match(field(out, 'src.addr'), new RegExp(`^${SLEEP_IP.replace(/\./g, '\\.')}:(\\d+)$`), 'source ztunnel: sleep');
    const used = Number(field(out, 'src.addr').split(':')[1]);
    t.ok(used >= port && used <= port + 50, `with curl's own port (${used})`);
    t.equal(field(inb, 'src.addr'), field(out, 'src.addr'), 'destination ztunnel: the same');
  },
);

t.test('the forwarded header a destination sees: SOCKS5 and a port capture, from 127.0.0.1', async (t) => {
  forwarded.length = 0;
  const socket = await socks5Connect({ proxy: SLEEP_SOCKS, target: { host: 'probe', port: 8080 }, localAddress: '127.0.0.1', allowHalfOpen: true });
  const socksPort = socket.localPort!;
  t.equal(await exchange(socket, 'hi'), 'seen\n');
  const captured = net.connect({ host: CAPTURE_HOST, port: 15102, localAddress: '127.0.0.1', allowHalfOpen: true });
  await new Promise((r) => captured.once('connect', r));
  const capturePort = captured.localPort!;
  t.equal(await exchange(captured, 'hi'), 'seen\n');
  t.same(forwarded, [`for="${SLEEP_IP}:${socksPort}"`, `for="${SLEEP_IP}:${capturePort}"`]);
});

t.test('a port capture dialled from another loopback address is still sleep, not a made-up 10.x pod', async (t) => {
  const since = performance.now();
  // 127.76.9.9 would map to 10.76.9.9, an address no pod has.
  const socket = net.connect({ host: CAPTURE_HOST, port: 15101, localAddress: '127.76.9.9', allowHalfOpen: true });
  await new Promise((r) => socket.once('connect', r));
  const port = socket.localPort!;
  t.match(await exchange(socket, GET_DETAILS), /^HTTP\/1\.1 200 /);
  const { out, in: inb } = await recordsFor(since, port);
  t.equal(field(out, 'src.addr'), `${SLEEP_IP}:${port}`);
  t.equal(field(inb, 'src.addr'), `${SLEEP_IP}:${port}`);
});
