// The ingress gateway forwards exactly what its HTTPRoute allows (block 10.119): the route sends
// PathPrefix /public to the app and nothing else. A path that reaches /secret through dot segments,
// an absolute-form target naming another host, a request with both Content-Length and
// Transfer-Encoding, and a request with bytes after a bad header: each is answered by the gateway
// (404 route not found, or 400) and none reaches the app; the allowed path still does.
import t from 'tap';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { startMesh, Mesh } from '../fixtures/scenario-mesh';
import { isTrace } from '../../src/runner/access-records';

const N = 119;
const APP = `apiVersion: apps/v1
kind: Deployment
metadata: { name: web }
spec:
  selector: { matchLabels: { app: web } }
  template:
    metadata: { labels: { app: web } }
    spec:
      containers: [ { name: web, image: fortio/fortio, ports: [ { containerPort: 8080 } ] } ]
---
apiVersion: v1
kind: Service
metadata: { name: web }
spec:
  selector: { app: web }
  ports: [ { name: http, port: 8080 } ]
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: { name: edge }
spec:
  gatewayClassName: istio
  listeners: [ { name: http, port: 80, protocol: HTTP } ]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: { name: public }
spec:
  parentRefs: [ { name: edge } ]
  rules:
  - matches: [ { path: { type: PathPrefix, value: /public } } ]
    backendRefs: [ { name: web, port: 8080 } ]
`;

let mesh: Mesh;
let gatewayHost: string;
t.before(async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hbone-gateway-target-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const manifest = path.join(dir, 'app.yaml');
  fs.writeFileSync(manifest, APP);
  mesh = await startMesh(
    `name: gateway-target
nodes:
  - { name: node-a, ip: 10.${N}.0.1 }
  - { name: node-b, ip: 10.${N}.0.2 }
workloads: []
manifests: [ ${manifest} ]
`,
    'gateway-target',
  );
  const gw = mesh.scenario.workloads.find((w) => w.workloadName === 'edge-istio')!;
  gatewayHost = gw.ip.replace(/^10\./, '127.');
});
t.teardown(() => mesh?.stop());

/** Raw bytes to the gateway's listener; what comes back until it closes (or 2 s). */
function raw(bytes: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let got = '';
    const socket = net.connect(80, gatewayHost, () => socket.write(bytes));
    socket.setEncoding('latin1').on('data', (c: string) => (got += c));
    socket.setTimeout(2000, () => socket.destroy());
    socket.on('close', () => resolve(got));
    socket.on('error', reject);
  });
}

const statusOf = (response: string): number => Number(/^HTTP\/1\.1 (\d{3})/.exec(response)?.[1] ?? 0);

/** Paths the gateway forwarded to the app (its stage 4 ran), from its trace records. */
function forwarded(): string[] {
  return mesh.records
    .since(0)
    .filter((r) => isTrace(r) && r.reporter.startsWith('edge-istio-'))
    .flatMap((r) => {
      const stages = r.fields.stages as { name: string; detail: Record<string, unknown> }[];
      return stages.some((s) => s.name === 'connect_originate') ? [String(stages[1]?.detail.request)] : [];
    });
}

t.test('only the routed path reaches the app', async (t) => {
  t.equal(statusOf(await raw('GET /public HTTP/1.1\r\nHost: edge\r\nConnection: close\r\n\r\n')), 200, 'the allowed path');
  const dots = await raw('GET /public/../secret HTTP/1.1\r\nHost: edge\r\nConnection: close\r\n\r\n');
  t.equal(statusOf(dots), 404, 'dot segments are resolved before routing: /secret matches no rule');
  const absolute = await raw('GET http://other.example/secret HTTP/1.1\r\nHost: edge\r\nConnection: close\r\n\r\n');
  t.equal(statusOf(absolute), 404, 'an absolute-form target is routed by its own path and authority');
  const smuggle = await raw(
    'POST /public HTTP/1.1\r\nHost: edge\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /secret HTTP/1.1\r\nHost: edge\r\n\r\n',
  );
  t.equal(statusOf(smuggle), 400, 'Content-Length with Transfer-Encoding: refused, as Envoy refuses it');
  t.notMatch(smuggle, /HTTP\/1\.1 200/, 'and nothing behind it is answered');
  await new Promise((r) => setTimeout(r, 500));
  t.same(forwarded(), ['GET /public'], 'the app saw the allowed request and nothing else');
});
