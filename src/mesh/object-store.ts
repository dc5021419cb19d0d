// The API server's store as pure functions on the mesh's configuration: one object applied
// (kubectl's created / configured / unchanged) or deleted, each refusing what the API server
// would refuse (NotFound, Conflict) and changing nothing then. The running mesh's LiveConfig
// (src/runner/live-config.ts) and a scenario file's `manifests:` both apply objects this way.
// A waypoint Gateway brings its pod (src/mesh/waypoint-pod.ts), an ingress Gateway its pod and
// Service (src/mesh/ingress-gateway.ts), and each takes them away when deleted.
import { randomInt } from 'node:crypto';
import type { AuthorizationPolicyDoc, GatewayDoc, HttpRouteDoc, PodDoc, Scenario, Workload } from './model';
import { LABEL_GATEWAY_NAME, WAYPOINT_GATEWAY_CLASS } from './model';
import { DEFAULT_NAMESPACE, HTTPROUTE_KIND, Manifest } from './manifests';
import { ISTIO_SYSTEM } from './control-plane';
import { POLICY_KIND } from './read-policies';
import { GATEWAY_KIND } from './read-gateways';
import { isProxyPod, WAYPOINT_APP } from './app-kinds';
import { waypointPodFor } from './waypoint-pod';
import { ingressName, ingressPodFor, ingressPodOf, ingressPort, ingressServiceFor, isIngressGateway } from './ingress-gateway';
import { POD_KIND } from './read-pods';
import { appForImage } from './images';
import { freePodIp, NoSuchNode, placePod, Unschedulable } from './pod-placement';
import { MAX_WAYPOINTS, MAX_WORKLOADS } from './limits';
import { NAMESPACE_KIND, SERVICE_ACCOUNT_KIND, SERVICE_KIND } from './read-kube-objects';
import { DEPLOYMENT_KIND } from './read-deployments';
import { Conflict, NotFound } from './object-errors';
import * as kube from './kube-objects';

export type { Stored } from './kube-objects';
/** How generated name parts are drawn: crypto's randomInt, or a seeded draw for a scenario file. */
export type Draw = (n: number) => number;

const keyOf = (d: { metadata: { namespace: string; name: string } }): string => `${d.metadata.namespace}/${d.metadata.name}`;
/** What a document is, for comparing: its origin (file:line) is where it was written, not what it says. */
const body = (d: { origin?: string }): string => JSON.stringify({ ...d, origin: undefined });

/** One object applied to `s`. */
export function applyObject(s: Scenario, m: Manifest, pick: Draw = randomInt): kube.Stored {
  switch (m.kind) {
    case POLICY_KIND:
      return put(s, 'policies', m.doc);
    case HTTPROUTE_KIND:
      return put(s, 'httpRoutes', m.doc);
    case POD_KIND:
      return putPod(s, m.doc);
    case SERVICE_KIND:
      return kube.putService(s, m.doc);
    case SERVICE_ACCOUNT_KIND:
      return kube.putServiceAccount(s, m.doc);
    case DEPLOYMENT_KIND:
      return kube.putDeployment(s, m.doc, pick);
    case NAMESPACE_KIND:
      return kube.putNamespace(s, m.doc, namespacesOf(s));
    case GATEWAY_KIND: {
      const stored = put(s, 'gateways', m.doc);
      let next = stored.scenario;
      // A waypoint Gateway gets its pod, as Istio's controller deploys one; a changed one keeps
      // it, and one whose class is no longer istio-waypoint loses it.
      const pod = waypointPodOf(next, m.doc);
      if (isWaypointGateway(m.doc) && !pod) next = { ...next, workloads: [...next.workloads, newWaypointPod(next, m.doc, pick)] };
      if (!isWaypointGateway(m.doc) && pod) next = { ...next, workloads: next.workloads.filter((w) => w !== pod) };
      next = isIngressGateway(m.doc) ? withIngress(next, m.doc, pick) : withoutIngress(next, m.doc);
      return { scenario: next, outcome: stored.outcome };
    }
  }
}

/** One object deleted from `s`: NotFound when it is not there. */
export function deleteObject(s: Scenario, m: Manifest): Scenario {
  const { namespace, name } = m.doc.metadata;
  switch (m.kind) {
    case POD_KIND: {
      const pod = s.workloads.find((w) => w.namespace === namespace && w.name === name && !isProxyPod(w));
      if (!pod) throw new NotFound(`pods "${name}" not found in namespace ${namespace}`);
      return { ...s, workloads: s.workloads.filter((w) => w !== pod) };
    }
    case SERVICE_KIND:
      return kube.deleteService(s, namespace, name);
    case SERVICE_ACCOUNT_KIND:
      return kube.deleteServiceAccount(s, namespace, name);
    case DEPLOYMENT_KIND:
      return kube.deleteDeployment(s, namespace, name);
    case NAMESPACE_KIND:
      return kube.deleteNamespace(s, name, namespacesOf(s));
    default: {
      const list: readonly Doc[] = s[LISTS[m.kind]];
      const key = keyOf(m.doc);
      if (!list.some((d) => keyOf(d) === key)) throw new NotFound(`${PLURALS[m.kind]} "${name}" not found in namespace ${namespace}`);
      let next = s;
      if (m.kind === GATEWAY_KIND) {
        // Its Deployment goes with it, and with that its pod.
        const pod = waypointPodOf(next, m.doc);
        if (pod) next = { ...next, workloads: next.workloads.filter((w) => w !== pod) };
        next = withoutIngress(next, m.doc);
      }
      return { ...next, [LISTS[m.kind]]: list.filter((d) => keyOf(d) !== key) };
    }
  }
}

type Doc = AuthorizationPolicyDoc | HttpRouteDoc | GatewayDoc;
type ListKey = 'policies' | 'httpRoutes' | 'gateways';
type DocKind = typeof POLICY_KIND | typeof HTTPROUTE_KIND | typeof GATEWAY_KIND;
const LISTS: Readonly<Record<DocKind, ListKey>> = { [POLICY_KIND]: 'policies', [HTTPROUTE_KIND]: 'httpRoutes', [GATEWAY_KIND]: 'gateways' };
/** kubectl's resource.group, as NotFound names it. */
const PLURALS: Readonly<Record<DocKind, string>> = {
  [POLICY_KIND]: 'authorizationpolicies.security.istio.io',
  [HTTPROUTE_KIND]: 'httproutes.gateway.networking.k8s.io',
  [GATEWAY_KIND]: 'gateways.gateway.networking.k8s.io',
};

/** Creates or replaces `doc` in the scenario's list by namespace/name. */
function put(s: Scenario, key: ListKey, doc: Doc): kube.Stored {
  const list: readonly Doc[] = s[key];
  const i = list.findIndex((d) => keyOf(d) === keyOf(doc));
  if (i < 0) return { scenario: { ...s, [key]: [...list, doc] }, outcome: 'created' };
  if (body(list[i]) === body(doc)) return { scenario: s, outcome: 'unchanged' };
  return { scenario: { ...s, [key]: list.map((d, j) => (j === i ? doc : d)) }, outcome: 'configured' };
}

function isWaypointGateway(g: GatewayDoc): boolean {
  return g.spec.gatewayClassName === WAYPOINT_GATEWAY_CLASS;
}

/**
 * An ingress Gateway's Deployment and Service, as Istio's gateway controller keeps them: made
 * once, the Service's ports following the listeners (its ClusterIP kept), the pod replaced when
 * the listeners' first port changes (the port its readiness and app are reported on).
 */
function withIngress(s: Scenario, g: GatewayDoc, pick: Draw): Scenario {
  let pod = ingressPodOf(s, g);
  let workloads = s.workloads;
  const port = ingressPort(g);
  if (pod && pod.app.port !== port) {
    workloads = workloads.filter((w) => w !== pod);
    pod = undefined;
  }
  if (!pod) {
    if (workloads.length >= MAX_WORKLOADS) throw new Conflict(`the mesh has ${workloads.length} pods (MAX_WORKLOADS): Gateway ${g.metadata.name} not applied`);
    const proxies = workloads.filter(isProxyPod).length;
    if (proxies >= MAX_WAYPOINTS)
      throw new Conflict(
        `the mesh runs ${proxies} waypoints and gateways, each a process, the most it starts here (MAX_WAYPOINTS in src/mesh/limits.ts): Gateway ${g.metadata.name} not applied`,
      );
    try {
      workloads = [...workloads, ingressPodFor(g, { ...s, workloads }, pick)];
    } catch (err) {
      if (err instanceof Unschedulable) throw new Conflict(err.message);
      throw err;
    }
  }
  const service = ingressServiceFor(g, s);
  const services = [...s.services.filter((x) => !(x.namespace === service.namespace && x.name === service.name)), service];
  return { ...s, workloads, services };
}

/** Without its ingress Deployment and Service (a deleted Gateway, or one of another class now). */
function withoutIngress(s: Scenario, g: GatewayDoc): Scenario {
  const pod = ingressPodOf(s, g);
  const name = ingressName(g.metadata.name);
  const owned = (x: { namespace: string; name: string }) => x.namespace === g.metadata.namespace && x.name === name;
  if (!pod && !s.services.some(owned)) return s;
  return { ...s, workloads: s.workloads.filter((w) => w !== pod), services: s.services.filter((x) => !owned(x)) };
}

/** The pod of a waypoint Gateway: the one in its namespace labelled with its name. */
export function waypointPodOf(s: Scenario, g: GatewayDoc): Workload | undefined {
  return s.workloads.find((w) => w.app.kind === WAYPOINT_APP && w.namespace === g.metadata.namespace && w.labels[LABEL_GATEWAY_NAME] === g.metadata.name);
}

/** The namespaces a mesh has: those applied or labelled, those of its pods and services, default and istio-system. */
export function namespacesOf(s: Scenario): string[] {
  const named = [...(s.namespaces ?? []).map((n) => n.name), ...s.workloads.map((w) => w.namespace), ...s.services.map((x) => x.namespace)];
  return [...new Set([...named, DEFAULT_NAMESPACE, ISTIO_SYSTEM])].sort();
}

/**
 * A bare Pod: a new one is scheduled (spec.nodeName, else the node with the fewest pods), given a
 * free address of that node's pods and the app its image runs. An existing one may change its
 * labels only, as the Kubernetes API allows.
 */
function putPod(s: Scenario, doc: PodDoc): kube.Stored {
  const { name, namespace, labels } = doc.metadata;
  const existing = s.workloads.find((w) => w.namespace === namespace && w.name === name);
  const { app, note } = appForImage(doc.spec.image, doc.spec.ports[0]);
  if (existing) {
    const same = existing.serviceAccount === doc.spec.serviceAccountName && existing.app.kind === app.kind && existing.app.port === app.port;
    if (!same || (doc.spec.nodeName !== undefined && doc.spec.nodeName !== existing.node))
      throw new Conflict(`The Pod "${name}" is invalid: spec: Forbidden: pod updates may not change fields other than its labels here`);
    if (JSON.stringify(existing.labels) === JSON.stringify(labels)) return { scenario: s, outcome: 'unchanged' };
    return { scenario: { ...s, workloads: s.workloads.map((w) => (w === existing ? { ...w, labels } : w)) }, outcome: 'configured' };
  }
  if (s.workloads.length >= MAX_WORKLOADS)
    throw new Conflict(
      `the mesh has ${s.workloads.length} pods, the most it runs on this machine (MAX_WORKLOADS in src/mesh/limits.ts): pod ${name} not created`,
    );
  let node: string;
  let ip: string;
  try {
    node = placePod(s, doc.spec);
    ip = freePodIp(s, node);
  } catch (err) {
    if (err instanceof Unschedulable) throw err instanceof NoSuchNode ? new NotFound(err.message) : new Conflict(err.message);
    throw err;
  }
  const pod: Workload = { name, namespace, serviceAccount: doc.spec.serviceAccountName, node, ip, labels, app, workloadName: name };
  return { scenario: { ...s, workloads: [...s.workloads, pod] }, outcome: 'created', note };
}

/** The pod a new waypoint Gateway gets, within the mesh's limits. */
function newWaypointPod(s: Scenario, gw: GatewayDoc, pick: Draw): Workload {
  const waypoints = s.workloads.filter(isProxyPod).length;
  if (waypoints >= MAX_WAYPOINTS)
    throw new Conflict(
      `the mesh runs ${waypoints} waypoints and gateways, each a process, the most it starts here (MAX_WAYPOINTS in src/mesh/limits.ts): Gateway ${gw.metadata.name} not applied`,
    );
  if (s.workloads.length >= MAX_WORKLOADS)
    throw new Conflict(`the mesh has ${s.workloads.length} pods (MAX_WORKLOADS): Gateway ${gw.metadata.name} not applied`);
  try {
    return waypointPodFor(gw, s, pick);
  } catch (err) {
    if (err instanceof Unschedulable) throw new Conflict(err.message);
    throw err;
  }
}
