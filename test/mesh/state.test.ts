// How ztunnel resolves an original destination, waypoints included.
import t from 'tap';
import { loadScenario } from '../../src/mesh/load';
import { MeshState } from '../../src/mesh/state';

const scenario = loadScenario('bookinfo');
const state = new MeshState(scenario);
const pod = (prefix: string) => scenario.workloads.find((w) => w.name.startsWith(prefix))!;

t.test('a service bound to a waypoint resolves to the waypoint, with the VIP:port kept', async (t) => {
  const route = state.resolve(pod('sleep'), 'productpage', 9080);
  t.equal(route.kind, 'waypoint');
  if (route.kind !== 'waypoint') return;
  t.equal(route.waypoint.name, pod('waypoint').name);
  t.equal(route.service.vip, '10.8.4.226');
  t.equal(route.servicePort.port, 9080);
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
