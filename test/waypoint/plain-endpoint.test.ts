// A waypoint's Service with an endpoint outside the mesh (reviews-v3 labelled
// istio.io/dataplane-mode=none, on 10.116): the waypoint sends that pod plain HTTP on its own
// port, as Envoy sends an endpoint without HBONE, and its trace says so; the pods in the mesh
// still get a CONNECT. Every request is answered. The same for bytes the waypoint relays at
// L4: probe (outside the mesh too, its port named tcp here) echoes what goes through.
import t from 'tap';
import * as http from 'node:http';
import * as net from 'node:net';
import { startMesh, Mesh } from '../fixtures/scenario-mesh';
import { PODS, waypointAddresses, waypointScenario } from './fixtures/scenario';
import { isTrace } from '../../src/runner/access-records';

const N = 116;
const A = waypointAddresses(N);
const REQUESTS = 60;

let mesh: Mesh;
t.before(async () => {
  const scenario = waypointScenario(N).replace(
    `ip: ${A.pod.reviewsV3}, labels: { app: reviews, version: v3 }`,
    `ip: ${A.pod.reviewsV3}, labels: { app: reviews, version: v3, istio.io/dataplane-mode: none }`,
  );
  // probe: outside the mesh, a TCP port, and without its L7 DENY (at L4 a DENY with HTTP fields denies all).
  const withProbe = scenario
    .replace(`ip: ${A.pod.probe}, labels: { app: probe }`, `ip: ${A.pod.probe}, labels: { app: probe, istio.io/dataplane-mode: none }`)
    .replace(/(name: probe, namespace: default, vip: [^\n]*ports: \[ \{ name: )http/, '$1tcp')
    .replace(/ {2}- apiVersion: security\.istio\.io\/v1\n {4}kind: AuthorizationPolicy\n {4}metadata: \{ name: probe-deny-secret[\s\S]*$/, '');
  mesh = await startMesh(withProbe, 'waypoint-plain-endpoint');
});
t.teardown(() => mesh?.stop());

function get(path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: A.capture.host, port: A.capture.reviews, path, agent: false }, (res) => {
        let body = '';
        res.setEncoding('utf8').on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      })
      .on('error', reject);
  });
}

t.test('the waypoint reaches a pod outside the mesh as plain HTTP', async (t) => {
  const served = new Map<string, number>();
  for (let i = 0; i < REQUESTS; i++) {
    const r = await get('/reviews/0');
    t.equal(r.status, 200, `request ${i}: ${r.body.slice(0, 120)}`);
    const pod = /"podname":"([^"]+)"/.exec(r.body)?.[1] ?? '?';
    served.set(pod, (served.get(pod) ?? 0) + 1);
  }
  t.ok((served.get(PODS.reviewsV3) ?? 0) > 0, `reviews-v3 (outside the mesh) answered some: ${JSON.stringify([...served])}`);
  const originates = mesh.records
    .since(0)
    .filter(isTrace)
    .flatMap((r) => (r.fields.stages as { name: string; detail: Record<string, unknown> }[]).filter((s) => s.name === 'inbound_CONNECT_originate'));
  const plain = originates.filter((s) => s.detail.plaintext);
  t.ok(plain.length > 0, 'stage 4 says plain HTTP for the pod outside the mesh');
  t.ok(plain.every((s) => String(s.detail.authority).startsWith(`${A.pod.reviewsV3}:`) && s.detail.hbone === undefined));
  t.ok(
    originates.filter((s) => !s.detail.plaintext).every((s) => !String(s.detail.authority).startsWith(`${A.pod.reviewsV3}:`)),
    'and a CONNECT only for the pods in it',
  );
});

t.test('bytes the waypoint relays at L4 reach a pod outside the mesh as plain TCP', async (t) => {
  const reply = await new Promise<string>((resolve, reject) => {
    const s = net.connect({ host: A.capture.host, port: A.capture.probe, allowHalfOpen: true });
    let got = '';
    s.setEncoding('utf8').on('data', (c: string) => (got += c));
    s.on('error', reject);
    s.on('close', () => resolve(got));
    s.end('not http, just bytes\n');
  });
  t.equal(reply, 'not http, just bytes\n', 'echoed back through the waypoint');
  const metrics = (await mesh.get(`http://127.${N}.3.10:15020/metrics`)).body;
  t.match(
    metrics,
    /istio_tcp_connections_closed_total\{reporter="waypoint",[^}]*destination_workload="probe"/,
    'counted by the waypoint as a TCP connection to probe',
  );
});
