// The programs a scenario pod can run (`run.app`). Bookinfo's four services, as in Istio's
// sample, plus small teaching apps: sleep (a client driven through the exec port), echo
// (TCP echo), sink (swallows bytes, for load tests) and http-echo
// (HTTP that echoes bodies, the server of the benches); and waypoint, the L7 proxy that a
// Gateway of class istio-waypoint declares (its pod carries the Gateway's name in the label
// gateway.networking.k8s.io/gateway-name). An ingress gateway (a Gateway of class istio) runs
// GATEWAY_APP, which no scenario file may name: only its Gateway brings one.

import { PORT_HBONE } from './ports';

export const APP_KINDS = ['productpage', 'details', 'reviews', 'ratings', 'sleep', 'echo', 'sink', 'http-echo', 'waypoint'] as const;

/** The ingress gateway's app: an Envoy with an HTTP listener per Gateway listener. */
export const GATEWAY_APP = 'istio-gateway';

export type AppKind = (typeof APP_KINDS)[number] | typeof GATEWAY_APP;

/** The waypoint app: an Envoy that terminates HBONE. */
export const WAYPOINT_APP = 'waypoint';

/** A waypoint receives HBONE on 15008 (the seed's 2022 waypoint used 15006); nothing else. */
export const WAYPOINT_PORT = PORT_HBONE;

/** A program a scenario file may name (run.app). */
export function isAppKind(kind: string): kind is (typeof APP_KINDS)[number] {
  return (APP_KINDS as readonly string[]).includes(kind);
}

/**
 * A pod that is a proxy of its own (a waypoint or an ingress gateway): its process is the
 * runner's child, not a node agent's pod, and no ztunnel captures it.
 */
export function isProxyPod(pod: { readonly app: { readonly kind: string } }): boolean {
  return pod.app.kind === WAYPOINT_APP || pod.app.kind === GATEWAY_APP;
}
