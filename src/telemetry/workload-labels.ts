// Metric labels for scenario workloads and services, filled the way istiod and ztunnel fill them
// (canonical service and revision from well-known pod labels, principals from service accounts).
import { Service, Workload, serviceHost, spiffeIdOf } from '../mesh/model';
import type { TcpLabelInput } from './tcp-metrics';

/** istiod's default cluster ID when none is configured. */
export const DEFAULT_CLUSTER_ID = 'Kubernetes';
// Istio's lookup order for canonical service name and revision (pkg/kube/labels).
const CANONICAL_NAME_LABELS = ['service.istio.io/canonical-name', 'app.kubernetes.io/name', 'app'];
const CANONICAL_REVISION_LABELS = ['service.istio.io/canonical-revision', 'app.kubernetes.io/version', 'version'];
const DEFAULT_REVISION = 'latest';

export interface CanonicalService {
  readonly name: string;
  readonly revision: string;
}

export function canonicalService(w: Pick<Workload, 'labels' | 'workloadName'>): CanonicalService {
  const first = (keys: string[]) => keys.map((k) => w.labels[k]).find((v) => v !== undefined && v !== '');
  return { name: first(CANONICAL_NAME_LABELS) ?? w.workloadName, revision: first(CANONICAL_REVISION_LABELS) ?? DEFAULT_REVISION };
}

export interface LabelOptions {
  readonly trustDomain: string;
  readonly cluster?: string;
}

export type SourceLabels = Pick<TcpLabelInput, Extract<keyof TcpLabelInput, `source_${string}`>>;
export type DestinationLabels = Pick<TcpLabelInput, Extract<keyof TcpLabelInput, `destination_${string}`>>;

/** source_* labels; source_app/version are the canonical service/revision, as ztunnel reports them. */
export function sourceLabels(w: Workload, opts: LabelOptions): SourceLabels {
  const c = canonicalService(w);
  return {
    source_workload: w.workloadName,
    source_canonical_service: c.name,
    source_canonical_revision: c.revision,
    source_workload_namespace: w.namespace,
    source_principal: spiffeIdOf(w, opts.trustDomain),
    source_app: c.name,
    source_version: c.revision,
    source_cluster: opts.cluster ?? DEFAULT_CLUSTER_ID,
  };
}

export function destinationLabels(w: Workload, opts: LabelOptions): DestinationLabels {
  const c = canonicalService(w);
  return {
    destination_workload: w.workloadName,
    destination_canonical_service: c.name,
    destination_canonical_revision: c.revision,
    destination_workload_namespace: w.namespace,
    destination_principal: spiffeIdOf(w, opts.trustDomain),
    destination_app: c.name,
    destination_version: c.revision,
    destination_cluster: opts.cluster ?? DEFAULT_CLUSTER_ID,
  };
}

/** destination_service is the FQDN (productpage.default.svc.cluster.local). */
export function serviceLabels(s: Pick<Service, 'name' | 'namespace'>): DestinationLabels {
  return { destination_service: serviceHost(s), destination_service_name: s.name, destination_service_namespace: s.namespace };
}
