// A NACK between real processes (block 10.110): istiod is handed an HTTPRoute the waypoint cannot
// compile (as if istiod were newer than its proxies; the API server would have refused it). The
// waypoint refuses the push, keeps routing with its last good routes, istiod's syncz shows it
// STALE with the reason, and the next good push brings it back to SYNCED.
import t from 'tap';
import * as http from 'node:http';
import { startMesh } from '../fixtures/scenario-mesh';
import type { HttpRouteDoc } from '../../src/mesh/model';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ISTIOD_NAME, ConfigMessage, ZTUNNEL_NAMESPACE, ZTUNNEL_SERVICE_ACCOUNT } from '../../src/mesh/control-plane';
import { newTokenKey, signToken } from '../../src/identity/sa-token';
import { makeSpiffeId } from '../../src/identity/spiffe';
import { WorkloadCertificate } from '../../src/identity/workload-cert';
import { IstiodCaClient } from '../../src/xds/ca-client';
import type { IstiodEndpoint } from '../../src/xds/istiod-session';

const SCENARIO = `name: nack
nodes:
  - { name: node-a, ip: 10.110.0.1 }
  - { name: node-b, ip: 10.110.0.2 }
workloads:
  - { name: sleep, namespace: default, serviceAccount: sleep, node: node-a, ip: 10.110.1.1, labels: { app: sleep }, run: { app: sleep, port: 80 } }
  - { name: echo, namespace: default, serviceAccount: echo, node: node-b, ip: 10.110.2.1, labels: { app: echo }, run: { app: http-echo, port: 8080 } }
  - name: waypoint-0
    workload: waypoint
    namespace: default
    serviceAccount: waypoint
    node: node-b
    ip: 10.110.2.9
    labels: { gateway.networking.k8s.io/gateway-name: waypoint }
    run: { app: waypoint, port: 15008 }
services:
  - { name: echo, namespace: default, vip: 10.110.8.1, labels: { istio.io/use-waypoint: waypoint }, selector: { app: echo }, ports: [ { name: http, port: 8080 } ] }
gateways:
  - apiVersion: gateway.networking.k8s.io/v1
    kind: Gateway
    metadata: { name: waypoint, namespace: default }
    spec:
      gatewayClassName: istio-waypoint
      listeners: [ { name: mesh, port: 15008, protocol: HBONE } ]
httpRoutes:
  - apiVersion: gateway.networking.k8s.io/v1
    kind: HTTPRoute
    metadata: { name: echo, namespace: default }
    spec:
      parentRefs: [ { group: "", kind: Service, name: echo, port: 8080 } ]
      rules:
      - filters: [ { type: RequestHeaderModifier, requestHeaderModifier: { set: [ { name: x-route, value: good } ] } } ]
        backendRefs: [ { name: echo, port: 8080 } ]
captures:
  - { listen: 127.110.0.100:8080, source: sleep, target: echo:8080 }
`;

interface Row {
  proxy: string;
  types: Record<string, { status: string; sent?: string; acked?: string; nack?: string }>;
}

function get(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { agent: false }, (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      })
      .on('error', reject);
  });
}

const syncz = async (): Promise<Row[]> => JSON.parse((await get('http://127.110.255.1:15014/debug/syncz')).body) as Row[];
const waypointRow = async () => (await syncz()).find((r) => r.proxy.startsWith('router~'))!;

async function until(pred: () => Promise<boolean>, ms = 5000): Promise<boolean> {
  for (const end = Date.now() + ms; Date.now() < end; await new Promise((r) => setTimeout(r, 25))) if (await pred()) return true;
  return false;
}

t.test("istiod's CA, as a process: ztunnel node-a gets sleep's certificate and is refused echo's (node-b)", async (t) => {
  const tokenKey = newTokenKey();
  const mesh = await startMesh(SCENARIO, 'nack-ca', [], { tokenKey });
  t.teardown(() => mesh.stop());
  const endpoint = (own?: WorkloadCertificate): IstiodEndpoint => ({
    address: '127.110.255.1',
    port: 15012,
    rootPem: fs.readFileSync(path.join(mesh.caDir, 'root-cert.pem'), 'utf8'),
    token: signToken(tokenKey, { namespace: ZTUNNEL_NAMESPACE, serviceAccount: ZTUNNEL_SERVICE_ACCOUNT, pod: 'ztunnel-node-a', node: 'node-a' }),
    clientCertificate: () => (own ? { cert: own.tls.cert, key: own.tls.key } : undefined),
  });
  const own = await WorkloadCertificate.obtain(makeSpiffeId(ZTUNNEL_NAMESPACE, ZTUNNEL_SERVICE_ACCOUNT), new IstiodCaClient(endpoint()));
  t.teardown(() => own.stop());
  const ca = new IstiodCaClient(endpoint(own), true);
  const sleep = await WorkloadCertificate.obtain(makeSpiffeId('default', 'sleep'), ca);
  t.teardown(() => sleep.stop());
  t.equal(sleep.spiffeId, 'spiffe://cluster.local/ns/default/sa/sleep');
  const refused = await WorkloadCertificate.obtain(makeSpiffeId('default', 'echo'), ca).then(
    () => 'issued',
    (err: Error) => err.message,
  );
  t.match(refused, /403 no pod with identity spiffe:\/\/cluster.local\/ns\/default\/sa\/echo runs on node node-a/);
  t.match((await get('http://127.110.255.1:15014/metrics')).body, /citadel_server_csr_refused_count 1\n/);
});

t.test('a route the waypoint cannot use: NACK, the last good routes keep serving, STALE in syncz, then SYNCED again', async (t) => {
  const mesh = await startMesh(SCENARIO, 'nack');
  t.teardown(() => mesh.stop());
  const istiod = mesh.supervisor.child(ISTIOD_NAME)!;
  t.ok(await until(async () => (await waypointRow())?.types.RDS?.status === 'SYNCED'), 'the waypoint starts SYNCED');
  const before = await waypointRow();

  const withRoute = (value: string, pathType: string) => {
    const route = mesh.scenario.httpRoutes[0];
    const rule = (route.spec.rules as Record<string, unknown>[])[0];
    const bad: HttpRouteDoc = {
      ...route,
      spec: {
        ...route.spec,
        rules: [
          {
            ...rule,
            matches: [{ path: { type: pathType, value: '/' } }],
            filters: [{ type: 'RequestHeaderModifier', requestHeaderModifier: { set: [{ name: 'x-route', value }] } }],
          },
        ],
      },
    };
    return { ...mesh.scenario, httpRoutes: [bad] };
  };
  istiod.process.send({ kind: 'hbone-sim/config', id: 1, scenario: withRoute('bad', 'NotAPathType') } satisfies ConfigMessage);
  t.ok(await until(async () => (await waypointRow()).types.RDS?.nack !== undefined), 'istiod hears the NACK');
  const stale = await waypointRow();
  t.equal(stale.types.RDS.status, 'STALE');
  t.equal(stale.types.RDS.acked, before.types.RDS.acked, 'the waypoint is still on its last good version');
  t.match(stale.types.RDS.nack, /RouteConfiguration inbound-vip\|8080\|http\|echo\.default\.svc\.cluster\.local: .*NotAPathType/);
  t.match(await get('http://127.110.0.100:8080/'), { status: 200 }, 'requests are still routed');

  istiod.process.send({ kind: 'hbone-sim/config', id: 2, scenario: withRoute('next', 'PathPrefix') } satisfies ConfigMessage);
  t.ok(await until(async () => (await waypointRow()).types.RDS?.status === 'SYNCED'), 'the next good push is ACKed');
  const after = await waypointRow();
  t.not(after.types.RDS.acked, before.types.RDS.acked);
  t.equal(after.types.RDS.nack, undefined);
});
