// The Deployment controller's part: replicas made and named as Kubernetes names them, spread
// and addressed as the scheduler and IPAM would, a new template replacing old pods, scaling
// down removing the newest, a scenario's own pods adopted, and the limits said.
import t from 'tap';
import { deploymentOf, findDeployment, LABEL_POD_TEMPLATE_HASH, podsOf, reconcile, removeDeployment, templateHash } from '../../src/mesh/deployment-controller';
import { readManifests } from '../../src/mesh/manifests';
import { emptyClusterYaml } from '../../src/mesh/empty-cluster';
import type { DeploymentDoc, Scenario } from '../../src/mesh/model';
import { MAX_WORKLOADS } from '../../src/mesh/limits';
import { load } from './fixtures/scenario-text';
import { bookinfoYaml } from '../fixtures/sample-manifests';

const empty = (): Scenario => load(emptyClusterYaml(3));
const docs = (text: string) =>
  readManifests([{ file: 'm.yaml', text }])
    .manifests.filter((m) => m.kind === 'Deployment')
    .map((m) => m.doc as DeploymentDoc);
const reviewsV1 = () => docs(bookinfoYaml()).find((d) => d.metadata.name === 'reviews-v1')!;
const NAME = /^reviews-v1-[bcdfghjklmnpqrstvwxz2456789]{10}-[bcdfghjklmnpqrstvwxz2456789]{5}$/;

t.test('replicas are made, named <deployment>-<hash>-<suffix>, spread and addressed', async (t) => {
  const { deployment, note } = deploymentOf(reviewsV1());
  t.equal(note, undefined, 'a bookinfo image is in the table');
  t.same(deployment.template.app, { kind: 'reviews', port: 9080 });
  const s = reconcile(empty(), { ...deployment, replicas: 3 });
  const pods = podsOf(s, deployment);
  t.equal(pods.length, 3);
  for (const p of pods) {
    t.match(p.name, NAME);
    t.ok(p.name.startsWith(`reviews-v1-${deployment.templateHash}-`), 'the template hash is in the name');
    t.same(p.labels, { app: 'reviews', version: 'v1', [LABEL_POD_TEMPLATE_HASH]: deployment.templateHash });
    t.equal(p.serviceAccount, 'bookinfo-reviews');
    t.equal(p.workloadName, 'reviews-v1');
  }
  t.same(pods.map((p) => p.node).sort(), ['kind-control-plane', 'kind-worker', 'kind-worker2'], 'one per node: the fewest pods first');
  t.same(
    pods.map((p) => p.ip),
    ['10.244.1.1', '10.244.2.1', '10.244.3.1'],
    "each from its node's range",
  );
  t.same(s.deployments, [{ ...deployment, replicas: 3 }]);
  t.equal(templateHash(deployment.template), deployment.templateHash, 'the same template, the same hash');
});

t.test('scaling down removes the newest; a new template replaces every pod', async (t) => {
  const { deployment } = deploymentOf(reviewsV1());
  const three = reconcile(empty(), { ...deployment, replicas: 3 });
  const before = podsOf(three, deployment);
  const one = reconcile(three, { ...deployment, replicas: 1 });
  t.same(
    podsOf(one, deployment).map((p) => p.name),
    [before[0].name],
    'the oldest stays',
  );
  const changed = deploymentOf({
    ...reviewsV1(),
    spec: { ...reviewsV1().spec, template: { ...reviewsV1().spec.template, spec: { ...reviewsV1().spec.template.spec, serviceAccountName: 'other' } } },
  }).deployment;
  t.not(changed.templateHash, deployment.templateHash);
  const rolled = reconcile(one, changed);
  const now = podsOf(rolled, changed);
  t.equal(now.length, 1);
  t.not(now[0].name, before[0].name, 'a pod of the new template');
  t.equal(now[0].serviceAccount, 'other');
  t.same(podsOf(removeDeployment(rolled, changed), changed), [], 'deleting it removes its pods');
  t.same(removeDeployment(rolled, changed).deployments, []);
});

t.test("a scenario's own pods are a Deployment by workload name, adopted when they match", async (t) => {
  const s = load(`name: t
nodes:
  - { name: node-a, ip: 10.1.0.1 }
workloads:
  - { name: reviews-v1-74fb8fdbd8-qz9l2, namespace: default, serviceAccount: bookinfo-reviews, node: node-a, ip: 10.4.1.4, labels: { app: reviews, version: v1 }, run: { app: reviews, port: 9080 } }
`);
  const found = findDeployment(s, 'default', 'reviews-v1')!;
  t.equal(found.replicas, 1);
  t.same(found.selector, { app: 'reviews', version: 'v1' });
  const scaled = reconcile(s, { ...found, replicas: 2 });
  t.same(
    podsOf(scaled, found).map((p) => p.name.startsWith('reviews-v1-')),
    [true, true],
  );
  t.equal(podsOf(scaled, found)[0].name, 'reviews-v1-74fb8fdbd8-qz9l2', 'the scenario pod is kept');
  t.equal(podsOf(scaled, found)[1].ip, '10.4.1.1', "the new one gets an address of the node's pod range");
  // bookinfo.yaml's reviews-v1 applied over it: the same app, identity and labels: adopted.
  const applied = reconcile(s, deploymentOf(reviewsV1()).deployment);
  t.same(
    applied.workloads.map((w) => w.name),
    ['reviews-v1-74fb8fdbd8-qz9l2'],
  );
  t.equal(findDeployment(s, 'default', 'nope'), undefined);
});

t.test('placement: nodeName, nodeSelector, and what cannot be placed', async (t) => {
  const { deployment } = deploymentOf(reviewsV1());
  const pinned = reconcile(empty(), { ...deployment, replicas: 2, template: { ...deployment.template, nodeName: 'kind-worker2' } });
  t.same(
    podsOf(pinned, deployment).map((p) => p.node),
    ['kind-worker2', 'kind-worker2'],
  );
  const selected = reconcile(empty(), {
    ...deployment,
    replicas: 2,
    template: { ...deployment.template, nodeSelector: { 'kubernetes.io/hostname': 'kind-worker' } },
  });
  t.same(
    podsOf(selected, deployment).map((p) => p.node),
    ['kind-worker', 'kind-worker'],
  );
  t.throws(() => reconcile(empty(), { ...deployment, template: { ...deployment.template, nodeSelector: { disk: 'ssd' } } }), {
    message: "0/3 nodes are available: 3 node(s) didn't match Pod's node affinity/selector",
  });
  t.throws(() => reconcile(empty(), { ...deployment, template: { ...deployment.template, nodeName: 'gone' } }), {
    name: 'NoSuchNode',
    message: /nodes "gone" not found/,
  });
  // Refused as a whole, naming the cap, before the nodes' /24s could run out of addresses.
  t.throws(() => reconcile(empty(), { ...deployment, replicas: MAX_WORKLOADS + 1 }), {
    name: 'Unschedulable',
    message: `the mesh would have ${MAX_WORKLOADS + 1} pods, more than the ${MAX_WORKLOADS} it runs on this machine (MAX_WORKLOADS in src/mesh/limits.ts): deployment ${deployment.name} not scaled to ${MAX_WORKLOADS + 1}`,
  });
});
