// The API server's store for Kubernetes kinds: kubectl's words for each apply and delete, a
// Service's VIP kept for its life, a Deployment's pods following apply, scale and delete, a
// namespace taking everything in it when deleted, and the refusals that change nothing.
import t from 'tap';
import { Conflict, LiveConfig, NotFound } from '../../src/runner/live-config';
import { readManifests } from '../../src/mesh/manifests';
import { emptyClusterYaml } from '../../src/mesh/empty-cluster';
import { MeshState } from '../../src/mesh/state';
import { load } from '../mesh/fixtures/scenario-text';
import { bookinfoYaml, curlYaml } from '../fixtures/sample-manifests';

const manifests = (text: string) => readManifests([{ file: 'm.yaml', text }]).manifests;
const lines = (rs: { line: string }[]) => rs.map((r) => r.line);
const live = () => new LiveConfig(load(emptyClusterYaml(3)));

t.test('the samples applied: kubectl lines, pods for every Deployment, endpoints for every Service', async (t) => {
  const config = live();
  const out = lines(config.apply(manifests(bookinfoYaml() + curlYaml())));
  t.same(out.slice(0, 3), ['service/details created', 'serviceaccount/bookinfo-details created', 'deployment.apps/details-v1 created']);
  t.equal(out.length, 17);
  const s = config.scenario;
  t.equal(s.workloads.length, 7);
  const state = new MeshState(s);
  t.same(
    state.endpointsOf(s.services.find((x) => x.name === 'reviews')!).map((w) => w.workloadName),
    ['reviews-v1', 'reviews-v2', 'reviews-v3'],
  );
  const curl = s.workloads.find((w) => w.workloadName === 'curl')!;
  t.same(curl.app, { kind: 'sleep', port: 80 }, "curl's image runs the client `exec` drives");
  t.equal(curl.serviceAccount, 'curl');
  t.same(
    lines(config.apply(manifests(bookinfoYaml()))).filter((l) => !l.endsWith(' unchanged')),
    [],
    'applied again: all unchanged',
  );
  t.same(config.scenario, s);
});

t.test("a Service keeps its VIP; its ports and selector change; clusterIP can't", async (t) => {
  const config = live();
  config.apply(manifests(curlYaml()));
  const vip = config.scenario.services[0].vip;
  const changed = curlYaml().replace(
    '  - port: 80\n    name: http\n',
    '  - port: 80\n    name: http\n    appProtocol: http\n  - port: 8080\n    name: tcp-alt\n',
  );
  t.same(lines(config.apply(manifests(changed))).slice(0, 3), ['serviceaccount/curl unchanged', 'service/curl configured', 'deployment.apps/curl unchanged']);
  t.equal(config.scenario.services[0].vip, vip);
  t.same(
    config.scenario.services[0].ports.map((p) => p.port),
    [80, 8080],
  );
  const pinned = changed.replace('spec:\n  ports:', 'spec:\n  clusterIP: 10.96.0.9\n  ports:');
  t.throws(() => config.apply(manifests(pinned)), Conflict);
  t.equal(config.scenario.services[0].vip, vip, 'nothing changed');
});

t.test('scale, and delete: pods follow', async (t) => {
  const config = live();
  config.apply(manifests(bookinfoYaml()));
  t.same(config.scale('default', 'reviews-v1', 3), { line: 'deployment.apps/reviews-v1 scaled', outcome: 'configured' });
  t.equal(config.scenario.workloads.filter((w) => w.workloadName === 'reviews-v1').length, 3);
  config.scale('default', 'reviews-v1', 0);
  t.equal(config.scenario.workloads.filter((w) => w.workloadName === 'reviews-v1').length, 0);
  t.equal(config.scenario.deployments?.find((d) => d.name === 'reviews-v1')?.replicas, 0, 'the Deployment stays, at 0');
  t.throws(() => config.scale('default', 'nope', 1), NotFound);
  const reviewsV2 = manifests(bookinfoYaml()).filter((m) => m.doc.metadata.name === 'reviews-v2' && m.kind === 'Deployment');
  t.same(lines(config.delete(reviewsV2)), ['deployment.apps "reviews-v2" deleted']);
  t.notOk(config.scenario.workloads.some((w) => w.workloadName === 'reviews-v2'));
  t.throws(() => config.delete(reviewsV2), NotFound);
});

t.test('namespaces: applied with labels, deleted with everything in them', async (t) => {
  const config = live();
  const ns = 'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: shop\n  labels: { istio.io/dataplane-mode: ambient }\n';
  t.same(lines(config.apply(manifests(ns))), ['namespace/shop created']);
  t.same(lines(config.apply(manifests(ns))), ['namespace/shop unchanged']);
  t.same(config.scenario.namespaces, [{ name: 'shop', labels: { 'istio.io/dataplane-mode': 'ambient' } }]);
  t.same(lines(config.apply(manifests('apiVersion: v1\nkind: Namespace\nmetadata:\n  name: default\n'))), ['namespace/default unchanged']);
  config.apply(readManifests([{ file: 'b.yaml', text: bookinfoYaml() }], { namespace: 'shop' }).manifests);
  config.apply(manifests(curlYaml()));
  t.equal(config.scenario.workloads.length, 7);
  t.same(lines(config.delete(manifests(ns))), ['namespace "shop" deleted']);
  t.same(
    config.scenario.workloads.map((w) => `${w.namespace}/${w.workloadName}`),
    ['default/curl'],
    "everything of shop is gone, default's stays",
  );
  t.equal(config.scenario.services.length, 1);
  t.throws(() => config.delete(manifests('apiVersion: v1\nkind: Namespace\nmetadata:\n  name: default\n')), {
    message: 'namespaces "default" is forbidden: this namespace may not be deleted',
  });
  t.throws(() => config.delete(manifests(ns)), NotFound);
});

t.test('a refused object in a batch changes nothing', async (t) => {
  const config = live();
  const before = config.scenario;
  const pinned = curlYaml().replace('spec:\n  ports:', 'spec:\n  clusterIP: 10.244.0.1\n  ports:');
  t.throws(() => config.apply(manifests(pinned)), { message: /provided IP is already allocated/ });
  t.equal(config.scenario, before);
  const unplaceable = curlYaml().replace('      serviceAccountName: curl\n', '      serviceAccountName: curl\n      nodeSelector: { disk: ssd }\n');
  t.throws(() => config.apply(manifests(unplaceable)), { message: /0\/3 nodes are available/ });
  t.equal(config.scenario, before);
});
