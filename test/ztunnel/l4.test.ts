// The L4 ambient path with real processes: two ztunnels, sleep/notsleep on node A, echo,
// sink and details on node B (and a second details on A).
import t from 'tap';
import * as net from 'node:net';
import * as path from 'node:path';
import { execFileSync, spawnSync } from 'node:child_process';
import { startMesh, l4Scenario, Mesh } from '../fixtures/scenario-mesh';
import { findSamples, sumSamples } from '../../src/telemetry/prom-text';
import { execInPod } from '../../src/runner/exec';
import { field } from '../../src/runner/access-records';
import { loadOrCreateCa } from '../../src/identity/ca-store';
import { WorkloadCertificate } from '../../src/identity/workload-cert';
import { makeSpiffeId } from '../../src/identity/spiffe';
import { HbonePool, HboneConnectError } from '../../src/hbone/pool';
import { expectIdentity } from '../../src/hbone/tls';
import { logger } from '../../src/telemetry/log';

const N = 61;
let mesh: Mesh;

t.before(async () => {
  mesh = await startMesh(l4Scenario(N), 'l4');
});
t.teardown(() => mesh?.stop());

/** Sends `data` through a capture, half-closes, and returns what came back. */
function throughCapture(port: number, data: Buffer): Promise<{ reply: Buffer; error?: string }> {
  return new Promise((resolve) => {
    const s = net.connect({ host: `127.${N}.0.1`, port, allowHalfOpen: true });
    const chunks: Buffer[] = [];
    s.on('data', (c: Buffer) => chunks.push(c));
    s.on('error', (e: NodeJS.ErrnoException) => resolve({ reply: Buffer.concat(chunks), error: e.code ?? e.message }));
    s.on('close', () => resolve({ reply: Buffer.concat(chunks) }));
    s.end(data);
  });
}

async function metric(node: string, name: string, labels: Record<string, string>, want: number): Promise<number> {
  // Closes are counted when both pipes finish; give them a moment.
  let got = 0;
  for (let i = 0; i < 40; i++) {
    got = sumSamples(await mesh.metrics(node), name, labels);
    if (got === want) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  return got;
}

t.test('sleep -> details returns 200 across two ztunnels, with identities on both ends', async (t) => {
  const since = performance.now();
  const r = await execInPod(`10.${N}.1.1`, '/fetch', { url: 'http://details:9080/details/0' });
  t.equal(r.status, 200);
  t.match(r.body, /"author":\s*"William Shakespeare"/);
  const found = await mesh.records.waitFor(
    since,
    (rs) => rs.filter((x) => field(x, 'src.workload') === 'sleep' || field(x, 'src.identity').endsWith('/sa/sleep')).length >= 2,
    2000,
  );
  const out = found.find((x) => field(x, 'direction') === 'outbound' && field(x, 'src.workload') === 'sleep');
  t.equal(out?.reporter, 'ztunnel-node-a', 'captured by the source node ztunnel');
  t.equal(field(out, 'src.identity'), 'spiffe://cluster.local/ns/default/sa/sleep');
  t.equal(field(out, 'dst.identity'), 'spiffe://cluster.local/ns/default/sa/bookinfo-details');
  t.match(field(out, 'dst.addr'), /:15008$/, 'dst.addr is the HBONE side');
  t.equal(field(out, 'dst.service'), 'details.default.svc.cluster.local');
});

t.test('a service spreads connections across its pods on both nodes', async (t) => {
  const since = performance.now();
  for (let i = 0; i < 6; i++) t.equal((await execInPod(`10.${N}.1.1`, '/fetch', { url: `http://10.${N}.8.3:9080/details/0` })).status, 200);
  const found = await mesh.records.waitFor(
    since,
    (rs) => rs.filter((x) => field(x, 'direction') === 'inbound' && field(x, 'dst.service') === 'details.default.svc.cluster.local').length >= 6,
    2000,
  );
  const pods = new Set(found.filter((x) => field(x, 'direction') === 'inbound').map((x) => field(x, 'dst.workload')));
  t.same([...pods].sort(), ['details-v1-a', 'details-v1-b'], 'both endpoints served');
});

t.test('echo through a capture: byte counters, opens and closes on both reporters', async (t) => {
  const message = Buffer.from('hello mesh\n'); // 11 bytes
  const { reply, error } = await throughCapture(15101, message);
  t.notOk(error);
  t.equal(reply.toString(), message.toString(), '11 bytes echoed');
  const sel = { source_workload: 'sleep', destination_workload: 'echo-v1' };
  for (const [node, reporter] of [
    ['node-a', 'source'],
    ['node-b', 'destination'],
  ] as const) {
    const labels = { ...sel, reporter };
    t.equal(await metric(node, 'istio_tcp_connections_closed_total', labels, 1), 1, `${reporter}: closed 1`);
    t.equal(sumSamples(await mesh.metrics(node), 'istio_tcp_connections_opened_total', labels), 1, `${reporter}: opened 1`);
    t.equal(sumSamples(await mesh.metrics(node), 'istio_tcp_received_bytes_total', labels), 11, `${reporter}: 11 bytes received (request)`);
    t.equal(sumSamples(await mesh.metrics(node), 'istio_tcp_sent_bytes_total', labels), 11, `${reporter}: 11 bytes sent (response)`);
    const [s] = findSamples(await mesh.metrics(node), 'istio_tcp_connections_opened_total', labels);
    t.equal(s?.labels.source_principal, 'spiffe://cluster.local/ns/default/sa/sleep');
    t.equal(s?.labels.destination_principal, 'spiffe://cluster.local/ns/default/sa/echo');
    t.equal(s?.labels.connection_security_policy, 'mutual_tls');
    t.equal(s?.labels.destination_service, 'echo.default.svc.cluster.local');
  }
});

t.test('a denied principal: the connection closes, 401 is logged, the metrics say DENY', async (t) => {
  const since = performance.now();
  const { reply } = await throughCapture(15102, Buffer.from('let me in'));
  t.equal(reply.length, 0, 'nothing came back');
  const found = await mesh.records.waitFor(
    since,
    (rs) => rs.some((x) => field(x, 'direction') === 'inbound' && field(x, 'src.identity').endsWith('/sa/notsleep')),
    2000,
  );
  const inb = found.find((x) => field(x, 'direction') === 'inbound');
  t.match(field(inb, 'error'), /^401 /, 'the destination ztunnel logged 401');
  t.match(field(inb, 'error'), /no ALLOW policy matched/);
  const labels = { reporter: 'destination', source_workload: 'notsleep', response_flags: 'DENY' };
  t.equal(await metric('node-b', 'istio_tcp_connections_closed_total', labels, 1), 1, 'closed with response_flags DENY');
});

t.test('a destination outside the mesh passes through as plain TCP', async (t) => {
  const outside = net.createServer((s) => s.end('hello from outside'));
  await new Promise<void>((r) => outside.listen(0, `127.${N}.99.1`, () => r()));
  t.teardown(() => outside.close());
  const port = (outside.address() as net.AddressInfo).port;
  const r = await execInPod(`10.${N}.1.1`, '/tcp', { target: `10.${N}.99.1:${port}`, send: 'hi' });
  t.equal(r.received, 'hello from outside');
  t.notOk(r.error);
});

t.test(
  'curl --socks5-hostname through a pod SOCKS5 reaches the service',
  { skip: spawnSync('curl', ['--version']).status === 0 ? false : 'curl is not installed' },
  async (t) => {
    const body = execFileSync('curl', ['-sS', '--max-time', '10', '--socks5-hostname', `127.${N}.1.1:15080`, 'http://details:9080/details/0'], {
      encoding: 'utf8',
    });
    t.match(JSON.parse(body), { author: 'William Shakespeare', 'ISBN-10': '1234567890' });
  },
);

t.test('inbound answers 400 for an authority that is not the dialled pod, 503 for ztunnel ports', async (t) => {
  const ca = await loadOrCreateCa(mesh.caDir);
  const cert = await WorkloadCertificate.obtain(makeSpiffeId('default', 'sleep'), ca);
  t.teardown(() => cert.stop());
  const pool = new HbonePool({ log: logger('test', () => undefined) });
  t.teardown(() => pool.close());
  const connect = (authority: string) =>
    pool
      .connect({ source: cert, expect: expectIdentity('spiffe://cluster.local/ns/default/sa/echo'), address: `127.${N}.2.1`, authority })
      .then((s) => {
        s.close();
        return 200;
      })
      .catch((e: Error) => (e instanceof HboneConnectError ? e.status : e.message));
  t.equal(await connect(`10.${N}.2.2:9000`), 400, 'the sink pod IP sent to the echo pod: 400');
  t.equal(await connect(`10.${N}.2.1:15008`), 503, 'a call to ztunnel’s own 15008: 503');
  t.equal(await connect(`10.${N}.2.1:15080`), 503);
  t.equal(await connect(`10.${N}.2.1:8080`), 200, 'the echo port itself: 200 for sleep');
});

t.test('/config_dump on :15000 has workloads, services, policies and certificates', async (t) => {
  const { status, body } = await mesh.get(`http://127.${N}.0.2:15000/config_dump`);
  t.equal(status, 200);
  const dump = JSON.parse(body);
  t.same(Object.keys(dump).sort(), ['certificates', 'policies', 'services', 'workloads']);
  const echo = dump.workloads.find((w: { name: string }) => w.name === 'echo');
  t.match(echo, {
    workloadIps: [`10.${N}.2.1`],
    protocol: 'HBONE',
    serviceAccount: 'echo',
    node: 'node-b',
    identity: 'spiffe://cluster.local/ns/default/sa/echo',
  });
  const svc = dump.services.find((s: { name: string }) => s.name === 'details');
  t.match(svc, { hostname: 'details.default.svc.cluster.local', vips: [`/10.${N}.8.3`], ports: { '9080': 9080 } });
  t.equal(Object.keys(svc.endpoints).length, 2);
  t.match(dump.policies[0], { name: 'echo-from-sleep', namespace: 'default', action: 'Allow', scope: 'WorkloadSelector' });
  const ids = dump.certificates.map((c: { identity: string }) => c.identity).sort();
  t.same(
    ids,
    ['spiffe://cluster.local/ns/default/sa/bookinfo-details', 'spiffe://cluster.local/ns/default/sa/echo', 'spiffe://cluster.local/ns/default/sa/sink'],
    'node-b holds the certificates of its own pods only',
  );
  t.match(dump.certificates[0].certChain[0], { serialNumber: /^[0-9A-F]+$/, expirationTime: String });
  t.equal(path.basename(mesh.scenario.file), 'l4.yaml');
});
