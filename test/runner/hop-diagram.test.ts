// One request drawn (trace --mermaid, --svg): the participants and arrows of the path through
// the waypoint, the waypoint's four stages as notes with their times, a denial drawn as one,
// the direct path without a waypoint, and text that would break Mermaid or SVG escaped.
import t from 'tap';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { diagramOf, isDrawable, toMermaid, toSvg, TracedRequest } from '../../src/runner/hop-diagram';

const stage = (name: string, detail: Record<string, unknown>) => ({ name, durationMs: 0.4, detail });

const VIA_WAYPOINT: TracedRequest = {
  pod: 'sleep-7656cf8794-8tp9n',
  target: 'productpage.default.svc.cluster.local',
  traceId: 'ab'.repeat(16),
  reporters: { outbound: 'ztunnel-node-a', waypoint: 'waypoint-7d9f8c6b5-xk2lp', inbound: 'ztunnel-node-b' },
  outbound: {
    'src.addr': '10.4.1.7:40000',
    'src.identity': 'spiffe://cluster.local/ns/default/sa/sleep',
    'dst.addr': '10.4.3.10:15008',
    'dst.hbone_addr': '10.8.4.226:9080',
    'dst.identity': 'spiffe://cluster.local/ns/default/sa/waypoint',
    'dst.workload': 'waypoint-7d9f8c6b5-xk2lp',
    duration: '12ms',
  },
  waypoint: {
    status: 200,
    durationMs: 9.5,
    stages: [
      stage('inbound_CONNECT_terminate', { authority: '10.8.4.226:9080', service: 'productpage.default.svc.cluster.local' }),
      stage('inbound-vip|9080|http|productpage.default.svc.cluster.local', {
        request: 'GET /productpage',
        route: 'default',
        backend: 'productpage.default.svc.cluster.local:9080',
      }),
      stage('inbound-pod|9080||10.4.0.5', {
        rbac: 'allowed',
        policy: 'ns[default]-policy[productpage-viewer]-rule[0]',
        endpoint: 'productpage-v1-675fc69cf-vvwsk 10.4.0.5',
      }),
      stage('inbound_CONNECT_originate', { authority: '10.4.0.5:9080', identity: 'spiffe://cluster.local/ns/default/sa/waypoint', status: 200 }),
    ],
  },
  inbound: {
    'src.identity': 'spiffe://cluster.local/ns/default/sa/waypoint',
    'dst.workload': 'productpage-v1-675fc69cf-vvwsk',
    'dst.hbone_addr': '10.4.0.5:9080',
    duration: '3ms',
  },
};

t.test('through the waypoint: five participants, the CONNECTs, the four stages as notes', async (t) => {
  const d = diagramOf(VIA_WAYPOINT);
  t.same(
    d.participants.map((p) => `${p.name} (${p.role})`),
    [
      'sleep-7656cf8794-8tp9n (pod)',
      'ztunnel-node-a (ztunnel)',
      'waypoint-7d9f8c6b5-xk2lp (waypoint)',
      'ztunnel-node-b (ztunnel)',
      'productpage-v1-675fc69cf-vvwsk (pod)',
    ],
  );
  const mermaid = toMermaid(d);
  t.match(mermaid, /^sequenceDiagram\n {2}title sleep-7656cf8794-8tp9n → productpage\.default\.svc\.cluster\.local\n/);
  t.match(mermaid, / {2}client->>zsrc: TCP to productpage\.default\.svc\.cluster\.local, captured \(10\.4\.1\.7:40000\)\n/);
  t.match(
    mermaid,
    / {2}zsrc->>wp: HBONE CONNECT :authority 10\.8\.4\.226:9080 to 10\.4\.3\.10:15008, mTLS spiffe:\/\/cluster\.local\/ns\/default\/sa\/sleep → spiffe:\/\/cluster\.local\/ns\/default\/sa\/waypoint\n/,
  );
  t.match(mermaid, / {2}Note over zsrc: 12ms in ztunnel-node-a, trace abab/);
  t.match(mermaid, / {2}Note over wp: 1 inbound_CONNECT_terminate: :authority 10\.8\.4\.226:9080 → productpage\.default\.svc\.cluster\.local \(0\.4 ms\)\n/);
  t.match(mermaid, / {2}Note over wp: 3 inbound-pod\|9080\|\|10\.4\.0\.5: RBAC allowed \(ns\[default\]-policy\[productpage-viewer\]-rule\[0\]\)/);
  t.match(mermaid, / {2}wp->>zdst: CONNECT :authority 10\.4\.0\.5:9080, mTLS spiffe:\/\/cluster\.local\/ns\/default\/sa\/waypoint\n/);
  t.match(mermaid, / {2}zdst->>dst: TCP 10\.4\.0\.5:9080\n/);
  t.match(mermaid, / {2}dst-->>client: HTTP 200 \(9\.5 ms in the waypoint\)\n$/);
  const svg = toSvg(d);
  t.match(svg, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg" /);
  t.equal((svg.match(/<g class="participant"/g) ?? []).length, 5);
  t.equal((svg.match(/<g class="message"/g) ?? []).length, d.steps.filter((s) => s.kind === 'message').length);
  t.equal((svg.match(/<g class="note"/g) ?? []).length, d.steps.filter((s) => s.kind === 'note').length);
  t.notMatch(svg, /<script|href="http/, 'nothing runs, nothing is fetched');
  t.equal((svg.match(/<g /g) ?? []).length, (svg.match(/<\/g>/g) ?? []).length, 'every group closed');
});

t.test('a denial at the waypoint: the 403 comes from the waypoint, no CONNECT to the pod', async (t) => {
  const stages = (VIA_WAYPOINT.waypoint!.stages as ReturnType<typeof stage>[]).slice(0, 3);
  stages[2] = stage('inbound-pod|9080||10.4.0.5', {
    rbac: 'denied',
    policy: 'ns[default]-policy[deny-delete]-rule[0]',
    endpoint: 'productpage-v1-675fc69cf-vvwsk 10.4.0.5',
  });
  const d = diagramOf({ ...VIA_WAYPOINT, waypoint: { ...VIA_WAYPOINT.waypoint, status: 403, stages }, inbound: undefined });
  const mermaid = toMermaid(d);
  t.notMatch(mermaid, /wp->>zdst/);
  t.match(mermaid, /RBAC denied/);
  t.match(mermaid, / {2}wp-->>client: HTTP 403/);
});

t.test('without a waypoint, and a refused CONNECT', async (t) => {
  const direct: TracedRequest = {
    ...VIA_WAYPOINT,
    target: 'details.default.svc.cluster.local',
    waypoint: undefined,
    outbound: { ...VIA_WAYPOINT.outbound, 'dst.addr': '10.4.1.12:15008', 'dst.hbone_addr': '10.4.1.12:9080', 'dst.workload': 'details-v1' },
    inbound: { ...VIA_WAYPOINT.inbound, 'dst.workload': 'details-v1', 'dst.hbone_addr': '10.4.1.12:9080', policy: 'ns[default]-policy[allow]-rule[0]' },
  };
  const d = diagramOf(direct);
  t.same(
    d.participants.map((p) => p.id),
    ['client', 'zsrc', 'zdst', 'dst'],
  );
  t.match(toMermaid(d), /Note over zdst: peer spiffe:\/\/cluster\.local\/ns\/default\/sa\/waypoint, allowed by ns\[default\]-policy\[allow\]-rule\[0\]/);
  const refused = toMermaid(diagramOf({ ...direct, inbound: undefined, outbound: { ...direct.outbound, error: 'CONNECT answered 401' } }));
  t.match(refused, / {2}zsrc-xzdst: HBONE CONNECT/);
  t.match(refused, /Note over zsrc: refused: CONNECT answered 401/);
  t.notMatch(refused, /zdst->>dst/);
  t.ok(isDrawable(direct));
  t.notOk(isDrawable({ pod: 'gw', target: 'x' }), 'a request seen only by a gateway or at :15006 is not drawn');
});

t.test("text that would end a Mermaid statement or break the SVG's markup is escaped", async (t) => {
  const d = diagramOf({ ...VIA_WAYPOINT, target: 'a<b>&"c";#d' });
  t.match(toMermaid(d), /title sleep-7656cf8794-8tp9n → a<b>&"c",no. d\n/);
  t.match(toSvg(d), /<title>sleep-7656cf8794-8tp9n → a&lt;b&gt;&amp;&quot;c&quot;;#d<\/title>/);
});

t.test("the README's picture is the project's drawing of bookinfo's request through the waypoint", async (t) => {
  const root = path.resolve(__dirname, '..', '..');
  const svg = fs.readFileSync(path.join(root, 'docs', 'bookinfo-trace.svg'), 'utf8');
  t.match(fs.readFileSync(path.join(root, 'README.md'), 'utf8'), '](docs/bookinfo-trace.svg)');
  t.match(svg, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
  const names = [...svg.matchAll(/<g class="participant" data-id="(\w+)">[\s\S]*?<text[^>]*>([^<]+)<\/text>/g)].map((m) => `${m[1]}=${m[2]}`);
  t.same(names, [
    'client=sleep-7656cf8794-8tp9n',
    'zsrc=ztunnel-node-a',
    'wp=waypoint-7d9f8c6b5-xk2lp',
    'zdst=ztunnel-node-b',
    'dst=productpage-v1-675fc69cf-vvwsk',
  ]);
  for (const stageName of [
    '1 inbound_CONNECT_terminate',
    '2 inbound-vip|9080|http|productpage.default.svc.cluster.local',
    '3 inbound-pod|9080||10.4.0.5',
    '4 inbound_CONNECT_originate',
  ])
    t.match(svg, `<title>${stageName}`, `the waypoint's stage ${stageName}`);
});

t.test('through the ingress gateway: from outside the mesh, plain HTTP in, HBONE out as the gateway', async (t) => {
  const gatewayPod = 'bookinfo-gateway-istio-66wk9fgg7g-b9jbx';
  const via: TracedRequest = {
    pod: gatewayPod,
    target: 'GET /productpage',
    reporters: { gateway: gatewayPod, inbound: 'ztunnel-kind-worker2' },
    gateway: {
      status: 200,
      durationMs: 45.3,
      stages: [
        stage('0.0.0.0_80', { listener: '10.117.2.3:80', client: '127.0.0.1:52162', tls: 'none: plaintext HTTP from outside the mesh' }),
        stage('http.80', { request: 'GET /productpage', route: 'default.bookinfo.0', backend: 'productpage.default.svc.cluster.local:9080' }),
        stage('outbound|9080||productpage.default.svc.cluster.local', {
          rbac: 'allowed',
          policy: 'none',
          reason: 'no policy',
          endpoint: 'productpage-v1-m8k7tlkh55-x6mqr 10.117.3.2',
        }),
        stage('connect_originate', { authority: '10.117.3.2:9080', identity: 'spiffe://cluster.local/ns/default/sa/bookinfo-gateway-istio', status: 200 }),
      ],
    },
  };
  t.ok(isDrawable(via));
  const d = diagramOf(via);
  t.same(
    d.participants.map((p) => `${p.name} (${p.role})`),
    ['127.0.0.1:52162 (outside the mesh)', `${gatewayPod} (ingress gateway)`, 'ztunnel-kind-worker2 (ztunnel)', 'productpage-v1-m8k7tlkh55-x6mqr (pod)'],
  );
  const mermaid = toMermaid(d);
  t.match(mermaid, /client->>gw: GET \/productpage to 10\.117\.2\.3:80, plaintext\n/);
  t.match(mermaid, /Note over gw: 2 http\.80: GET \/productpage → route default\.bookinfo\.0/);
  t.match(mermaid, /gw->>zdst: CONNECT :authority 10\.117\.3\.2:9080, mTLS spiffe:\/\/cluster\.local\/ns\/default\/sa\/bookinfo-gateway-istio\n/);
  t.match(mermaid, /dst-->>client: HTTP 200 \(45\.3 ms in the gateway\)\n$/);
  // A path no rule matches: the gateway answers 404 itself.
  const notFound = toMermaid(diagramOf({ ...via, gateway: { status: 404, durationMs: 0.2, stages: (via.gateway!.stages as unknown[]).slice(0, 2) } }));
  t.notMatch(notFound, /gw->>zdst/);
  t.match(notFound, /gw-->>client: HTTP 404/);
});

t.test('seen by the waypoint only (the client keeps its connection open): the CONNECT from stage 1', async (t) => {
  const stages = VIA_WAYPOINT.waypoint!.stages as ReturnType<typeof stage>[];
  const open: TracedRequest = {
    ...VIA_WAYPOINT,
    outbound: undefined,
    waypoint: {
      ...VIA_WAYPOINT.waypoint,
      stages: [
        stage('inbound_CONNECT_terminate', {
          ...stages[0].detail,
          listener: '10.4.3.10:15008',
          peer: 'spiffe://cluster.local/ns/default/sa/sleep',
          identity: 'spiffe://cluster.local/ns/default/sa/waypoint',
          client: '10.4.1.7:40000',
        }),
        ...stages.slice(1),
      ],
    },
  };
  t.ok(isDrawable(open));
  const mermaid = toMermaid(diagramOf(open));
  t.match(
    mermaid,
    / {2}zsrc->>wp: HBONE CONNECT :authority 10\.8\.4\.226:9080 to 10\.4\.3\.10:15008, mTLS spiffe:\/\/cluster\.local\/ns\/default\/sa\/sleep → spiffe:\/\/cluster\.local\/ns\/default\/sa\/waypoint\n/,
  );
  t.match(mermaid, /Note over zsrc: connection still open: ztunnel-node-a logs it when it closes/);
  t.match(mermaid, /Note over wp: 3 inbound-pod\|9080\|\|10\.4\.0\.5/);
});
