// Istio's ambient "Getting Started", step by step, from an empty cluster (block 10.115) with
// the commands of the live control plane. The manifests are written in the guide's shape: the
// samples (test/fixtures/sample-manifests.ts), its policies and its HTTPRoute with their kinds,
// fields and values, the namespace left out where the guide leaves it out, targetRefs with
// group "". Deploy bookinfo and curl; the guide's ingress (bookinfo-gateway.yaml: a Gateway of
// class istio and its HTTPRoute) and its browser step through port-forward; enroll the namespace; an L4 policy that admits only the
// ingress gateway's identity (curl: exit 56); a waypoint for the namespace; an L7 policy (GET
// from curl only) with the L4 one updated to admit the waypoint; the 90/10 split of reviews,
// checked over 100 requests within binomial bounds.
import t from 'tap';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { killGroup, runCli, simWith } from '../runner/fixtures/cli';
import * as http from 'node:http';
import { bookinfoGatewayYaml, bookinfoVersionsYaml, bookinfoYaml, curlYaml } from '../fixtures/sample-manifests';

const N = 115;
const CLUSTER = `# An empty cluster of three nodes on 10.${N} (kind's layout; \`up\` alone makes one on 10.244).
name: getting-started
nodes:
  - { name: kind-control-plane, ip: 10.${N}.0.1 }
  - { name: kind-worker, ip: 10.${N}.0.2 }
  - { name: kind-worker2, ip: 10.${N}.0.3 }
workloads: []
`;

const PRODUCTPAGE_ZTUNNEL = (principals: string[]) => `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata:
  name: productpage-ztunnel
  namespace: default
spec:
  selector:
    matchLabels:
      app: productpage
  action: ALLOW
  rules:
  - from:
    - source:
        principals:
${principals.map((p) => `        - ${p}\n`).join('')}`;

const PRODUCTPAGE_WAYPOINT = `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata:
  name: productpage-waypoint
  namespace: default
spec:
  targetRefs:
  - kind: Service
    group: ""
    name: productpage
  action: ALLOW
  rules:
  - from:
    - source:
        principals:
        - cluster.local/ns/default/sa/curl
    to:
    - operation:
        methods: ["GET"]
`;

const REVIEWS_ROUTE = `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: reviews
spec:
  parentRefs:
  - group: ""
    kind: Service
    name: reviews
    port: 9080
  rules:
  - backendRefs:
    - name: reviews-v1
      port: 9080
      weight: 90
    - name: reviews-v2
      port: 9080
      weight: 10
`;

/** Of 100 requests at 90/10, reviews-v1 serves 76 to 99 but in about 1 run of 25,000 (binomial tails). */
const V1_MIN = 76;
const V1_MAX = 99;

t.test("Istio's ambient getting-started, from an empty cluster", async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hbone-getting-started-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const env = { HBONE_SIM_HOME: path.join(dir, 'home') };
  const sim = simWith(env);
  const file = (name: string, text: string): string => {
    const p = path.join(dir, name);
    fs.writeFileSync(p, text);
    return p;
  };
  const cluster = file('cluster.yaml', CLUSTER);
  const up = runCli(['up', cluster, '--ca-dir', path.join(dir, 'ca')], { env });
  t.teardown(() => killGroup(up.pid));
  await up.waitForOutput(/No pods yet\. Try:/, 30_000);

  // Deploy the sample application, and the curl client.
  const deployed = sim('apply', '-f', file('bookinfo.yaml', bookinfoYaml()), '-f', file('bookinfo-versions.yaml', bookinfoVersionsYaml()));
  t.equal(deployed.code, 0, deployed.err);
  t.match(deployed.out, /^service\/reviews-v1 created$/m);
  const curlApplied = sim('apply', '-f', file('curl.yaml', curlYaml()));
  t.equal(curlApplied.code, 0, curlApplied.err);
  const title = () => sim('exec', 'deploy/curl', '--', 'curl', '-sS', 'http://productpage:9080/productpage');
  t.match(title().out, /<title>Simple Bookstore App<\/title>/, 'bookinfo answers, outside the mesh');

  // Open the application to outside traffic: the guide's Gateway of class istio and its HTTPRoute.
  const ingress = sim('apply', '-f', file('bookinfo-gateway.yaml', bookinfoGatewayYaml()));
  t.equal(ingress.code, 0, ingress.err);
  t.match(ingress.out, /^gateway\.gateway\.networking\.k8s\.io\/bookinfo-gateway created\nhttproute\.gateway\.networking\.k8s\.io\/bookinfo created\n/);
  t.match(ingress.out, /^gateway default\/bookinfo-gateway-istio: pod bookinfo-gateway-istio-\w+-\w+ on /m);
  t.match(sim('get', 'gateway').out, /^bookinfo-gateway +istio +10\.96\.\d+\.\d+ +True$/m, 'PROGRAMMED, with its Service address');
  t.match(sim('get', 'svc', 'bookinfo-gateway-istio').out, /15021\/TCP,80\/TCP/);
  // The guide's browser step: kubectl port-forward svc/bookinfo-gateway-istio 8080:80 (any free port here).
  const forward = runCli(['port-forward', 'svc/bookinfo-gateway-istio', ':80'], { env });
  t.teardown(() => killGroup(forward.pid));
  await forward.waitForOutput(/Forwarding from 127\.0\.0\.1:\d+ -> 80\n/, 10_000);
  const localPort = Number(/127\.0\.0\.1:(\d+)/.exec(forward.output())![1]);
  const browse = (p: string) =>
    new Promise<{ status: number; body: string }>((resolve, reject) =>
      http
        .get(`http://127.0.0.1:${localPort}${p}`, (res) => {
          let body = '';
          res.setEncoding('utf8').on('data', (c: string) => (body += c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        })
        .on('error', reject),
    );
  t.match((await browse('/productpage')).body, /<title>Simple Bookstore App<\/title>/, 'the browser step, through the ingress gateway');
  t.same(await browse('/nope'), { status: 404, body: 'route not found' }, 'a path no rule of the HTTPRoute matches: 404 NR');
  t.match(
    sim('exec', 'deploy/curl', '--', 'curl', '-sS', 'http://bookinfo-gateway-istio/productpage').out,
    /<title>Simple Bookstore App<\/title>/,
    'and through its Service',
  );
  const intoGateway = sim('exec', 'deploy/bookinfo-gateway-istio', '--', 'curl', '-s', 'http://productpage:9080/');
  t.equal(intoGateway.code, 1);
  t.match(intoGateway.err, /^bookinfo-gateway-istio-\w+-\w+ is an ingress gateway: ztunnel does not capture its own traffic/);

  // Add the application to the mesh.
  t.equal(sim('label', 'namespace', 'default', 'istio.io/dataplane-mode=ambient').out, 'namespace/default labeled\n');
  t.match(title().out, /<title>Simple Bookstore App<\/title>/, 'and in it');

  // Enforce an L4 policy: only the ingress gateway's identity may reach productpage.
  const l4 = file('productpage-ztunnel.yaml', PRODUCTPAGE_ZTUNNEL(['cluster.local/ns/default/sa/bookinfo-gateway-istio']));
  t.match(sim('apply', '-f', l4, '--wait').out, /^authorizationpolicy\.security\.istio\.io\/productpage-ztunnel created\n/);
  const refused = title();
  t.equal(refused.code, 56, `curl's connection is reset: ${refused.err}`);
  t.match(refused.err, /curl: \(56\) Recv failure: Connection reset by peer/);
  t.match(
    (await browse('/productpage')).body,
    /<title>Simple Bookstore App<\/title>/,
    "the ingress gateway's identity is admitted: it sends HBONE as bookinfo-gateway-istio",
  );
  const gwMetrics = sim('proxy-config', 'listeners', 'deploy/bookinfo-gateway-istio');
  t.match(gwMetrics.out, /^0\.0\.0\.0_80 +0\.0\.0\.0 +80 +TCP$/m, "the gateway's Envoy listener");

  // Deploy a waypoint for the namespace.
  const waypoint = sim('waypoint', 'apply', '--enroll-namespace', '--wait');
  t.equal(waypoint.code, 0, waypoint.err);
  t.match(waypoint.out, /✅ waypoint default\/waypoint applied/);
  t.match(waypoint.out, /✅ namespace default labeled with "istio\.io\/use-waypoint: waypoint"/);

  // The L7 policy, and the L4 one updated to admit the waypoint.
  t.match(sim('apply', '-f', file('productpage-waypoint.yaml', PRODUCTPAGE_WAYPOINT), '--wait').out, /productpage-waypoint created/);
  const l4Updated = PRODUCTPAGE_ZTUNNEL(['cluster.local/ns/default/sa/bookinfo-gateway-istio', 'cluster.local/ns/default/sa/waypoint']);
  t.match(sim('apply', '-f', file('productpage-ztunnel.yaml', l4Updated), '--wait').out, /productpage-ztunnel configured/);
  t.equal(sim('exec', 'deploy/curl', '--', 'curl', '-s', 'http://productpage:9080/productpage', '-X', 'DELETE').out, 'RBAC: access denied');
  t.equal(sim('exec', 'deploy/reviews-v1', '--', 'curl', '-s', 'http://productpage:9080/productpage').out, 'RBAC: access denied');
  t.match(title().out, /<title>Simple Bookstore App<\/title>/, 'GET from curl is allowed');

  // Manage traffic: 90% to reviews v1, 10% to v2.
  t.match(sim('apply', '-f', file('reviews-route.yaml', REVIEWS_ROUTE), '--wait').out, /^httproute\.gateway\.networking\.k8s\.io\/reviews created\n/);
  const pages = sim('exec', 'deploy/curl', '--', 'curl', '-s', 'http://productpage:9080/productpage?u=[1-100]');
  const served = pages.out.match(/reviews-v[123]-\w+-\w+/g) ?? [];
  const count = (v: string) => served.filter((p) => p.startsWith(`reviews-${v}-`)).length;
  t.equal(served.length, 100, 'every page names the reviews pod that served it');
  t.ok(count('v1') >= V1_MIN && count('v1') <= V1_MAX, `reviews-v1 served ${count('v1')} of 100 (90% expected)`);
  t.equal(count('v1') + count('v2'), 100, `reviews-v3 served none (v2: ${count('v2')})`);

  t.match(
    (await browse('/productpage')).body,
    /<title>Simple Bookstore App<\/title>/,
    'the gateway still serves the page: it sends to the pod itself, not through the waypoint (no istio.io/ingress-use-waypoint)',
  );
  process.kill(-forward.pid, 'SIGINT');
  process.kill(-up.pid, 'SIGINT');
  t.equal((await up.waitExit(20_000)).code, 130);
});
