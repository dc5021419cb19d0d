// How the API server stores the Kubernetes kinds besides bare pods: a Service gets a ClusterIP
// (kept for its life, as the API server keeps it), a Deployment gets its pods through the
// Deployment controller (src/mesh/deployment-controller.ts), a ServiceAccount and a Namespace
// are kept with their labels. Each function answers the new configuration and kubectl's word
// for what happened; each refuses what the API server would refuse, changing nothing.
import type { DeploymentDoc, NamespaceDoc, Scenario, Service, ServiceAccountDoc, ServiceDoc } from './model';
import { allocateClusterIp, clusterIpTaken, RangeFull } from './cluster-ip';
import { deploymentOf, findDeployment, reconcile, removeDeployment } from './deployment-controller';
import { ISTIO_SYSTEM } from './control-plane';
import { Unschedulable } from './pod-placement';
import { DEFAULT_NAMESPACE } from './manifests';
import { Conflict, NotFound } from './object-errors';

/** kubectl's word for what an apply or delete did. */
export type ApplyOutcome = 'created' | 'configured' | 'unchanged' | 'deleted';

export interface Stored {
  readonly scenario: Scenario;
  readonly outcome: ApplyOutcome;
  readonly note?: string;
}

/** Namespaces the API server will not delete (kube-system and kube-public are not modelled). */
const UNDELETABLE_NAMESPACES = [DEFAULT_NAMESPACE, ISTIO_SYSTEM];
const same = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);

export function putService(s: Scenario, doc: ServiceDoc): Stored {
  const { name, namespace, labels } = doc.metadata;
  const i = s.services.findIndex((x) => x.namespace === namespace && x.name === name);
  const existing = i < 0 ? undefined : s.services[i];
  const asked = doc.spec.clusterIP;
  if (asked !== undefined && existing && asked !== existing.vip)
    throw new Conflict(`The Service "${name}" is invalid: spec.clusterIPs[0]: Invalid value: ["${asked}"]: may not change once set`);
  if (asked !== undefined && !existing && clusterIpTaken(s, asked, namespace, name))
    throw new Conflict(
      `The Service "${name}" is invalid: spec.clusterIPs: Invalid value: ["${asked}"]: failed to allocate IP ${asked}: provided IP is already allocated`,
    );
  let vip: string;
  try {
    vip = existing?.vip ?? asked ?? allocateClusterIp(s, namespace, name);
  } catch (err) {
    if (err instanceof RangeFull) throw new Conflict(err.message);
    throw err;
  }
  const service: Service = { name, namespace, vip, ports: doc.spec.ports, selector: doc.spec.selector, labels };
  if (!existing) return { scenario: { ...s, services: [...s.services, service] }, outcome: 'created' };
  if (same(existing, service)) return { scenario: s, outcome: 'unchanged' };
  return { scenario: { ...s, services: s.services.map((x, j) => (j === i ? service : x)) }, outcome: 'configured' };
}

export function putServiceAccount(s: Scenario, doc: ServiceAccountDoc): Stored {
  const { name, namespace, labels } = doc.metadata;
  const list = s.serviceAccounts ?? [];
  const existing = list.find((x) => x.namespace === namespace && x.name === name);
  const account = { name, namespace, labels };
  if (existing && same(existing, account)) return { scenario: s, outcome: 'unchanged' };
  return { scenario: { ...s, serviceAccounts: [...list.filter((x) => x !== existing), account] }, outcome: existing ? 'configured' : 'created' };
}

export function putNamespace(s: Scenario, doc: NamespaceDoc, known: readonly string[]): Stored {
  const { name, labels } = doc.metadata;
  const list = s.namespaces ?? [];
  const before = list.find((n) => n.name === name);
  if (before ? same(before.labels, labels) : known.includes(name) && Object.keys(labels).length === 0) return { scenario: s, outcome: 'unchanged' };
  return { scenario: { ...s, namespaces: [...list.filter((n) => n !== before), { name, labels }] }, outcome: known.includes(name) ? 'configured' : 'created' };
}

export function putDeployment(s: Scenario, doc: DeploymentDoc, pick?: (n: number) => number): Stored {
  const { deployment, note } = deploymentOf(doc);
  const existing = findDeployment(s, deployment.namespace, deployment.name);
  const applied = s.deployments?.some((d) => d === existing) ?? false;
  if (existing && applied && same(existing, deployment)) return { scenario: s, outcome: 'unchanged' };
  return { scenario: placing(() => reconcile(s, deployment, pick)), outcome: existing ? 'configured' : 'created', note };
}

/** kubectl scale: the Deployment's replicas set, its pods made to match. */
export function scaleDeployment(s: Scenario, namespace: string, name: string, replicas: number): Scenario {
  const d = findDeployment(s, namespace, name);
  if (!d) throw new NotFound(`deployments.apps "${name}" not found in namespace ${namespace}`);
  return placing(() => reconcile(s, { ...d, replicas }));
}

export function deleteService(s: Scenario, namespace: string, name: string): Scenario {
  if (!s.services.some((x) => x.namespace === namespace && x.name === name)) throw new NotFound(`services "${name}" not found in namespace ${namespace}`);
  return { ...s, services: s.services.filter((x) => !(x.namespace === namespace && x.name === name)) };
}

export function deleteServiceAccount(s: Scenario, namespace: string, name: string): Scenario {
  const list = s.serviceAccounts ?? [];
  if (!list.some((x) => x.namespace === namespace && x.name === name)) throw new NotFound(`serviceaccounts "${name}" not found in namespace ${namespace}`);
  return { ...s, serviceAccounts: list.filter((x) => !(x.namespace === namespace && x.name === name)) };
}

export function deleteDeployment(s: Scenario, namespace: string, name: string): Scenario {
  const d = findDeployment(s, namespace, name);
  if (!d) throw new NotFound(`deployments.apps "${name}" not found in namespace ${namespace}`);
  return removeDeployment(s, d);
}

/** Deleting a namespace deletes everything in it, as the namespace controller does. */
export function deleteNamespace(s: Scenario, name: string, known: readonly string[]): Scenario {
  if (UNDELETABLE_NAMESPACES.includes(name)) throw new Conflict(`namespaces "${name}" is forbidden: this namespace may not be deleted`);
  if (!known.includes(name)) throw new NotFound(`namespaces "${name}" not found`);
  const outside = <T extends { readonly namespace: string }>(list: readonly T[] | undefined): T[] => (list ?? []).filter((x) => x.namespace !== name);
  const outsideDocs = <T extends { readonly metadata: { readonly namespace: string } }>(list: readonly T[]): T[] =>
    list.filter((x) => x.metadata.namespace !== name);
  return {
    ...s,
    workloads: outside(s.workloads),
    services: outside(s.services),
    deployments: outside(s.deployments),
    serviceAccounts: outside(s.serviceAccounts),
    policies: outsideDocs(s.policies),
    httpRoutes: outsideDocs(s.httpRoutes),
    gateways: outsideDocs(s.gateways),
    namespaces: (s.namespaces ?? []).filter((n) => n.name !== name),
  };
}

/** Scheduling and IPAM failures are the user's to fix: a 409 that says why. */
function placing(work: () => Scenario): Scenario {
  try {
    return work();
  } catch (err) {
    if (err instanceof Unschedulable) throw new Conflict(err.message);
    throw err;
  }
}
