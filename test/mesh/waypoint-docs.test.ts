// The waypoint's documents: gateways: (Gateway API Gateways; class istio-waypoint declares a
// waypoint and its pod), httpRoutes: (HTTPRoutes, checked by src/policy/httproute and against
// the scenario's Services) and the istio.io/use-waypoint label on Services. Every problem is
// reported as file:line: field: problem at the line it concerns.
import t from 'tap';
import * as path from 'node:path';
import { loadScenario } from '../../src/mesh/load';
import { LABEL_GATEWAY_NAME, LABEL_USE_WAYPOINT, spiffeIdOf } from '../../src/mesh/model';
import { load, problemsOf, yaml } from './fixtures/scenario-text';

const ROOT = path.resolve(__dirname, '../..');

/**
 * 8 lines: services echo and echo-v1 (port 80 -> 8080), pods sleep and echo. workloads: comes
 * last, so text appended at line 9 may go on listing pods before its own sections.
 */
const BASE = yaml(`
  name: t
  nodes: [ { name: node-a, ip: 10.1.0.1 } ]
  services:
    - { name: echo, namespace: default, vip: 10.8.0.20, selector: { app: echo }, ports: [ { name: http, port: 8080 } ] }
    - { name: echo-v1, namespace: default, vip: 10.8.0.21, selector: { app: echo, version: v1 }, ports: [ { name: http, port: 80, targetPort: 8080 } ] }
  workloads:
    - { name: sleep, namespace: default, serviceAccount: sleep, node: node-a, ip: 10.4.1.5, labels: { app: sleep }, run: { app: sleep, port: 80 } }
    - { name: echo, namespace: default, serviceAccount: echo, node: node-a, ip: 10.4.1.6, labels: { app: echo, version: v1 }, run: { app: echo, port: 8080 } }
`);

/** BASE, then each part (dedented on its own) in turn. */
function withBase(...parts: string[]): string {
  return BASE + parts.map(yaml).join('');
}

/** The waypoint pod (line 9) and its Gateway (lines 10-14), appended to BASE. */
const WAYPOINT = `
    - { name: waypoint-0, namespace: default, serviceAccount: waypoint, node: node-a, ip: 10.4.1.10, labels: { ${LABEL_GATEWAY_NAME}: waypoint }, run: { app: waypoint } }
  gateways:
    - apiVersion: gateway.networking.k8s.io/v1
      kind: Gateway
      metadata: { name: waypoint, namespace: default }
      spec: { gatewayClassName: istio-waypoint }
`;

t.test('scenarios/bookinfo.yaml (with its waypoint) loads with its Gateway, HTTPRoute and waypoint pod', async (t) => {
  const s = loadScenario('bookinfo');
  t.equal(s.file, path.join(ROOT, 'scenarios/bookinfo.yaml'));
  t.same(
    s.gateways.map((g) => [g.apiVersion, g.kind, g.metadata, g.spec]),
    [
      [
        'gateway.networking.k8s.io/v1',
        'Gateway',
        { name: 'waypoint', namespace: 'default', labels: { 'istio.io/waypoint-for': 'service' }, annotations: { 'istio.io/service-account': 'waypoint' } },
        { gatewayClassName: 'istio-waypoint', listeners: [{ name: 'mesh', port: 15008, protocol: 'HBONE' }] },
      ],
    ],
  );
  t.match(s.gateways[0].origin, /^scenarios\/bookinfo\.yaml:\d+$/);

  const waypoint = s.workloads.find((w) => w.app.kind === 'waypoint')!;
  t.equal(waypoint.name, 'waypoint-7d9f8c6b5-xk2lp');
  t.equal(waypoint.ip, '10.4.3.10', "the seed's waypoint address");
  t.equal(waypoint.node, 'node-c');
  t.same(waypoint.app, { kind: 'waypoint', port: 15008 }, 'HBONE on 15008, where the seed had 15006');
  t.equal(waypoint.labels[LABEL_GATEWAY_NAME], 'waypoint');
  t.equal(spiffeIdOf(waypoint, s.trustDomain), 'spiffe://cluster.local/ns/default/sa/waypoint');
  t.equal(waypoint.workloadName, 'waypoint');

  const productpage = s.workloads.find((w) => w.app.kind === 'productpage')!;
  t.equal(productpage.ip, '10.4.0.5');
  t.equal(productpage.node, 'node-b');
  t.same(
    s.services.filter((v) => v.labels[LABEL_USE_WAYPOINT] !== undefined).map((v) => [v.name, v.vip, v.labels[LABEL_USE_WAYPOINT]]),
    [
      ['productpage', '10.8.4.226', 'waypoint'],
      ['reviews', '10.8.6.42', 'waypoint'],
    ],
  );
  for (const version of ['v1', 'v2', 'v3']) {
    const svc = s.services.find((v) => v.name === `reviews-${version}`)!;
    t.same(svc.selector, { app: 'reviews', version });
    t.same(
      s.workloads.filter((w) => w.labels.app === 'reviews' && w.labels.version === version).map((w) => w.workloadName),
      [`reviews-${version}`],
    );
  }

  t.equal(s.httpRoutes.length, 1);
  const route = s.httpRoutes[0];
  t.equal(route.apiVersion, 'gateway.networking.k8s.io/v1');
  t.equal(route.kind, 'HTTPRoute');
  t.same(route.metadata, { name: 'reviews', namespace: 'default' });
  t.same(route.spec, {
    parentRefs: [{ group: '', kind: 'Service', name: 'reviews', port: 9080 }],
    rules: [
      { matches: [{ headers: [{ name: 'end-user', value: 'jason' }] }], backendRefs: [{ name: 'reviews-v2', port: 9080 }] },
      {
        backendRefs: [
          { name: 'reviews-v1', port: 9080, weight: 80 },
          { name: 'reviews-v3', port: 9080, weight: 20 },
        ],
      },
    ],
  });
  t.match(route.origin, /^scenarios\/bookinfo\.yaml:\d+$/);

  t.same(
    s.policies.map((p) => p.metadata.name),
    ['productpage-viewer', 'reviews-viewer', 'reviews-ztunnel'],
  );
  t.same(s.policies[0].spec.targetRefs, [{ kind: 'Service', group: '', name: 'productpage' }]);
  t.equal(s.policies[0].spec.action, 'ALLOW');
  // The gap closed on reviews: L7 at the Service's waypoint, L4 at the pods admitting the waypoint.
  t.same(s.policies[1].spec, {
    targetRefs: [{ kind: 'Service', group: '', name: 'reviews' }],
    action: 'ALLOW',
    rules: [{ from: [{ source: { principals: ['cluster.local/ns/default/sa/bookinfo-productpage'] } }] }],
  });
  t.same(s.policies[2].spec, {
    selector: { matchLabels: { app: 'reviews' } },
    action: 'ALLOW',
    rules: [{ from: [{ source: { principals: ['cluster.local/ns/default/sa/waypoint', 'cluster.local/ns/default/sa/bookinfo-productpage'] } }] }],
  });
  const sleep = s.workloads.find((w) => w.serviceAccount === 'sleep')!.name;
  const notsleep = s.workloads.find((w) => w.serviceAccount === 'notsleep')!.name;
  const reviewsV1 = s.workloads.find((w) => w.workloadName === 'reviews-v1')!;
  t.same(
    s.expect.map((e) => [e.from, e.to, e.outcome]),
    [
      [sleep, 'http://productpage:9080/productpage', 200],
      [notsleep, 'http://productpage:9080/productpage', 403],
      [sleep, 'http://details:9080/details/0', 200],
      [sleep, 'http://10.8.4.226:9080/productpage', 200],
      [notsleep, `http://${productpage.ip}:9080/productpage`, 200],
      [notsleep, 'http://reviews:9080/reviews/0', 403],
      [notsleep, `http://${reviewsV1.ip}:9080/reviews/0`, 'denied'],
    ],
  );
});

t.test('origins name the line of each Gateway and HTTPRoute', async (t) => {
  const s = load(
    withBase(
      WAYPOINT,
      `
      httpRoutes:
        - apiVersion: gateway.networking.k8s.io/v1
          kind: HTTPRoute
          metadata: { name: echo, namespace: default }
          spec:
            parentRefs: [ { group: "", kind: Service, name: echo } ]
            rules: [ { backendRefs: [ { name: echo-v1, port: 80 } ] } ]
      `,
    ),
  );
  t.same(
    s.gateways.map((g) => g.origin),
    ['t.yaml:11'],
  );
  t.same(
    s.httpRoutes.map((r) => r.origin),
    ['t.yaml:16'],
  );
  t.same(s.workloads[2].app, { kind: 'waypoint', port: 15008 }, 'a waypoint may leave its port out');
});

const L = LABEL_GATEWAY_NAME;

t.test('a Gateway: the envelope, the class, and annotations are checked; other spec fields kept', async (t) => {
  const text = withBase(`
    gateways:
      - apiVersion: gateway.networking.k8s.io/v1alpha2
        kind: Gateway
        metadata: { name: productpage, annotations: { istio.io/service-account: bookinfo-productpage } }
        spec: { gatewayClassName: istio-mesh }
      - apiVersion: gateway.networking.k8s.io/v1
        kind: Gateways
        metadata: { name: way.point, namespace: default, annotation: {} }
        spec: { gatewayClassName: istio-waypoint }
      - apiVersion: gateway.networking.k8s.io/v1
        kind: Gateway
        metadata: { name: ingress, namespace: default, annotations: { istio.io/service-account: Bad_SA, team: 7 } }
        spec: { gatewayClassName: example, infrastructure: { labels: { a: b } } }
      - apiVersion: gateway.networking.k8s.io/v1
        kind: Gateway
        metadata: { name: nospec, namespace: default }
      - apiVersion: gateway.networking.k8s.io/v1
        kind: Gateway
        metadata: { name: noclass, namespace: default, labels: { "bad key": x } }
        spec: { listeners: [ { name: http, port: 80, protocol: HTTP } ] }
      - just-a-string
  `);
  t.same(problemsOf(text), [
    't.yaml:10: gateways[0].apiVersion: "gateway.networking.k8s.io/v1alpha2" is not a Gateway version (gateway.networking.k8s.io/v1 or gateway.networking.k8s.io/v1beta1); the seed article (2022) used v1alpha2, today Gateways are v1',
    't.yaml:12: gateways[0].metadata.namespace: missing (the namespace it lives in, e.g. default)',
    't.yaml:13: gateways[0].spec.gatewayClassName: istio-mesh was the waypoint class in 2022, as in the seed article; today a waypoint is gatewayClassName: istio-waypoint',
    't.yaml:15: gateways[1].kind: "Gateways" is not Gateway',
    't.yaml:16: gateways[1].metadata.annotation: unknown field; did you mean annotations?',
    't.yaml:16: gateways[1].metadata.name: "way.point" is not a valid Kubernetes name (a lower-case letter, then letters, digits and -, at most 63); a waypoint\'s name is also its Service\'s name',
    't.yaml:20: gateways[2].metadata.annotations["istio.io/service-account"]: "Bad_SA" is not a valid Kubernetes name (lower-case letters, digits, - and ., at most 253)',
    't.yaml:20: gateways[2].metadata.annotations.team: must be a string, not the number 7 (quote it: "7")',
    't.yaml:22: gateways[3].spec: missing (at least gatewayClassName: istio-waypoint)',
    't.yaml:27: gateways[4].metadata.labels["bad key"]: "bad key" is not a valid label key ([prefix/]name, e.g. app or istio.io/use-waypoint)',
    't.yaml:28: gateways[4].spec.gatewayClassName: missing (e.g. istio-waypoint for a waypoint)',
    't.yaml:29: gateways[5]: must be a mapping, not the string "just-a-string"',
  ]);
});

t.test("listeners, when listed, are well-formed; a waypoint's takes HBONE on 15008", async (t) => {
  const text = withBase(`
    gateways:
      - apiVersion: gateway.networking.k8s.io/v1
        kind: Gateway
        metadata: { name: ingress, namespace: default }
        spec:
          gatewayClassName: example
          listeners:
          - { name: http, port: 80, protocol: HTTP, hostname: "*.example.com", allowedRoutes: { namespaces: { from: Same } } }
          - { name: http, port: 0, protocol: "HTTP 2" }
          - { port: 443, protocl: HTTPS }
          - { name: Web_1, port: "80", protocol: example.com/x }
      - apiVersion: gateway.networking.k8s.io/v1
        kind: Gateway
        metadata: { name: waypoint, namespace: default }
        spec: { gatewayClassName: istio-waypoint, listeners: [ { name: mesh, port: 15006, protocol: HBONE } ] }
      - apiVersion: gateway.networking.k8s.io/v1
        kind: Gateway
        metadata: { name: empty, namespace: default }
        spec: { gatewayClassName: example, listeners: [] }
      - apiVersion: gateway.networking.k8s.io/v1
        kind: Gateway
        metadata: { name: notalist, namespace: default }
        spec: { gatewayClassName: example, listeners: { name: mesh } }
  `);
  t.same(problemsOf(text), [
    't.yaml:17: gateways[0].spec.listeners[1].port: 0 is not a port number (1-65535)',
    't.yaml:17: gateways[0].spec.listeners[1].protocol: "HTTP 2" is not a protocol name (a word such as HTTP or HBONE, or domain/name)',
    't.yaml:17: gateways[0].spec.listeners[1].name: http is already the name of gateways[0].spec.listeners[0]; listener names must be unique',
    't.yaml:18: gateways[0].spec.listeners[2].protocl: unknown field; did you mean protocol?',
    "t.yaml:18: gateways[0].spec.listeners[2].name: missing (the listener's name, e.g. mesh)",
    't.yaml:18: gateways[0].spec.listeners[2].protocol: missing (e.g. HBONE for a waypoint)',
    't.yaml:19: gateways[0].spec.listeners[3].name: "Web_1" is not a valid listener name (lower-case letters, digits, - and ., at most 253)',
    't.yaml:19: gateways[0].spec.listeners[3].port: must be an integer, not the string "80"',
    't.yaml:23: gateways[1].spec.listeners: a waypoint receives HBONE on 15008: list { name: mesh, port: 15008, protocol: HBONE } (or leave listeners out)',
    't.yaml:27: gateways[2].spec.listeners: must list at least one listener (or leave listeners out)',
    't.yaml:31: gateways[3].spec.listeners: must be a list, not a mapping',
  ]);
});

t.test("a waypoint Gateway has exactly one pod, running waypoint under the Gateway's service account", async (t) => {
  const gateway = (name: string, cls: string, meta = ''): string => `
      - apiVersion: gateway.networking.k8s.io/v1
        kind: Gateway
        metadata: { name: ${name}, namespace: default${meta} }
        spec: { gatewayClassName: ${cls} }`;
  const text = withBase(`
      - { name: wp-a, namespace: default, serviceAccount: wp, node: node-a, ip: 10.4.1.10, labels: { ${L}: waypoint }, run: { app: waypoint } }
      - { name: wp-b, namespace: default, serviceAccount: waypoint, node: node-a, ip: 10.4.1.11, labels: { ${L}: waypoint }, run: { app: waypoint, port: 15008 } }
      - { name: shop, namespace: default, serviceAccount: shop, node: node-a, ip: 10.4.1.12, labels: { ${L}: shop }, run: { app: sleep, port: 80 } }
      - { name: lonely, namespace: default, serviceAccount: lonely, node: node-a, ip: 10.4.1.13, run: { app: waypoint } }
      - { name: lost, namespace: default, serviceAccount: lost, node: node-a, ip: 10.4.1.14, labels: { ${L}: nowhere }, run: { app: waypoint } }
      - { name: ingress-0, namespace: default, serviceAccount: ingress, node: node-a, ip: 10.4.1.15, labels: { ${L}: ingress }, run: { app: waypoint } }
      - { name: bad-port, namespace: default, serviceAccount: shop, node: node-a, ip: 10.4.1.16, labels: { ${L}: shop }, run: { app: waypoint, port: 8080 } }
      - { name: elsewhere, namespace: other, serviceAccount: gone, node: node-a, ip: 10.4.1.17, labels: { ${L}: gone }, run: { app: waypoint } }
      - { name: cart-0, namespace: default, serviceAccount: bookinfo-cart, node: node-a, ip: 10.4.1.18, labels: { ${L}: cart }, run: { app: waypoint } }
    gateways:${gateway('waypoint', 'istio-waypoint', ', annotations: { istio.io/service-account: waypoint }')}${gateway('shop', 'istio-waypoint')}${gateway('ingress', 'example')}${gateway('gone', 'istio-waypoint')}${gateway('cart', 'istio-waypoint')}
  `);
  t.same(problemsOf(text), [
    "t.yaml:9: workloads[2].serviceAccount: wp is not the waypoint's service account: its Gateway gateways[0] says istio.io/service-account: waypoint",
    `t.yaml:10: workloads[3].labels["${L}"]: Gateway waypoint already has its waypoint pod, workloads[2] (wp-a); hbone-sim runs one pod per waypoint`,
    `t.yaml:11: workloads[4].run.app: this pod is labelled ${L}: shop, so it is the pod of waypoint gateways[1] and must run waypoint, not sleep`,
    `t.yaml:12: workloads[5].run.app: a waypoint pod belongs to a Gateway of class istio-waypoint: label it ${L}: <the Gateway's name>`,
    `t.yaml:13: workloads[6].labels["${L}"]: nowhere is not a waypoint Gateway in namespace default (waypoints there: waypoint, shop, gone, cart); a waypoint pod belongs to one`,
    `t.yaml:14: workloads[7].labels["${L}"]: Gateway ingress (gateways[2]) is of class example, not istio-waypoint; a waypoint pod belongs to one`,
    "t.yaml:15: workloads[8].run.port: 8080 is not a waypoint's port: a waypoint receives HBONE on 15008 only (write 15008 or leave port out)",
    `t.yaml:15: workloads[8].labels["${L}"]: Gateway shop already has its waypoint pod, workloads[4] (shop); hbone-sim runs one pod per waypoint`,
    `t.yaml:16: workloads[9].labels["${L}"]: gone is not a waypoint Gateway in namespace other (declare one under gateways: with gatewayClassName: istio-waypoint); a waypoint pod belongs to one`,
    "t.yaml:17: workloads[10].serviceAccount: bookinfo-cart is not the waypoint's service account: its Gateway gateways[4] has no istio.io/service-account annotation, so Istio runs the waypoint as cart, the Gateway's name",
    `t.yaml:33: gateways[3].metadata.name: no pod in namespace default is labelled ${L}: gone; a waypoint needs one, running { app: waypoint }`,
  ]);
});

t.test("port 15008 is the waypoint's alone; a misspelt pod field holds back the pod checks", async (t) => {
  const text = withBase(WAYPOINT).replace('run: { app: echo, port: 8080 }', 'run: { app: echo, port: 15008 }');
  t.same(problemsOf(text), ['t.yaml:8: workloads[1].run.port: 15008 is a reserved mesh port (HBONE); pick another port']);
  // The waypoint pod's label misspelt: the Gateway's "no pod" would be a guess.
  const misspelt = withBase(WAYPOINT).replace(`labels: { ${L}: waypoint }`, `lables: { ${L}: waypoint }`);
  t.same(problemsOf(misspelt), ['t.yaml:9: workloads[2].lables: unknown field; did you mean labels?']);
});

t.test('istio.io/use-waypoint on a Service names a waypoint Gateway in its namespace', async (t) => {
  const text = yaml(`
    name: t
    nodes: [ { name: node-a, ip: 10.1.0.1 } ]
    workloads:
      - { name: echo, namespace: default, serviceAccount: echo, node: node-a, ip: 10.4.1.6, labels: { app: echo }, run: { app: echo, port: 8080 } }
      - { name: echo, namespace: other, serviceAccount: echo, node: node-a, ip: 10.4.1.7, labels: { app: echo }, run: { app: echo, port: 8080 } }
      - { name: waypoint-0, namespace: default, serviceAccount: waypoint, node: node-a, ip: 10.4.1.10, labels: { ${L}: waypoint }, run: { app: waypoint } }
    services:
      - { name: a, namespace: default, vip: 10.8.0.20, labels: { ${LABEL_USE_WAYPOINT}: waypoint }, selector: { app: echo }, ports: [ { port: 8080 } ] }
      - { name: b, namespace: default, vip: 10.8.0.21, labels: { ${LABEL_USE_WAYPOINT}: none }, selector: { app: echo }, ports: [ { port: 8080 } ] }
      - name: c
        namespace: default
        vip: 10.8.0.22
        labels:
          app: echo
          ${LABEL_USE_WAYPOINT}: waypont
        selector: { app: echo }
        ports: [ { port: 8080 } ]
      - { name: d, namespace: default, vip: 10.8.0.23, labels: { ${LABEL_USE_WAYPOINT}: ingress }, selector: { app: echo }, ports: [ { port: 8080 } ] }
      - { name: e, namespace: other, vip: 10.8.0.24, labels: { ${LABEL_USE_WAYPOINT}: waypoint }, selector: { app: echo }, ports: [ { port: 8080 } ] }
    gateways:
      - { apiVersion: gateway.networking.k8s.io/v1, kind: Gateway, metadata: { name: waypoint, namespace: default }, spec: { gatewayClassName: istio-waypoint } }
      - { apiVersion: gateway.networking.k8s.io/v1, kind: Gateway, metadata: { name: ingress, namespace: default }, spec: { gatewayClassName: example } }
  `);
  t.same(problemsOf(text), [
    `t.yaml:15: services[2].labels["${LABEL_USE_WAYPOINT}"]: waypont is not a waypoint Gateway in namespace default (waypoints there: waypoint)`,
    `t.yaml:18: services[3].labels["${LABEL_USE_WAYPOINT}"]: Gateway ingress (gateways[1]) is of class example, not istio-waypoint`,
    `t.yaml:19: services[4].labels["${LABEL_USE_WAYPOINT}"]: waypoint is not a waypoint Gateway in namespace other (declare one under gateways: with gatewayClassName: istio-waypoint)`,
  ]);
  // A Gateway that could not be read might be the one: no guesses.
  const unreadable = text.replace('metadata: { name: ingress', 'metdata: { name: ingress');
  t.same(problemsOf(unreadable), [
    't.yaml:22: gateways[1].metdata: unknown field; did you mean metadata?',
    't.yaml:22: gateways[1].metadata: missing (name and namespace)',
  ]);
});

t.test("an HTTPRoute: Gateway API's rules at the line they concern, then its Services and ports", async (t) => {
  const text = withBase(
    WAYPOINT,
    `
    httpRoutes:
      - apiVersion: gateway.networking.k8s.io/v1
        kind: HTTPRoute
        metadata: { name: echo, namespace: default }
        spec:
          parentRefs:
          - { group: "", kind: Service, name: echo, port: 8080, sectionName: http }
          - { group: "", kind: Service, name: echo, port: 9080 }
          - { group: "", kind: Service, name: echo, sectionName: grpc }
          - { group: "", kind: Service, name: ghost }
          - { group: "", kind: Service, name: echo, namespace: other }
          rules:
          - backendRefs:
            - { name: echo-v1, port: 80, weight: 90 }
            - { name: echo-v1, port: 8080 }
            - { name: echo-v2, port: 80 }
            - { name: echo, namespace: other, port: 8080 }
      - apiVersion: gateway.networking.k8s.io/v1
        kind: HTTPRoute
        metadata: { name: bad, namespace: default }
        spec:
          parentRefs: [ { kind: Service, name: echo } ]
          rules:
          - matches:
            - path: { type: PathPrefix, value: "no-slash" }
            - path: { type: Exact, value: /ok }
              method: get
            backendRefs: [ { name: nowhere, port: 80 } ]
            timeout: 5s
      - kind: HTTPRoute
        metadata: { name: bare }
      - [ not, a, route ]
    `,
  );
  const problems = problemsOf(text);
  // The first route (lines 16-31) is sound by Gateway API's rules; what it names is checked.
  const ours = problems.filter((p) => Number(p.split(':')[1]) <= 31);
  t.same(ours, [
    't.yaml:22: httpRoutes[0].spec.parentRefs[1].port: echo has no port 9080 (ports: 8080)',
    't.yaml:23: httpRoutes[0].spec.parentRefs[2].sectionName: echo has no port named grpc (port names: http)',
    't.yaml:24: httpRoutes[0].spec.parentRefs[3].name: ghost is not a Service in namespace default (services there: echo, echo-v1)',
    't.yaml:25: httpRoutes[0].spec.parentRefs[4].name: echo is not a Service in namespace other (it has none)',
    't.yaml:29: httpRoutes[0].spec.rules[0].backendRefs[1].port: echo-v1 has no port 8080 (ports: 80); a backendRef names the Service port (80), not the targetPort',
    't.yaml:30: httpRoutes[0].spec.rules[0].backendRefs[2].name: echo-v2 is not a Service in namespace default (services there: echo, echo-v1)',
    't.yaml:31: httpRoutes[0].spec.rules[0].backendRefs[3].name: echo is not a Service in namespace other (it has none)',
  ]);
  // The other routes break Gateway API's own rules; where each problem lands is ours, the
  // wording belongs to src/policy. The backend "nowhere" is not looked up until the route is sound.
  const where = problems.slice(ours.length).map((p) => p.split(': ').slice(0, 2).join(': '));
  t.same(where, [
    't.yaml:36: httpRoutes[1].spec.parentRefs[0].group',
    't.yaml:39: httpRoutes[1].spec.rules[0].matches[0].path.value',
    't.yaml:41: httpRoutes[1].spec.rules[0].matches[1].method',
    't.yaml:43: httpRoutes[1].spec.rules[0].timeout',
    't.yaml:44: httpRoutes[2].apiVersion',
    't.yaml:44: httpRoutes[2].spec',
    't.yaml:45: httpRoutes[2].metadata.namespace',
    't.yaml:46: httpRoutes[3]',
  ]);
});

t.test('Gateways and HTTPRoutes are named uniquely within a namespace', async (t) => {
  const route = (name: string, ns: string): string =>
    `{ apiVersion: gateway.networking.k8s.io/v1, kind: HTTPRoute, metadata: { name: ${name}, namespace: ${ns} }, spec: { parentRefs: [ { group: "", kind: Service, name: echo } ] } }`;
  const text = withBase(
    WAYPOINT,
    `
      - { apiVersion: gateway.networking.k8s.io/v1, kind: Gateway, metadata: { name: waypoint, namespace: default }, spec: { gatewayClassName: example } }
      - { apiVersion: gateway.networking.k8s.io/v1, kind: Gateway, metadata: { name: waypoint, namespace: other }, spec: { gatewayClassName: example } }
    httpRoutes:
      - ${route('echo', 'default')}
      - ${route('echo', 'default')}
    `,
  );
  t.same(problemsOf(text), [
    't.yaml:15: gateways[1].metadata.name: waypoint is already used in namespace default by gateways[0]',
    't.yaml:19: httpRoutes[1].metadata.name: echo is already used in namespace default by httpRoutes[0]',
  ]);
});

t.test('misspelt top-level sections are suggested', async (t) => {
  t.same(problemsOf(withBase('gateway: []\nhttproutes: []\n')), [
    't.yaml:9: gateway: unknown field; did you mean gateways?',
    't.yaml:10: httproutes: unknown field; did you mean httpRoutes?',
  ]);
});
