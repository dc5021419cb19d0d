// Every name of the waypoint's Envoy configuration, in one place: its stages as Envoy names them
// in a waypoint's config dump (DESIGN.md section 1), so logs, the trace and /config_dump read
// like the seed article, and the listener, cluster and metadata names around them.
import type { Service, Workload } from '../mesh/model';
import { serviceHost } from '../mesh/model';
import { canonicalService, DEFAULT_CLUSTER_ID } from '../telemetry/workload-labels';

/** Enough of a service to name it: an HTTPRoute backendRef has no more. */
type ServiceName = Pick<Service, 'name' | 'namespace'>;

/** Listener on :15008 that terminates HBONE and matches :authority VIP:port to a service. */
export const STAGE_TERMINATE = 'inbound_CONNECT_terminate';
/** Internal listener that opens a new HBONE CONNECT to the chosen pod. */
export const STAGE_ORIGINATE = 'inbound_CONNECT_originate';

/** The per-service HTTP stage: routes (HTTPRoute) apply here; also the name of its EDS cluster. */
export function vipStage(service: ServiceName, port: number): string {
  return `inbound-vip|${port}|http|${serviceHost(service)}`;
}

/** Stage 1's route target: the STATIC cluster whose endpoint is the service's internal listener. */
export function internalClusterName(service: ServiceName, port: number): string {
  return `inbound-vip|${port}|internal|${serviceHost(service)}`;
}

/** The internal listener holding the service's HTTP connection manager (its routes are vipStage()). */
export function vipListenerName(service: ServiceName, port: number): string {
  return `inbound-vip|${port}||${serviceHost(service)}`;
}

/** Envoy's endpoint metadata for a workload: <workload>;<namespace>;<canonical name>;<revision>;<cluster>. */
export function workloadMetadata(pod: Workload): string {
  const c = canonicalService(pod);
  return `${pod.workloadName};${pod.namespace};${c.name};${c.revision};${DEFAULT_CLUSTER_ID}`;
}

/** The per-endpoint stage: the RBAC filter runs here, then the endpoint is picked. */
export function podStage(pod: Workload, port: number): string {
  return `inbound-pod|${port}||${pod.ip}`;
}

/**
 * Traffic addressed to a pod whose waypoint this is: Istio's waypoint takes it on its direct-http
 * (or direct-tcp) chain, with no routes, to the encap cluster: a CONNECT to the original destination.
 */
export const STAGE_DIRECT_HTTP = 'direct-http';
export const STAGE_DIRECT_TCP = 'direct-tcp';
export const ENCAP_CLUSTER = 'encap';

/** Stage 4's `upstream` detail: whether the request opened a CONNECT or rode one already open. */
export const UPSTREAM_NEW = 'new CONNECT';
export const UPSTREAM_REUSED = 'reused';
