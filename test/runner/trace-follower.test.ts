// trace --follow's follower, fed records directly: a request is told once its source ztunnel's
// record is in, with the waypoint's stages; over 100,000 requests what waits is bounded, at most
// MAX_PER_SECOND are told a second and the rest are said to be skipped; a reader that is behind
// is skipped until it catches up; closing leaves nothing running.
import t from 'tap';
import { parseScenario } from '../../src/mesh/load';
import { AccessRecords } from '../../src/runner/access-records';
import { MAX_PENDING, MAX_PER_SECOND, SETTLE_MS, TraceFollower } from '../../src/runner/trace-follower';
import { readManifests } from '../../src/mesh/manifests';
import { applyObject } from '../../src/mesh/object-store';
import { bookinfoGatewayYaml } from '../fixtures/sample-manifests';

const SCENARIO = parseScenario(
  `name: follow
nodes: [ { name: node-a, ip: 10.1.0.1 }, { name: node-b, ip: 10.1.0.2 } ]
workloads:
  - { name: sleep, namespace: default, serviceAccount: sleep, node: node-a, ip: 10.1.1.1, labels: { app: sleep }, run: { app: sleep, port: 80 } }
  - { name: echo, namespace: default, serviceAccount: echo, node: node-b, ip: 10.1.2.1, labels: { app: echo }, run: { app: echo, port: 8080 } }
services:
  - { name: echo, namespace: default, vip: 10.8.0.1, selector: { app: echo }, ports: [ { name: tcp, port: 8080 } ] }
`,
  'follow.yaml',
);

let n = 0;
/** ztunnel-node-a's record of one connection from sleep to echo, with its own trace id. */
function outbound(pod = 'sleep'): string {
  const trace = (++n).toString(16).padStart(32, '0');
  return JSON.stringify({
    scope: 'access',
    direction: 'outbound',
    'src.workload': pod,
    'src.addr': `10.1.1.1:${40000 + (n % 20000)}`,
    'src.identity': 'spiffe://cluster.local/ns/default/sa/sleep',
    'dst.addr': '10.1.2.1:15008',
    'dst.hbone_addr': '10.1.2.1:8080',
    'dst.service': 'echo.default.svc.cluster.local',
    'dst.workload': 'echo',
    'dst.identity': 'spiffe://cluster.local/ns/default/sa/echo',
    trace_id: trace,
    duration: '3ms',
  });
}

const settle = () => new Promise((r) => setTimeout(r, SETTLE_MS + 100));

t.test('a request is told hop by hop once its source record is in', async (t) => {
  const records = new AccessRecords(1000);
  const follower = new TraceFollower(records, () => SCENARIO);
  const told: string[] = [];
  const stop = follower.follow({}, (text) => (told.push(text), true));
  t.teardown(() => follower.close());
  records.add('ztunnel-node-a', outbound());
  await settle();
  t.equal(told.length, 1);
  t.match(told[0], /sleep → echo\.default\.svc\.cluster\.local\n/);
  t.match(told[0], /ztunnel-node-a ⇒ HBONE CONNECT :authority 10\.1\.2\.1:8080 to 10\.1\.2\.1:15008/);
  t.match(told[0], /mTLS spiffe:\/\/cluster\.local\/ns\/default\/sa\/sleep → spiffe:\/\/cluster\.local\/ns\/default\/sa\/echo/);
  stop();
  records.add('ztunnel-node-a', outbound());
  await settle();
  t.equal(told.length, 1, 'nothing after stop');
});

t.test('--pod and --json', async (t) => {
  const records = new AccessRecords(1000);
  const follower = new TraceFollower(records, () => SCENARIO);
  t.teardown(() => follower.close());
  const told: string[] = [];
  follower.follow({ pod: 'echo', json: true }, (text) => (told.push(text), true));
  records.add('ztunnel-node-a', outbound('sleep'));
  records.add('ztunnel-node-b', outbound('echo'));
  await settle();
  t.equal(told.length, 1, 'only the pod asked for');
  t.match(JSON.parse(told[0]) as object, { pod: 'echo', target: 'echo.default.svc.cluster.local', outbound: { 'src.workload': 'echo' } });
});

t.test('100,000 requests: bounded waiting, at most MAX_PER_SECOND told a second, the rest said to be skipped', async (t) => {
  const records = new AccessRecords(10_000);
  const follower = new TraceFollower(records, () => SCENARIO);
  t.teardown(() => follower.close());
  const told: string[] = [];
  follower.follow({}, (text) => (told.push(text), true));
  let maxPending = 0;
  for (let i = 0; i < 100_000; i++) {
    records.add('ztunnel-node-a', outbound());
    if (i % 1000 === 0) maxPending = Math.max(maxPending, follower.pending);
  }
  t.ok(maxPending <= MAX_PENDING, `at most ${maxPending} waiting`);
  t.ok(follower.pending <= MAX_PER_SECOND, `${follower.pending} waiting at the end of the burst`);
  await new Promise((r) => setTimeout(r, 1200));
  const traces = told.filter((x) => !x.startsWith('#'));
  t.ok(traces.length <= MAX_PER_SECOND, `${traces.length} told`);
  t.match(told.join(''), new RegExp(`# sampling: told ${traces.length} of 100000 requests in the last second`));
});

t.test('a reader that is behind is skipped until it catches up', async (t) => {
  const records = new AccessRecords(1000);
  const follower = new TraceFollower(records, () => SCENARIO);
  t.teardown(() => follower.close());
  let full = true;
  const told: string[] = [];
  const sink = (text: string) => {
    told.push(text);
    return !full;
  };
  follower.follow({}, sink);
  records.add('ztunnel-node-a', outbound());
  await settle();
  t.equal(told.length, 1, 'told, and the write said the reader is behind');
  records.add('ztunnel-node-a', outbound());
  await settle();
  t.equal(told.length, 1, 'skipped while behind');
  full = false;
  follower.caughtUp(sink);
  records.add('ztunnel-node-a', outbound());
  await settle();
  t.equal(told.filter((x) => !x.startsWith('#')).length, 2, 'told again once it caught up');
  t.match(told.join(''), /# sampling: told [12] of [23] requests in the last second/, 'and the skip was said');
});

t.test('a request through the ingress gateway is told from its own record: its stages, then the destination ztunnel', async (t) => {
  const gatewayDoc = readManifests([
    { file: 'gw.yaml', text: bookinfoGatewayYaml().replace('productpage', 'echo').replace('port: 9080', 'port: 8080') },
  ]).manifests;
  const withGateway = gatewayDoc.reduce((s, m) => applyObject(s, m, (k) => 1 % k).scenario, SCENARIO);
  const gw = withGateway.workloads.find((w) => w.app.kind === 'istio-gateway')!;
  const records = new AccessRecords(1000);
  const follower = new TraceFollower(records, () => withGateway);
  const told: string[] = [];
  follower.follow({ pod: gw.name }, (text) => (told.push(text), true));
  t.teardown(() => follower.close());
  const traceId = 'ab'.repeat(16);
  const stage = (name: string, detail: Record<string, unknown>) => ({ name, durationMs: 0.2, detail });
  records.add(
    'ztunnel-node-b',
    JSON.stringify({
      scope: 'access',
      direction: 'inbound',
      'src.addr': `${gw.ip}:41000`,
      'src.identity': 'spiffe://cluster.local/ns/default/sa/bookinfo-gateway-istio',
      'dst.addr': '10.1.2.1:15008',
      'dst.hbone_addr': '10.1.2.1:8080',
      'dst.workload': 'echo',
      trace_id: traceId,
      duration: '2ms',
    }),
  );
  records.add(
    gw.name,
    JSON.stringify({
      scope: 'trace',
      traceId,
      process: gw.name,
      status: 200,
      durationMs: 1.5,
      stages: [
        stage('0.0.0.0_80', { listener: `${gw.ip}:80`, client: '127.0.0.1:50000', tls: 'none: plaintext HTTP from outside the mesh' }),
        stage('http.80', { request: 'GET /productpage', route: 'default.bookinfo.0', backend: 'echo.default.svc.cluster.local:8080' }),
        stage('outbound|8080||echo.default.svc.cluster.local', { rbac: 'allowed', policy: 'none', reason: 'no policy', endpoint: 'echo 10.1.2.1' }),
        stage('connect_originate', {
          authority: '10.1.2.1:8080',
          hbone: '10.1.2.1:15008',
          'x-envoy-original-dst-host': '10.1.2.1:8080',
          identity: 'spiffe://cluster.local/ns/default/sa/bookinfo-gateway-istio',
          expect: 'spiffe://cluster.local/*',
          status: 200,
        }),
      ],
    }),
  );
  records.add('ztunnel-node-a', outbound());
  await settle();
  t.equal(told.length, 1, "only the gateway's request: --pod names the gateway pod");
  t.match(told[0], new RegExp(`${gw.name} ← GET /productpage\\n`));
  t.match(
    told[0],
    /127\.0\.0\.1:50000 → bookinfo-gateway-istio-\w+-\w+ on node-\w listener 10\.1\.\d+\.\d+:80: plain HTTP from outside the mesh, no peer identity/,
  );
  t.match(told[0], / {2}2 http\.80 {2}GET \/productpage → route default\.bookinfo\.0, backend echo\.default\.svc\.cluster\.local:8080/);
  t.match(
    told[0],
    / {2}4 connect_originate {2}CONNECT :authority 10\.1\.2\.1:8080 to 10\.1\.2\.1:15008.*mTLS spiffe:\/\/cluster\.local\/ns\/default\/sa\/bookinfo-gateway-istio/,
  );
  t.match(
    told[0],
    /ztunnel-node-b inbound: peer spiffe:\/\/cluster\.local\/ns\/default\/sa\/bookinfo-gateway-istio, no L4 policy applies → echo 10\.1\.2\.1:8080/,
  );
});
