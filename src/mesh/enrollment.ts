// Which pods are in the mesh, as Istio's ambient enrollment decides: a pod labelled
// istio.io/dataplane-mode=none is out, one labelled ambient is in, and otherwise its namespace's
// label decides. A scenario file describes a mesh, so the namespaces of its own pods start
// labelled ambient (as after the guide's `kubectl label namespace default
// istio.io/dataplane-mode=ambient`); an empty cluster's start unlabelled, as in a new cluster.
import type { Labels, NamespaceLabels, Scenario, Workload } from './model';

export const LABEL_DATAPLANE_MODE = 'istio.io/dataplane-mode';
export const DATAPLANE_MODE_AMBIENT = 'ambient';
export const DATAPLANE_MODE_NONE = 'none';

/** Whether ztunnel captures the pod's traffic. Waypoints speak HBONE themselves and are never captured. */
export function inMesh(s: Pick<Scenario, 'namespaces'>, pod: Pick<Workload, 'namespace' | 'labels'>): boolean {
  const own = pod.labels[LABEL_DATAPLANE_MODE];
  if (own === DATAPLANE_MODE_NONE) return false;
  if (own === DATAPLANE_MODE_AMBIENT) return true;
  return s.namespaces?.find((n) => n.name === pod.namespace)?.labels[LABEL_DATAPLANE_MODE] === DATAPLANE_MODE_AMBIENT;
}

/** The namespaces of a scenario file's pods, enrolled. */
export function enrolledNamespaces(workloads: readonly Pick<Workload, 'namespace'>[]): NamespaceLabels[] {
  const labels: Labels = { [LABEL_DATAPLANE_MODE]: DATAPLANE_MODE_AMBIENT };
  return [...new Set(workloads.map((w) => w.namespace))].sort().map((name) => ({ name, labels }));
}
