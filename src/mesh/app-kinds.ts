// The programs a scenario pod can run (`run.app`). Bookinfo's four services, as in Istio's
// sample, plus small teaching apps: sleep (a client driven through the exec port), echo
// (TCP echo), sink (swallows bytes, for load tests) and http-echo
// (HTTP that echoes bodies, the server of the benches); and waypoint, the L7 proxy that a
// Gateway of class istio-waypoint declares (its pod carries the Gateway's name in the label
// gateway.networking.k8s.io/gateway-name).

import { PORT_HBONE } from './ports';

export const APP_KINDS = ['productpage', 'details', 'reviews', 'ratings', 'sleep', 'echo', 'sink', 'http-echo', 'waypoint'] as const;

export type AppKind = (typeof APP_KINDS)[number];

/** The waypoint app: an Envoy that terminates HBONE. */
export const WAYPOINT_APP = 'waypoint';

/** A waypoint receives HBONE on 15008 (the seed's 2022 waypoint used 15006); nothing else. */
export const WAYPOINT_PORT = PORT_HBONE;

export function isAppKind(kind: string): kind is AppKind {
  return (APP_KINDS as readonly string[]).includes(kind);
}
