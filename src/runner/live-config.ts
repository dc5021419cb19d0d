// The mesh's configuration while it runs, as the API server stores it: the scenario's, then
// every apply and delete. Apply creates or replaces by namespace/name (kubectl's
// "created" / "configured" / "unchanged"); delete removes, and a name that is not there is an
// error that changes nothing. Each call is all or nothing. A waypoint Gateway brings its pod
// (src/mesh/waypoint-pod.ts) and takes it away when deleted.
import type { AuthorizationPolicyDoc, GatewayDoc, HttpRouteDoc, Labels, PodDoc, Scenario, Workload } from '../mesh/model';
import { LABEL_GATEWAY_NAME, WAYPOINT_GATEWAY_CLASS } from '../mesh/model';
import { DEFAULT_NAMESPACE, HTTPROUTE_KIND, LIVE_KINDS, Manifest } from '../mesh/manifests';
import { ISTIO_SYSTEM } from '../mesh/control-plane';
import { POLICY_KIND } from '../mesh/read-policies';
import { GATEWAY_KIND } from '../mesh/read-gateways';
import { WAYPOINT_APP } from '../mesh/app-kinds';
import { waypointPodFor } from '../mesh/waypoint-pod';
import { POD_KIND } from '../mesh/read-pods';
import { appForImage } from '../mesh/images';
import { freePodIp, NoSuchNode, placePod, Unschedulable } from '../mesh/pod-placement';
import { MAX_WAYPOINTS, MAX_WORKLOADS } from '../mesh/limits';
import { NAMESPACE_KIND, SERVICE_ACCOUNT_KIND, SERVICE_KIND } from '../mesh/read-kube-objects';
import { DEPLOYMENT_KIND } from '../mesh/read-deployments';
import { Conflict, NotFound } from './errors';
import * as kube from './kube-objects';

export type ApplyOutcome = 'created' | 'configured' | 'unchanged' | 'deleted';

export interface ApplyResult {
  /** kubectl's line: authorizationpolicy.security.istio.io/deny-all created */
  readonly line: string;
  readonly outcome: ApplyOutcome;
}

export { Conflict, NotFound } from './errors';

const keyOf = (d: { metadata: { namespace: string; name: string } }): string => `${d.metadata.namespace}/${d.metadata.name}`;
/** What a document is, for comparing: its origin (file:line) is where it was written, not what it says. */
const body = (d: { origin?: string }): string => JSON.stringify({ ...d, origin: undefined });

export class LiveConfig {
  /**
   * `persist` is told every new configuration before istiod is: istiod reads it back when it
   * restarts, so a restart never brings back the scenario file's configuration.
   */
  constructor(
    private current: Scenario,
    private readonly persist: (s: Scenario) => void = () => undefined,
  ) {}

  private set(next: Scenario): void {
    this.current = next;
    this.persist(next);
  }

  get scenario(): Scenario {
    return this.current;
  }

  /** Back to an earlier configuration (a change istiod did not take). */
  restore(previous: Scenario): void {
    this.set(previous);
  }

  apply(manifests: readonly Manifest[]): ApplyResult[] {
    let next = this.current;
    const notes: string[] = [];
    const results = manifests.map((m): ApplyResult => {
      const stored = applyOne(next, m);
      next = stored.scenario;
      if (stored.note) notes.push(`${LIVE_KINDS[m.kind]}/${m.doc.metadata.name}: ${stored.note}`);
      return { line: `${LIVE_KINDS[m.kind]}/${m.doc.metadata.name} ${stored.outcome}`, outcome: stored.outcome };
    });
    this.set(next);
    return [...results, ...notes.map((line) => ({ line, outcome: 'unchanged' as const }))];
  }

  /** kubectl scale deploy/NAME --replicas N. */
  scale(namespace: string, name: string, replicas: number): ApplyResult {
    this.set(kube.scaleDeployment(this.current, namespace, name, replicas));
    return { line: `deployment.apps/${name} scaled`, outcome: 'configured' };
  }

  /**
   * kubectl label on a Service: `changes` maps each key to its new value, or null to remove it.
   * A key that has a value already changes only with `overwrite`, as kubectl asks.
   */
  labelService(namespace: string, name: string, changes: Readonly<Record<string, string | null>>, overwrite: boolean): ApplyResult {
    const i = this.current.services.findIndex((x) => x.namespace === namespace && x.name === name);
    if (i < 0) throw new NotFound(`services "${name}" not found in namespace ${namespace}`);
    const service = this.current.services[i];
    const labels = relabel(service.labels, changes, overwrite);
    const services = this.current.services.map((x, j) => (j === i ? { ...x, labels } : x));
    this.set({ ...this.current, services });
    return labelResult(`service/${name}`, service.labels, labels, changes);
  }

  /** kubectl label on a Pod: istio.io/dataplane-mode=none takes it out of the mesh, ambient puts it in. */
  labelPod(namespace: string, name: string, changes: Readonly<Record<string, string | null>>, overwrite: boolean): ApplyResult {
    const pod = this.current.workloads.find((w) => w.namespace === namespace && w.name === name);
    if (!pod) throw new NotFound(`pods "${name}" not found in namespace ${namespace}`);
    const labels = relabel(pod.labels, changes, overwrite);
    this.set({ ...this.current, workloads: this.current.workloads.map((w) => (w === pod ? { ...w, labels } : w)) });
    return labelResult(`pod/${name}`, pod.labels, labels, changes);
  }

  /** kubectl label on a Namespace: istio.io/use-waypoint there binds every Service in it that names none. */
  labelNamespace(name: string, changes: Readonly<Record<string, string | null>>, overwrite: boolean): ApplyResult {
    if (!namespacesOf(this.current).includes(name)) throw new NotFound(`namespaces "${name}" not found`);
    const list = this.current.namespaces ?? [];
    const before = list.find((n) => n.name === name)?.labels ?? {};
    const labels = relabel(before, changes, overwrite);
    const namespaces = [...list.filter((n) => n.name !== name), ...(Object.keys(labels).length > 0 ? [{ name, labels }] : [])];
    this.set({ ...this.current, namespaces });
    return labelResult(`namespace/${name}`, before, labels, changes);
  }

  delete(manifests: readonly Manifest[]): ApplyResult[] {
    let next = this.current;
    const results = manifests.map((m): ApplyResult => {
      next = deleteOne(next, m);
      return { line: `${LIVE_KINDS[m.kind]} "${m.doc.metadata.name}" deleted`, outcome: 'deleted' };
    });
    this.set(next);
    return results;
  }
}

/** One object applied to `s`. */
function applyOne(s: Scenario, m: Manifest): kube.Stored {
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
      return kube.putDeployment(s, m.doc);
    case NAMESPACE_KIND:
      return kube.putNamespace(s, m.doc, namespacesOf(s));
    case GATEWAY_KIND: {
      const stored = put(s, 'gateways', m.doc);
      let next = stored.scenario;
      // A waypoint Gateway gets its pod, as Istio's controller deploys one; a changed one keeps
      // it, and one whose class is no longer istio-waypoint loses it.
      const pod = waypointPodOf(next, m.doc);
      if (isWaypointGateway(m.doc) && !pod) next = { ...next, workloads: [...next.workloads, newWaypointPod(next, m.doc)] };
      if (!isWaypointGateway(m.doc) && pod) next = { ...next, workloads: next.workloads.filter((w) => w !== pod) };
      return { scenario: next, outcome: stored.outcome };
    }
  }
}

/** One object deleted from `s`: NotFound when it is not there. */
function deleteOne(s: Scenario, m: Manifest): Scenario {
  const { namespace, name } = m.doc.metadata;
  switch (m.kind) {
    case POD_KIND: {
      const pod = s.workloads.find((w) => w.namespace === namespace && w.name === name && w.app.kind !== WAYPOINT_APP);
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
 * Labels after kubectl label's changes: each key to its new value, or null to remove it. A key
 * that has another value changes only with `overwrite`, as kubectl asks.
 */
function relabel(current: Labels, changes: Readonly<Record<string, string | null>>, overwrite: boolean): Labels {
  const labels: Record<string, string> = { ...current };
  for (const [key, value] of Object.entries(changes)) {
    if (value === null) delete labels[key];
    else {
      if (labels[key] !== undefined && labels[key] !== value && !overwrite) {
        throw new Conflict(`'${key}' already has a value (${labels[key]}), and --overwrite is false`);
      }
      labels[key] = value;
    }
  }
  return labels;
}

/** kubectl's line: labeled, unlabeled, or not labeled when nothing changed. */
function labelResult(what: string, before: Labels, after: Labels, changes: Readonly<Record<string, string | null>>): ApplyResult {
  const unchanged = JSON.stringify(after) === JSON.stringify(before);
  const removedOnly = Object.values(changes).every((v) => v === null);
  return { line: `${what} ${unchanged ? 'not labeled' : removedOnly ? 'unlabeled' : 'labeled'}`, outcome: unchanged ? 'unchanged' : 'configured' };
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
function newWaypointPod(s: Scenario, gw: GatewayDoc): Workload {
  const waypoints = s.workloads.filter((w) => w.app.kind === WAYPOINT_APP).length;
  if (waypoints >= MAX_WAYPOINTS)
    throw new Conflict(
      `the mesh runs ${waypoints} waypoints, each a process, the most it starts here (MAX_WAYPOINTS in src/mesh/limits.ts): Gateway ${gw.metadata.name} not applied`,
    );
  if (s.workloads.length >= MAX_WORKLOADS)
    throw new Conflict(`the mesh has ${s.workloads.length} pods (MAX_WORKLOADS): Gateway ${gw.metadata.name} not applied`);
  try {
    return waypointPodFor(gw, s);
  } catch (err) {
    if (err instanceof Unschedulable) throw new Conflict(err.message);
    throw err;
  }
}
