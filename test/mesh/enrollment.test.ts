// Ambient enrollment: the namespace's istio.io/dataplane-mode, a pod's own label over it, a
// scenario's namespaces enrolled at load, and what follows: istiod's tunnel protocol for each
// workload, and resolution to plain TCP for a pod outside the mesh.
import t from 'tap';
import { enrolledNamespaces, inMesh } from '../../src/mesh/enrollment';
import { MeshState, tunnelProtocolOf, useWaypointOf, withWaypointBinding } from '../../src/mesh/state';
import { buildSnapshot } from '../../src/istiod/resources';
import { TYPE_ADDRESS } from '../../src/xds/types';
import { addressHandler } from '../../src/xds/mesh-handlers';
import type { Scenario } from '../../src/mesh/model';
import { BASE, load } from './fixtures/scenario-text';

const ambient = { 'istio.io/dataplane-mode': 'ambient' };
const none = { 'istio.io/dataplane-mode': 'none' };

t.test('the namespace decides, a pod label overrides', async (t) => {
  const ns = { namespaces: [{ name: 'default', labels: ambient }] };
  t.equal(inMesh(ns, { namespace: 'default', labels: {} }), true);
  t.equal(inMesh(ns, { namespace: 'default', labels: none }), false, 'none opts a pod out');
  t.equal(inMesh(ns, { namespace: 'other', labels: {} }), false, 'an unlabelled namespace is outside');
  t.equal(inMesh(ns, { namespace: 'other', labels: ambient }), true, 'a pod may enroll itself');
  t.equal(inMesh({}, { namespace: 'default', labels: {} }), false);
  t.same(enrolledNamespaces([{ namespace: 'b' }, { namespace: 'a' }, { namespace: 'b' }]), [
    { name: 'a', labels: ambient },
    { name: 'b', labels: ambient },
  ]);
});

t.test("a scenario's namespaces start enrolled", async (t) => {
  const s = load(BASE);
  t.same(s.namespaces, [{ name: 'default', labels: ambient }]);
  const state = new MeshState(s);
  t.equal(state.speaksHbone(state.pod('echo')!), true);
});

t.test('a pod outside the mesh is reached as plain TCP; istiod says so in its tunnel protocol', async (t) => {
  const base = load(BASE);
  const out: Scenario = { ...base, workloads: base.workloads.map((w) => (w.name === 'echo' ? { ...w, labels: { ...w.labels, ...none } } : w)) };
  const state = new MeshState(out);
  const sleep = state.pod('sleep')!;
  const route = state.resolve(sleep, 'echo', 8080);
  t.equal(route.kind, 'direct');
  t.equal(route.kind === 'direct' && route.pod.name, 'echo');
  t.equal(state.resolve(sleep, '10.4.2.5', 8080).kind, 'direct', 'by pod address too');
  t.equal(new MeshState(base).resolve(sleep, 'echo', 8080).kind, 'hbone');

  const address = buildSnapshot(out).get(TYPE_ADDRESS)!;
  const body = (name: string) => (address.get(`Kubernetes//Pod/default/${name}`)!.resource as { workload: { tunnelProtocol: string } }).workload;
  t.equal(body('echo').tunnelProtocol, 'NONE');
  t.equal(body('sleep').tunnelProtocol, 'HBONE');
  // A proxy takes istiod's verdict as it is, without the namespaces it was made from.
  const proxyState = new MeshState({ ...base, namespaces: undefined });
  addressHandler(proxyState).apply(address, 'v1');
  t.equal(tunnelProtocolOf(proxyState.scenario, proxyState.pod('echo')!), 'NONE');
  t.equal(proxyState.speaksHbone(proxyState.pod('sleep')!), true);
});

t.test('istio.io/waypoint-for: only a waypoint for service traffic takes a Service', async (t) => {
  const base = load(BASE);
  const gw = (trafficFor?: string) => ({
    apiVersion: 'gateway.networking.k8s.io/v1',
    kind: 'Gateway' as const,
    metadata: { name: 'waypoint', namespace: 'default', ...(trafficFor ? { labels: { 'istio.io/waypoint-for': trafficFor } } : {}) },
    spec: { gatewayClassName: 'istio-waypoint' },
    origin: 't.yaml:1',
  });
  const bound = { ...base, namespaces: [{ name: 'default', labels: { 'istio.io/use-waypoint': 'waypoint' } }] };
  const echo = base.services[0];
  for (const [trafficFor, want] of [
    [undefined, 'waypoint'],
    ['service', 'waypoint'],
    ['all', 'waypoint'],
    ['workload', undefined],
    ['none', undefined],
  ] as const) {
    const s = { ...bound, gateways: [gw(trafficFor)] };
    t.equal(useWaypointOf(s, echo), want, `waypoint-for ${trafficFor ?? '(unset)'}`);
    t.equal(withWaypointBinding(s, echo).labels['istio.io/use-waypoint'], want, 'and istiod pushes the Service so');
  }
  // The Service's own label pointing at a waypoint for workloads: pushed without it.
  const own = { ...echo, labels: { 'istio.io/use-waypoint': 'waypoint' } };
  t.same(withWaypointBinding({ ...base, gateways: [gw('workload')] }, own).labels, {});
  t.equal(useWaypointOf({ ...bound, gateways: [gw()] }, { ...echo, labels: { 'istio.io/use-waypoint': 'none' } }), 'none', 'none opts out');
});

t.test("istiod resolves a pod's waypoint (Workload.waypoint), and a proxy takes it as pushed", async (t) => {
  const base = load(BASE);
  const gw = (trafficFor: string) => ({
    apiVersion: 'gateway.networking.k8s.io/v1',
    kind: 'Gateway' as const,
    metadata: { name: 'waypoint', namespace: 'default', labels: { 'istio.io/waypoint-for': trafficFor } },
    spec: { gatewayClassName: 'istio-waypoint' },
    origin: 't.yaml:1',
  });
  const waypointPod = {
    ...base.workloads[0],
    name: 'waypoint-x',
    ip: '10.4.2.9',
    labels: { 'gateway.networking.k8s.io/gateway-name': 'waypoint' },
    app: { kind: 'waypoint', port: 15008 },
  };
  const bound = {
    ...base,
    workloads: [...base.workloads, waypointPod],
    // Enrolled (as a scenario's namespaces are) and bound to the waypoint.
    namespaces: [
      ...(base.namespaces ?? []).filter((n) => n.name !== 'default'),
      { name: 'default', labels: { 'istio.io/dataplane-mode': 'ambient', 'istio.io/use-waypoint': 'waypoint' } },
    ],
  };
  const pushed = (s: Scenario, name: string) =>
    (buildSnapshot(s).get(TYPE_ADDRESS)!.get(`Kubernetes//Pod/default/${name}`)!.resource as { workload: { waypoint?: string } }).workload.waypoint;
  t.equal(pushed({ ...bound, gateways: [gw('workload')] }, 'echo'), 'waypoint', 'the namespace label, a waypoint for workloads');
  t.equal(pushed({ ...bound, gateways: [gw('all')] }, 'echo'), 'waypoint');
  t.equal(pushed({ ...bound, gateways: [gw('service')] }, 'echo'), undefined, 'a waypoint for services takes no pod');
  t.equal(pushed({ ...bound, gateways: [gw('workload')] }, 'waypoint-x'), undefined, 'never the waypoint itself');
  const optedOut = {
    ...bound,
    gateways: [gw('workload')],
    workloads: bound.workloads.map((w) => (w.name === 'echo' ? { ...w, labels: { ...w.labels, 'istio.io/use-waypoint': 'none' } } : w)),
  };
  t.equal(pushed(optedOut, 'echo'), undefined, 'none on the pod opts it out');

  // A proxy's state from the push: the binding is in the Workload, namespaces and Gateways are not pushed.
  const proxyState = new MeshState({ ...base, namespaces: undefined, gateways: [] });
  addressHandler(proxyState).apply(buildSnapshot({ ...bound, gateways: [gw('workload')] }).get(TYPE_ADDRESS)!, 'v1');
  t.equal(proxyState.waypointOfPod(proxyState.pod('echo')!)?.name, 'waypoint-x');
  const route = proxyState.resolve(proxyState.pod('sleep')!, 'echo', 8080);
  t.equal(route.kind === 'waypoint' && route.authority, '10.4.2.5:8080', "ztunnel sends echo's traffic to the waypoint, addressed to the pod");
});
