// The API server's store: apply and delete of AuthorizationPolicies, HTTPRoutes and Gateways,
// kubectl's created/configured/unchanged/deleted, and a waypoint Gateway that brings its pod
// (named, placed and addressed as Istio's controller and the scheduler would) and takes it away.
import t from 'tap';
import { Conflict, LiveConfig, NotFound, waypointPodOf } from '../../src/runner/live-config';
import { MeshState, useWaypointOf, withWaypointBinding } from '../../src/mesh/state';
import { readManifests } from '../../src/mesh/manifests';
import { NoAddress, waypointPodFor } from '../../src/mesh/waypoint-pod';
import type { GatewayDoc, Scenario } from '../../src/mesh/model';
import { BASE, load } from '../mesh/fixtures/scenario-text';
import { MAX_WORKLOADS } from '../../src/mesh/limits';

const gateway = (name: string, extra = '') => `apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata:
  name: ${name}
  namespace: default
${extra}spec:
  gatewayClassName: istio-waypoint
  listeners: [ { name: mesh, port: 15008, protocol: HBONE } ]
`;
const manifests = (text: string) => readManifests([{ file: 'm.yaml', text }]).manifests;

t.test('a waypoint Gateway brings its pod and takes it away', async (t) => {
  const persisted: Scenario[] = [];
  const live = new LiveConfig(load(BASE), (s) => persisted.push(s));
  t.same(
    live.apply(manifests(gateway('waypoint'))).map((r) => r.line),
    ['gateway.gateway.networking.k8s.io/waypoint created'],
  );
  const gw = live.scenario.gateways[0];
  const pod = waypointPodOf(live.scenario, gw)!;
  t.ok(pod, 'its pod');
  t.match(pod.name, /^waypoint-[bcdfghjklmnpqrstvwxz2456789]{10}-[bcdfghjklmnpqrstvwxz2456789]{5}$/);
  t.equal(pod.serviceAccount, 'waypoint', "the Gateway's name is its service account");
  t.same(pod.labels, { 'gateway.networking.k8s.io/gateway-name': 'waypoint', 'gateway.istio.io/managed': 'istio.io-mesh-controller' });
  t.equal(pod.workloadName, 'waypoint');
  t.same(pod.app, { kind: 'waypoint', port: 15008 });
  t.equal(persisted.length, 1, 'written for istiod before it is pushed');

  t.same(
    live.apply(manifests(gateway('waypoint'))).map((r) => r.line),
    ['gateway.gateway.networking.k8s.io/waypoint unchanged'],
  );
  const annotated = gateway('waypoint', '  annotations: { istio.io/service-account: wp }\n');
  t.same(
    live.apply(manifests(annotated)).map((r) => r.line),
    ['gateway.gateway.networking.k8s.io/waypoint configured'],
  );
  t.equal(waypointPodOf(live.scenario, live.scenario.gateways[0])!.name, pod.name, 'a changed Gateway keeps its pod');

  const other = gateway('ingress').replace('istio-waypoint', 'example');
  live.apply(manifests(other));
  t.equal(live.scenario.workloads.filter((w) => w.app.kind === 'waypoint').length, 1, 'a Gateway of another class gets no waypoint pod');
  live.apply(manifests(gateway('waypoint').replace('istio-waypoint', 'example')));
  t.equal(live.scenario.workloads.filter((w) => w.app.kind === 'waypoint').length, 0, 'one no longer of class istio-waypoint loses it');
  live.apply(manifests(gateway('waypoint')));

  t.same(
    live.delete(manifests(gateway('waypoint'))).map((r) => r.line),
    ['gateway.gateway.networking.k8s.io "waypoint" deleted'],
  );
  t.equal(live.scenario.workloads.filter((w) => w.app.kind === 'waypoint').length, 0, 'its pod went with it');
  t.same(
    live.scenario.gateways.map((g) => g.metadata.name),
    ['ingress'],
  );
  t.throws(() => live.delete(manifests(gateway('waypoint'))), new NotFound('gateways.gateway.networking.k8s.io "waypoint" not found in namespace default'));
});

t.test('the pod goes to the node with the fewest pods, at a free address of its pods', async (t) => {
  const s = load(BASE);
  const gw = manifests(gateway('waypoint'))[0].doc as GatewayDoc;
  // node-a and node-b have one pod each: the first of them wins, at the next address of its pods.
  const first = waypointPodFor(gw, s);
  t.equal(first.node, 'node-a');
  t.equal(first.ip, '10.4.1.1');
  const two = { ...s, workloads: [...s.workloads, first] };
  const second = waypointPodFor(gw, two);
  t.equal(second.node, 'node-b');
  t.equal(second.ip, '10.4.2.1');
  // A node with no pods takes 10.a.<index + 1>.x of its own block.
  const empty = load('name: e\nnodes:\n  - { name: kind-control-plane, ip: 10.244.0.1 }\n  - { name: kind-worker, ip: 10.244.0.2 }\n');
  t.equal(waypointPodFor(gw, empty).ip, '10.244.1.1');
  // A name already taken is drawn again.
  let draws = 0;
  const pick = () => (draws++ < 15 ? 0 : 1);
  const clash = { ...s, workloads: [...s.workloads, { ...first, name: 'waypoint-bbbbbbbbbb-bbbbb' }] };
  t.equal(waypointPodFor(gw, clash, pick).name.startsWith('waypoint-bbbbbbbbbb-bbbbb'), false);
  // A full range is said to be full.
  const full = {
    ...empty,
    workloads: Array.from({ length: 254 }, (_, i) => ({ ...first, name: `p${i}`, node: 'kind-control-plane', ip: `10.244.1.${i + 1}` })),
  };
  t.throws(() => waypointPodFor(gw, { ...full, nodes: [full.nodes[0]] }), NoAddress);
});

t.test('label namespace: istio.io/use-waypoint binds the Services that name no waypoint themselves', async (t) => {
  const live = new LiveConfig(load(BASE));
  live.apply(manifests(gateway('waypoint')));
  const echo = () => live.scenario.services.find((s) => s.name === 'echo')!;
  t.equal(useWaypointOf(live.scenario, echo()), undefined);
  t.same(live.labelNamespace('default', { 'istio.io/use-waypoint': 'waypoint' }, false), { line: 'namespace/default labeled', outcome: 'configured' });
  t.equal(useWaypointOf(live.scenario, echo()), 'waypoint');
  t.equal(new MeshState(live.scenario).waypointOf(echo())?.labels['gateway.networking.k8s.io/gateway-name'], 'waypoint');
  t.same(withWaypointBinding(live.scenario, echo()).labels, { 'istio.io/use-waypoint': 'waypoint' }, 'istiod pushes the binding on the Service');
  t.same(live.labelNamespace('default', { 'istio.io/use-waypoint': 'waypoint' }, false).line, 'namespace/default not labeled');
  t.throws(
    () => live.labelNamespace('default', { 'istio.io/use-waypoint': 'other' }, false),
    new Conflict("'istio.io/use-waypoint' already has a value (waypoint), and --overwrite is false"),
  );
  // A Service's own label wins, none included.
  live.labelService('default', 'echo', { 'istio.io/use-waypoint': 'none' }, false);
  t.equal(new MeshState(live.scenario).waypointOf(echo()), undefined, 'none opts the Service out');
  t.same(withWaypointBinding(live.scenario, echo()), echo());
  t.same(live.labelNamespace('default', { 'istio.io/use-waypoint': null }, false).line, 'namespace/default unlabeled');
  t.same(live.scenario.namespaces, [{ name: 'default', labels: { 'istio.io/dataplane-mode': 'ambient' } }], "the scenario's enrollment stays");
  live.labelNamespace('default', { 'istio.io/dataplane-mode': null }, false);
  t.same(live.scenario.namespaces, [], 'no labels left, no entry kept');
  t.throws(() => live.labelNamespace('nope', { a: 'b' }, false), new NotFound('namespaces "nope" not found'));
});

t.test('pods applied live stay within the mesh limit and the node range', async (t) => {
  const pod = (name: string, node = '') => `apiVersion: v1
kind: Pod
metadata: { name: ${name} }
spec:
${node}  containers: [ { name: c, image: hashicorp/http-echo } ]
`;
  const base = load(BASE);
  const full = new LiveConfig({
    ...base,
    workloads: Array.from({ length: MAX_WORKLOADS }, (_, i) => ({
      ...base.workloads[0],
      name: `p${i}`,
      ip: `10.4.${10 + Math.floor(i / 200)}.${1 + (i % 200)}`,
    })),
  });
  t.throws(() => full.apply(manifests(pod('one-more'))), new RegExp(`the mesh has ${MAX_WORKLOADS} pods, the most it runs on this machine \\(MAX_WORKLOADS`));
  const live = new LiveConfig(load(BASE));
  t.same(
    live.apply(manifests(pod('a'))).map((r) => r.line),
    ['pod/a created'],
  );
  t.throws(() => live.apply(manifests(pod('b', '  nodeName: node-z\n'))), new NotFound('nodes "node-z" not found (the pod\'s spec.nodeName)'));
  t.throws(() => live.apply(manifests(pod('a').replace('hashicorp/http-echo', 'curlimages/curl'))), /The Pod "a" is invalid/, 'a pod changes its labels only');
  t.same(
    live.apply(manifests(pod('c').replace('hashicorp/http-echo', 'nginx'))).map((r) => r.line),
    ['pod/c created', "pod/c: image nginx is not in hbone-sim's table: the pod runs a plain TCP echo on port 8080"],
  );
  t.same(
    live.delete(manifests(pod('a'))).map((r) => r.line),
    ['pod "a" deleted'],
  );
  t.throws(() => live.delete(manifests(pod('a'))), new NotFound('pods "a" not found in namespace default'));
});

t.test('waypoints applied live stay within MAX_WAYPOINTS: each is a process', async (t) => {
  const live = new LiveConfig(load(BASE));
  for (let i = 0; i < 16; i++) live.apply(manifests(gateway(`wp-${i}`)));
  t.equal(live.scenario.workloads.filter((w) => w.app.kind === 'waypoint').length, 16);
  t.throws(() => live.apply(manifests(gateway('wp-16'))), /the mesh runs 16 waypoints and gateways, each a process, the most it starts here \(MAX_WAYPOINTS/);
  t.notOk(
    live.scenario.gateways.some((g) => g.metadata.name === 'wp-16'),
    'nothing applied',
  );
});
