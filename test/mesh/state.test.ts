// How ztunnel resolves an original destination, waypoints included.
import t from 'tap';
import { loadScenario } from '../../src/mesh/load';
import { MeshState, workloadWaypointOf } from '../../src/mesh/state';
import type { Scenario } from '../../src/mesh/model';

const scenario = loadScenario('bookinfo');
const state = new MeshState(scenario);
const pod = (prefix: string) => scenario.workloads.find((w) => w.name.startsWith(prefix))!;

t.test('a service bound to a waypoint resolves to the waypoint, with the VIP:port kept', async (t) => {
  const route = state.resolve(pod('sleep'), 'productpage', 9080);
  t.equal(route.kind, 'waypoint');
  if (route.kind !== 'waypoint') return;
  t.equal(route.waypoint.name, pod('waypoint').name);
  t.equal(route.service?.vip, '10.8.4.226');
  t.equal(route.servicePort?.port, 9080);
  t.equal(route.authority, '10.8.4.226:9080');
  t.equal(route.pod, undefined, 'the waypoint picks the endpoint');
  t.same(state.resolve(pod('sleep'), '10.8.4.226', 9080).kind, 'waypoint', 'by VIP too');
});

t.test('the waypoint itself is never looped back: it goes to an endpoint', async (t) => {
  const route = state.resolve(pod('waypoint'), 'productpage', 9080);
  t.equal(route.kind, 'hbone');
  if (route.kind !== 'hbone') return;
  t.equal(route.pod.ip, '10.4.0.5');
});

t.test('a service without a waypoint goes straight to a pod; a pod IP goes direct; the rest passes through', async (t) => {
  const details = state.resolve(pod('sleep'), 'details.default.svc.cluster.local', 9080);
  t.equal(details.kind, 'hbone');
  t.equal(state.resolve(pod('sleep'), '10.4.0.5', 9080).kind, 'hbone', 'pod IP');
  t.equal(state.resolve(pod('sleep'), '10.99.0.1', 80).kind, 'passthrough');
  t.equal(state.resolve(pod('sleep'), 'example.com', 443).kind, 'passthrough');
  t.equal(state.resolve(pod('sleep'), 'details', 1234).kind, 'unroutable', 'a port the service does not have');
});

t.test('round robin spreads a service over its pods', async (t) => {
  const seen = new Set<string>();
  for (let i = 0; i < 6; i++) {
    const r = state.resolve(pod('waypoint'), 'reviews', 9080);
    if (r.kind === 'hbone') seen.add(r.pod.name);
  }
  t.equal(seen.size, 3, 'reviews v1, v2 and v3 all chosen');
});

t.test('endpoints are found once per configuration; a push brings the new ones', async (t) => {
  const s = new MeshState(scenario);
  const reviews = scenario.services.find((x) => x.name === 'reviews')!;
  const first = s.endpointsOf(reviews);
  t.equal(first.length, 3);
  t.equal(s.endpointsOf(reviews), first, 'the same list, not found again');
  const order = Array.from({ length: 6 }, () => s.nextEndpointOf(reviews)!.name);
  t.same(order.slice(3), order.slice(0, 3), 'round robin, one step a request');
  t.equal(new Set(order).size, 3);
  const v1 = scenario.workloads.find((w) => w.name.startsWith('reviews-v1'))!;
  s.update({ ...scenario, workloads: [...scenario.workloads, { ...v1, name: 'reviews-v1-extra', ip: '10.4.0.250' }] });
  t.equal(s.endpointsOf(reviews).length, 4, 'after a push, the new pod is an endpoint');
  t.ok(s.endpointsOf(reviews).some((w) => w.name === 'reviews-v1-extra'));
});

t.test('a waypoint for workloads takes traffic addressed to a pod that uses it, by IP or through a Service', async (t) => {
  const withFor = (trafficFor: string, podLabel?: string, nsLabel?: string): Scenario => ({
    ...scenario,
    gateways: scenario.gateways.map((g) => ({ ...g, metadata: { ...g.metadata, labels: { ...g.metadata.labels, 'istio.io/waypoint-for': trafficFor } } })),
    workloads: scenario.workloads.map((w) =>
      w.name.startsWith('details') && podLabel ? { ...w, labels: { ...w.labels, 'istio.io/use-waypoint': podLabel } } : w,
    ),
    // The scenario's namespaces are enrolled (istio.io/dataplane-mode=ambient): keep that.
    namespaces: (scenario.namespaces ?? []).map((n) =>
      n.name === 'default' && nsLabel ? { ...n, labels: { ...n.labels, 'istio.io/use-waypoint': nsLabel } } : n,
    ),
  });
  const details = (s: Scenario) => s.workloads.find((w) => w.name.startsWith('details'))!;
  for (const [trafficFor, podLabel, nsLabel, expected] of [
    ['workload', 'waypoint', undefined, 'waypoint'],
    ['all', 'waypoint', undefined, 'waypoint'],
    ['workload', undefined, 'waypoint', 'waypoint'],
    ['workload', 'none', 'waypoint', undefined],
    ['service', 'waypoint', undefined, undefined],
    ['none', 'waypoint', undefined, undefined],
  ] as const) {
    const s = withFor(trafficFor, podLabel, nsLabel);
    t.equal(workloadWaypointOf(s, details(s)), expected, `waypoint-for ${trafficFor}, pod ${podLabel ?? '-'}, namespace ${nsLabel ?? '-'}`);
  }
  const s = withFor('workload', 'waypoint');
  const st = new MeshState(s);
  const byIp = st.resolve(pod('sleep'), details(s).ip, 9080);
  t.equal(byIp.kind, 'waypoint');
  if (byIp.kind === 'waypoint') {
    t.equal(byIp.authority, `${details(s).ip}:9080`, ":authority is the pod's ip:port");
    t.equal(byIp.pod?.name, details(s).name);
  }
  const byService = st.resolve(pod('sleep'), 'details', 9080);
  t.equal(byService.kind === 'waypoint' && byService.authority, `${details(s).ip}:9080`, 'a Service that picks the pod: to the waypoint, addressed to the pod');
  t.equal(st.resolve(pod('waypoint'), details(s).ip, 9080).kind, 'hbone', 'the waypoint itself goes to the pod');
  t.same(
    st.workloadsOfWaypoint(pod('waypoint')).map((w) => w.name),
    [details(s).name],
  );
  // What istiod pushed decides once it has: a pushed workload without a waypoint has none.
  const pushed = { ...details(s), tunnelProtocol: 'HBONE' as const };
  t.equal(st.waypointOfPod(pushed), undefined);
  t.equal(st.waypointOfPod({ ...pushed, waypoint: 'waypoint' })?.name, pod('waypoint').name);
});
