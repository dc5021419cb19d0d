// What Kubernetes' Deployment controller does, at the size of this simulator: keep `replicas`
// pods of the Deployment's template, named <deployment>-<pod-template-hash>-<suffix> and
// labelled pod-template-hash. A new template replaces the pods of the old one (as a rollout
// would, all at once); scaling adds pods on the least loaded node the template allows, or
// removes the newest. The pods of a scenario file's own workloads (grouped by their workload
// name) count as a Deployment too, so `scale deploy/reviews-v1` works on them as well.
import { createHash, randomInt } from 'node:crypto';
import type { Deployment, DeploymentDoc, Labels, PodTemplate, Scenario, Workload } from './model';
import { selects } from './model';
import { appForImage } from './images';
import { isProxyPod } from './app-kinds';
import { GENERATED_NAME_ALPHABET, replicaPodName, TEMPLATE_HASH_LENGTH } from './k8s-names';
import { MAX_WORKLOADS } from './limits';
import { freePodIp, placePod, Unschedulable } from './pod-placement';

export const LABEL_POD_TEMPLATE_HASH = 'pod-template-hash';

/** A Deployment as applied: its template resolved to the app its image runs. */
export function deploymentOf(doc: DeploymentDoc): { deployment: Deployment; note?: string } {
  const { spec } = doc.spec.template;
  const { app, note } = appForImage(spec.image, spec.ports[0]);
  const template: PodTemplate = {
    labels: doc.spec.template.labels,
    serviceAccount: spec.serviceAccountName,
    app,
    image: spec.image,
    ...(spec.nodeName ? { nodeName: spec.nodeName } : {}),
    ...(spec.nodeSelector ? { nodeSelector: spec.nodeSelector } : {}),
  };
  const { name, namespace, labels } = doc.metadata;
  return {
    deployment: { name, namespace, labels, replicas: doc.spec.replicas, selector: doc.spec.selector, template, templateHash: templateHash(template) },
    note,
  };
}

/** The pod-template-hash: the same template always gives the same one. */
export function templateHash(t: PodTemplate): string {
  const digest = createHash('sha256').update(JSON.stringify(t)).digest();
  return Array.from({ length: TEMPLATE_HASH_LENGTH }, (_, i) => GENERATED_NAME_ALPHABET[digest[i] % GENERATED_NAME_ALPHABET.length]).join('');
}

/** The pods a Deployment owns: its workload name, its namespace, its selector. */
export function podsOf(s: Scenario, d: Pick<Deployment, 'name' | 'namespace' | 'selector'>): Workload[] {
  return s.workloads.filter((w) => w.namespace === d.namespace && w.workloadName === d.name && selects(d.selector, w.labels));
}

/**
 * The Deployment `name`: applied, or the group of a scenario file's pods of that workload name;
 * with `waypoints`, a waypoint's too (which its Gateway owns: listed, never scaled).
 */
export function findDeployment(s: Scenario, namespace: string, name: string, waypoints = false): Deployment | undefined {
  const applied = s.deployments?.find((d) => d.namespace === namespace && d.name === name);
  if (applied) return applied;
  const pods = s.workloads.filter((w) => w.namespace === namespace && w.workloadName === name && (waypoints || !isProxyPod(w)));
  if (pods.length === 0) return undefined;
  // The scenario's pods are the template: their labels select them, their app is what they run.
  const first = pods[0];
  const labels = withoutHash(first.labels);
  const template: PodTemplate = { labels, serviceAccount: first.serviceAccount, app: first.app };
  return { name, namespace, labels: {}, replicas: pods.length, selector: labels, template, templateHash: templateHash(template) };
}

/**
 * The scenario with `d` stored and its pods made to match: pods of another template are
 * replaced, surplus ones removed (newest first), missing ones created.
 */
export function reconcile(s: Scenario, d: Deployment, pick: (n: number) => number = randomInt): Scenario {
  const deployments = [...(s.deployments ?? []).filter((x) => !(x.namespace === d.namespace && x.name === d.name)), d];
  const owned = podsOf(s, d);
  const current = owned.filter((w) => matchesTemplate(w, d));
  const keep = current.slice(0, d.replicas);
  const gone = new Set(owned.filter((w) => !keep.includes(w)));
  let next: Scenario = { ...s, deployments, workloads: s.workloads.filter((w) => !gone.has(w)) };
  // Refused as a whole, before any replica is placed: a scale past the cap could otherwise first
  // run out of node addresses (a node's /24) and be refused for that instead.
  const wanted = next.workloads.length + d.replicas - keep.length;
  if (wanted > MAX_WORKLOADS)
    throw new Unschedulable(
      `the mesh would have ${wanted} pods, more than the ${MAX_WORKLOADS} it runs on this machine (MAX_WORKLOADS in src/mesh/limits.ts): deployment ${d.name} not scaled to ${d.replicas}`,
    );
  for (let n = keep.length; n < d.replicas; n++) next = { ...next, workloads: [...next.workloads, newReplica(next, d, pick)] };
  return next;
}

/** The scenario without Deployment `d` and its pods. */
export function removeDeployment(s: Scenario, d: Deployment): Scenario {
  const owned = new Set(podsOf(s, d));
  return {
    ...s,
    deployments: (s.deployments ?? []).filter((x) => !(x.namespace === d.namespace && x.name === d.name)),
    workloads: s.workloads.filter((w) => !owned.has(w)),
  };
}

/** A pod is of the template when it runs the same app as the same identity with the same labels. */
function matchesTemplate(w: Workload, d: Deployment): boolean {
  const t = d.template;
  const hash = w.labels[LABEL_POD_TEMPLATE_HASH];
  if (hash !== undefined) return hash === d.templateHash;
  // A scenario file's pod carries no hash: it is current while it is what the template says.
  return w.serviceAccount === t.serviceAccount && w.app.kind === t.app.kind && w.app.port === t.app.port && sameLabels(w.labels, t.labels);
}

function newReplica(s: Scenario, d: Deployment, pick: (n: number) => number): Workload {
  const node = placePod(s, d.template);
  return {
    name: replicaPodName(d.name, d.templateHash, new Set(s.workloads.map((w) => w.name)), pick),
    namespace: d.namespace,
    serviceAccount: d.template.serviceAccount,
    node,
    ip: freePodIp(s, node),
    labels: { ...d.template.labels, [LABEL_POD_TEMPLATE_HASH]: d.templateHash },
    app: d.template.app,
    workloadName: d.name,
  };
}

function withoutHash(labels: Labels): Labels {
  const { [LABEL_POD_TEMPLATE_HASH]: _hash, ...rest } = labels;
  return rest;
}

function sameLabels(a: Labels, b: Labels): boolean {
  const x = withoutHash(a);
  return Object.keys(x).length === Object.keys(b).length && Object.entries(b).every(([k, v]) => x[k] === v);
}
