// The names of an ingress gateway's Envoy configuration, as Istio writes them for a Gateway of
// class istio: one listener per port on every address, its route configuration http.<port>, one
// outbound cluster per backend service port, and the internal listener that wraps a request to
// a meshed pod in HBONE.
import type { Service } from '../mesh/model';
import { serviceHost } from '../mesh/model';

/** The internal listener that opens the CONNECT to a meshed pod (Istio's name, sidecars' and gateways' alike). */
export const STAGE_CONNECT_ORIGINATE = 'connect_originate';

/** The listener of a port: Envoy binds 0.0.0.0 in the gateway's pod. */
export function gatewayListenerName(port: number): string {
  return `0.0.0.0_${port}`;
}

/** The route configuration (RDS) of every HTTP listener on a port. */
export function gatewayRouteName(port: number): string {
  return `http.${port}`;
}

/** A backend's cluster: outbound|<port>||<host>. */
export function outboundCluster(service: Pick<Service, 'name' | 'namespace'>, port: number): string {
  return `outbound|${port}||${serviceHost(service)}`;
}
