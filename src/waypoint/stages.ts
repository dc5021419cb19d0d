// The waypoint's stages, named as Envoy names them in a waypoint's config dump (DESIGN.md
// section 1), so logs, the trace and /config_dump read like the seed article.
import type { Service, Workload } from '../mesh/model';
import { serviceHost } from '../mesh/model';

/** Listener on :15008 that terminates HBONE and matches :authority VIP:port to a service. */
export const STAGE_TERMINATE = 'inbound_CONNECT_terminate';
/** Internal listener that opens a new HBONE CONNECT to the chosen pod. */
export const STAGE_ORIGINATE = 'inbound_CONNECT_originate';

/** The per-service HTTP stage: routes (HTTPRoute) apply here. */
export function vipStage(service: Service, port: number): string {
  return `inbound-vip|${port}|http|${serviceHost(service)}`;
}

/** The per-endpoint stage: the RBAC filter runs here, then the endpoint is picked. */
export function podStage(pod: Workload, port: number): string {
  return `inbound-pod|${port}||${pod.ip}`;
}

/** Stage 4's `upstream` detail: whether the request opened a CONNECT or rode one already open. */
export const UPSTREAM_NEW = 'new CONNECT';
export const UPSTREAM_REUSED = 'reused';
