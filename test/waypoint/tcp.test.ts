// Traffic that is not HTTP, sent to a waypoint-bound service, crosses the waypoint at L4, with
// the policies attached there still enforced on what L4 can see.
import t from 'tap';
import * as net from 'node:net';
import { startMesh, Mesh } from '../fixtures/scenario-mesh';
import { field } from '../../src/runner/access-records';
import { findSamples, parsePromText, sumSamples } from '../../src/telemetry/prom-text';

const N = 84;
const YAML = `name: waypoint-tcp
nodes:
  - { name: node-a, ip: 10.${N}.0.1 }
  - { name: node-b, ip: 10.${N}.0.2 }
  - { name: node-c, ip: 10.${N}.0.3 }
workloads:
  - { name: sleep, namespace: default, serviceAccount: sleep, node: node-a, ip: 10.${N}.1.1, labels: { app: sleep }, run: { app: sleep, port: 80 } }
  - { name: notsleep, namespace: default, serviceAccount: notsleep, node: node-a, ip: 10.${N}.1.2, labels: { app: notsleep }, run: { app: sleep, port: 80 } }
  - { name: echo, namespace: default, serviceAccount: echo, node: node-b, ip: 10.${N}.2.1, labels: { app: echo }, run: { app: echo, port: 8080 } }
  - { name: waypoint-0, namespace: default, serviceAccount: waypoint, node: node-c, ip: 10.${N}.3.10, labels: { gateway.networking.k8s.io/gateway-name: waypoint }, run: { app: waypoint } }
services:
  - { name: echo, namespace: default, vip: 10.${N}.8.1, labels: { istio.io/use-waypoint: waypoint }, selector: { app: echo }, ports: [ { name: tcp, port: 8080 } ] }
gateways:
  - apiVersion: gateway.networking.k8s.io/v1
    kind: Gateway
    metadata: { name: waypoint, namespace: default, annotations: { istio.io/service-account: waypoint } }
    spec: { gatewayClassName: istio-waypoint, listeners: [ { name: mesh, port: 15008, protocol: HBONE } ] }
captures:
  - { listen: 127.${N}.0.1:15101, source: sleep, target: echo:8080 }
  - { listen: 127.${N}.0.1:15102, source: notsleep, target: echo:8080 }
policies:
  - apiVersion: security.istio.io/v1
    kind: AuthorizationPolicy
    metadata: { name: no-notsleep, namespace: default }
    spec:
      targetRefs: [ { kind: Service, group: "", name: echo } ]
      action: DENY
      rules: [ { from: [ { source: { principals: [ cluster.local/ns/default/sa/notsleep ] } } ] } ]
`;

let mesh: Mesh;
t.before(async () => {
  mesh = await startMesh(YAML, 'waypoint-tcp');
});
t.teardown(() => mesh?.stop());

function roundTrip(port: number, data: Buffer): Promise<{ reply: Buffer; error?: string }> {
  return new Promise((resolve) => {
    const s = net.connect({ host: `127.${N}.0.1`, port, allowHalfOpen: true });
    const chunks: Buffer[] = [];
    s.on('data', (c: Buffer) => chunks.push(c));
    s.on('error', (e: NodeJS.ErrnoException) => resolve({ reply: Buffer.concat(chunks), error: e.code }));
    s.on('close', () => resolve({ reply: Buffer.concat(chunks) }));
    s.end(data);
  });
}

t.test('raw TCP crosses the waypoint byte-exact, and the pod sees the waypoint as its peer', async (t) => {
  const since = performance.now();
  const data = Buffer.from('not http at all\x00\x01\x02 but bytes\n'.repeat(1000));
  const { reply, error } = await roundTrip(15101, data);
  t.notOk(error);
  t.ok(reply.equals(data), `${data.length} bytes echoed through the waypoint`);
  // Each ztunnel writes its record when its side closes: wait for both.
  const found = await mesh.records.waitFor(
    since,
    (rs) =>
      rs.some((r) => field(r, 'direction') === 'inbound' && field(r, 'dst.workload') === 'echo') &&
      rs.some((r) => field(r, 'direction') === 'outbound' && field(r, 'src.workload') === 'sleep'),
    3000,
  );
  const out = found.find((r) => field(r, 'direction') === 'outbound' && field(r, 'src.workload') === 'sleep');
  t.equal(field(out, 'dst.hbone_addr'), `10.${N}.8.1:8080`, 'sleep’s ztunnel sent the VIP to the waypoint');
  t.equal(field(out, 'dst.workload'), 'waypoint-0');
  const inb = found.find((r) => field(r, 'direction') === 'inbound' && field(r, 'dst.workload') === 'echo');
  t.equal(field(inb, 'src.identity'), 'spiffe://cluster.local/ns/default/sa/waypoint', 'the echo pod’s ztunnel saw the waypoint');
  t.equal(field(inb, 'dst.hbone_addr'), `10.${N}.2.1:8080`);
});

t.test('a DENY attached at the waypoint still applies to TCP', async (t) => {
  const { reply } = await roundTrip(15102, Buffer.from('let me in'));
  t.equal(reply.length, 0, 'notsleep got nothing back');
});

t.test('the relay reports istio_tcp_* with reporter="waypoint"', async (t) => {
  const metricsOf = async () => parsePromText((await mesh.get(`http://127.${N}.3.10:15020/metrics`)).body);
  const before = await metricsOf();
  const data = Buffer.from('counted bytes\n'.repeat(100));
  await roundTrip(15101, data);
  await roundTrip(15102, Buffer.from('denied'));
  let after = await metricsOf();
  const sleep = { reporter: 'waypoint', source_workload: 'sleep', destination_workload: 'echo', destination_service: `echo.default.svc.cluster.local` };
  const closedOf = (s: typeof after, labels: Record<string, string>) => sumSamples(s, 'istio_tcp_connections_closed_total', labels);
  for (let i = 0; i < 30 && closedOf(after, sleep) - closedOf(before, sleep) < 1; i++) {
    await new Promise((r) => setTimeout(r, 100));
    after = await metricsOf();
  }
  const delta = (name: string, labels: Record<string, string>) => sumSamples(after, name, labels) - sumSamples(before, name, labels);
  t.equal(delta('istio_tcp_connections_opened_total', sleep), 1, 'sleep → echo opened once');
  t.equal(delta('istio_tcp_connections_closed_total', { ...sleep, response_flags: '-' }), 1, 'and closed, no flag');
  t.equal(delta('istio_tcp_received_bytes_total', sleep), data.length, 'received bytes: the request direction');
  t.equal(delta('istio_tcp_sent_bytes_total', sleep), data.length, 'sent bytes: the echo back');
  const labels = findSamples(after, 'istio_tcp_connections_opened_total', sleep)[0]?.labels ?? {};
  t.equal(labels.source_principal, 'spiffe://cluster.local/ns/default/sa/sleep', 'the HBONE peer is the source principal');
  t.equal(labels.connection_security_policy, 'mutual_tls');
  t.equal(labels.request_protocol, 'tcp');
  const notsleep = { reporter: 'waypoint', source_workload: 'notsleep', destination_workload: 'echo' };
  t.equal(delta('istio_tcp_connections_opened_total', notsleep), 1, 'the denied connection is counted as opened');
  t.equal(delta('istio_tcp_connections_closed_total', notsleep), 1, 'and closed');
  t.equal(delta('istio_tcp_received_bytes_total', notsleep), 0, 'with no bytes relayed');
  const text = (await mesh.get(`http://127.${N}.3.10:15020/metrics`)).body;
  t.match(text, /^# TYPE istio_requests_total counter$/m, 'HTTP metrics are still served beside them');
});
