// A waypoint for workloads (istio.io/waypoint-for: workload), on 10.117: a pod labelled
// istio.io/use-waypoint has every connection addressed to it go through the waypoint, whether
// the client dialled the pod's IP or a Service that picked it (as ztunnel does once it has the
// pod). The waypoint takes it on Istio's direct-http chain: no HTTPRoute, the RBAC filter of the
// policies that target the waypoint, then a CONNECT to the pod itself; bytes that are not HTTP
// go through direct-tcp (from notsleep: the DENY has HTTP fields, so at L4 it would deny sleep's
// bytes outright, as ztunnel and Envoy's network RBAC read it). A pod without the label is
// reached directly, as before.
import t from 'tap';
import * as http from 'node:http';
import * as net from 'node:net';
import { startMesh, Mesh } from '../fixtures/scenario-mesh';
import { isTrace } from '../../src/runner/access-records';

const N = 117;
const IP = {
  nodeA: `10.${N}.0.1`,
  nodeB: `10.${N}.0.2`,
  sleep: `10.${N}.1.2`,
  notsleep: `10.${N}.1.3`,
  web: `10.${N}.2.2`,
  plain: `10.${N}.2.3`,
  echo: `10.${N}.2.4`,
  waypoint: `10.${N}.2.9`,
  vip: `10.${N}.8.1`,
};
const HOST = `127.${N}.0.1`;
const PORT = { web: 15101, webService: 15102, plain: 15103, echo: 15104 };

const SCENARIO = `name: workload-waypoint
nodes:
  - { name: node-a, ip: ${IP.nodeA} }
  - { name: node-b, ip: ${IP.nodeB} }
workloads:
  - { name: sleep-6d5b9c7f8-a1b2c, workload: sleep, namespace: default, serviceAccount: sleep, node: node-a, ip: ${IP.sleep}, labels: { app: sleep }, run: { app: sleep, port: 80 } }
  - { name: notsleep-6bd7d54dd-wz4rl, workload: notsleep, namespace: default, serviceAccount: notsleep, node: node-a, ip: ${IP.notsleep}, labels: { app: notsleep }, run: { app: sleep, port: 80 } }
  - { name: web-5f7c9d8b6-h3j4k, workload: web, namespace: default, serviceAccount: web, node: node-b, ip: ${IP.web}, labels: { app: web, istio.io/use-waypoint: waypoint }, run: { app: http-echo, port: 8080 } }
  - { name: plain-5f7c9d8b6-q2x8m, workload: plain, namespace: default, serviceAccount: plain, node: node-b, ip: ${IP.plain}, labels: { app: plain }, run: { app: http-echo, port: 8080 } }
  - { name: echo-5f7c9d8b6-r4t6n, workload: echo, namespace: default, serviceAccount: echo, node: node-b, ip: ${IP.echo}, labels: { app: echo, istio.io/use-waypoint: waypoint }, run: { app: echo, port: 7000 } }
  - { name: waypoint-7d9f8c6b5-xk2lp, workload: waypoint, namespace: default, serviceAccount: waypoint, node: node-b, ip: ${IP.waypoint}, labels: { gateway.networking.k8s.io/gateway-name: waypoint }, run: { app: waypoint } }
services:
  - { name: web, namespace: default, vip: ${IP.vip}, labels: { app: web }, selector: { app: web }, ports: [ { name: http, port: 80, targetPort: 8080 } ] }
gateways:
  - apiVersion: gateway.networking.k8s.io/v1
    kind: Gateway
    metadata: { name: waypoint, namespace: default, labels: { istio.io/waypoint-for: workload } }
    spec:
      gatewayClassName: istio-waypoint
      listeners: [ { name: mesh, port: 15008, protocol: HBONE } ]
policies:
  - apiVersion: security.istio.io/v1
    kind: AuthorizationPolicy
    metadata: { name: no-delete, namespace: default }
    spec:
      targetRefs: [ { kind: Gateway, group: gateway.networking.k8s.io, name: waypoint } ]
      action: DENY
      rules: [ { from: [ { source: { principals: [ cluster.local/ns/default/sa/sleep ] } } ], to: [ { operation: { methods: [ DELETE ] } } ] } ]
captures:
  - { listen: ${HOST}:${PORT.web}, source: sleep-6d5b9c7f8-a1b2c, target: ${IP.web}:8080 }
  - { listen: ${HOST}:${PORT.webService}, source: sleep-6d5b9c7f8-a1b2c, target: web:80 }
  - { listen: ${HOST}:${PORT.plain}, source: sleep-6d5b9c7f8-a1b2c, target: ${IP.plain}:8080 }
  - { listen: ${HOST}:${PORT.echo}, source: notsleep-6bd7d54dd-wz4rl, target: ${IP.echo}:7000 }
`;

let mesh: Mesh;
t.before(async () => {
  mesh = await startMesh(SCENARIO, 'workload-waypoint');
});
t.teardown(() => mesh?.stop());

function request(port: number, method: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .request({ host: HOST, port, method, path: '/hello', agent: false }, (res) => {
        let body = '';
        res.setEncoding('utf8').on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      })
      .on('error', reject)
      .end();
  });
}

/** Waits until `done` holds: records come from the proxies' stdout, a moment after the response. */
async function until(done: () => boolean, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!done() && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
}

/** The waypoint's trace records so far, as stage-name lists keyed by the authority it terminated. */
function waypointStages(): { authority: string; stages: string[]; status: number }[] {
  return mesh.records
    .since(0)
    .filter((r) => isTrace(r) && r.reporter.startsWith('waypoint-'))
    .map((r) => {
      const stages = r.fields.stages as { name: string; detail: Record<string, unknown> }[];
      return { authority: String(stages[0]?.detail.authority), stages: stages.map((s) => s.name), status: Number(r.fields.status) };
    });
}

t.test("a pod's own address goes through its waypoint: direct-http, the waypoint's policies, then the pod", async (t) => {
  const ok = await request(PORT.web, 'GET');
  t.equal(ok.status, 200, ok.body);
  const denied = await request(PORT.web, 'DELETE');
  t.same(denied, { status: 403, body: 'RBAC: access denied' }, "the waypoint's DENY for DELETE holds for traffic addressed to the pod");
  const ofWeb = () => waypointStages().filter((s) => s.authority === `${IP.web}:8080`);
  await until(() => ofWeb().length >= 2);
  const seen = ofWeb();
  t.equal(seen.length, 2, 'both requests crossed the waypoint');
  t.same(seen[0].stages, ['inbound_CONNECT_terminate', 'direct-http', `inbound-pod|8080||${IP.web}`, 'inbound_CONNECT_originate']);
  t.same(
    seen.map((s) => s.status),
    [200, 403],
  );
});

t.test('a Service that picks that pod: ztunnel sends to the waypoint, addressed to the pod', async (t) => {
  const before = waypointStages().length;
  const r = await request(PORT.webService, 'GET');
  t.equal(r.status, 200, r.body);
  await until(() => waypointStages().length > before);
  const after = waypointStages().slice(before);
  t.equal(after.length, 1);
  t.equal(after[0]?.authority, `${IP.web}:8080`, ':authority is the pod, not the VIP: the waypoint is for workloads');
  t.same(await request(PORT.webService, 'DELETE'), { status: 403, body: 'RBAC: access denied' });
});

t.test('a pod without the label is reached directly', async (t) => {
  t.equal((await request(PORT.plain, 'DELETE')).status, 200, 'no waypoint, no DENY');
  await new Promise((r) => setTimeout(r, 300));
  t.same(
    waypointStages().filter((s) => s.authority.startsWith(`${IP.plain}:`)),
    [],
    'the waypoint saw none of it',
  );
});

t.test('bytes that are not HTTP cross the waypoint at L4 (direct-tcp) and come back', async (t) => {
  const payload = Buffer.from('not http at all\n'.repeat(64));
  const echoed = await new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    const socket = net.connect(PORT.echo, HOST, () => socket.end(payload));
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('end', () => resolve(Buffer.concat(chunks)));
    socket.on('error', reject);
  });
  t.equal(echoed.toString(), payload.toString());
  const res = await fetch(`http://127.${N}.2.9:15020/metrics`);
  const text = await res.text();
  t.match(text, /istio_tcp_connections_closed_total\{reporter="waypoint",[^}]*destination_workload="echo"[^}]*\} 1/);
});

t.test("ztunnel's config dump names the waypoint of a pod that uses one", async (t) => {
  const dump = (await (await fetch(`http://127.${N}.0.2:15000/config_dump`)).json()) as { workloads: { name: string; waypoint?: { destination: string } }[] };
  const of = (prefix: string) => dump.workloads.find((w) => w.name.startsWith(prefix));
  t.same(of('web-')?.waypoint, { destination: `/${IP.waypoint}`, hboneMtlsPort: 15008 });
  t.equal(of('plain-')?.waypoint, undefined);
});
