// The ports every ambient process uses (DESIGN.md section 2). Real Istio numbers.

export const PORT_OUTBOUND_CAPTURE = 15001;
export const PORT_INBOUND_PLAINTEXT = 15006;
/** The HBONE port is the core's own constant; one number, one name, one place. */
export { PORT_HBONE } from '../hbone/constants';
import { PORT_HBONE } from '../hbone/constants';
export const PORT_SOCKS5 = 15080;
export const PORT_ADMIN = 15000;
export const PORT_METRICS = 15020;
export const PORT_READINESS = 15021;

/** ztunnel refuses inbound CONNECTs to its own ports (answers 503). */
export const ILLEGAL_INBOUND_PORTS: readonly number[] = [PORT_OUTBOUND_CAPTURE, PORT_INBOUND_PLAINTEXT, PORT_HBONE, PORT_SOCKS5];

/**
 * The simulator's stand-in for `kubectl exec`: client apps (sleep) take commands on this port
 * of their pod address. Not part of Istio; never captured.
 */
export const PORT_EXEC = 15099;

/**
 * The node agent's health, on the node's address: the kubelet's healthz port (GET /healthz).
 * Not an Istio port; the runner also reads /healthz/ready there.
 */
export const PORT_KUBELET_HEALTHZ = 10248;

/** istiod: xDS and the CA over TLS, and its debug and monitoring port (DESIGN.md section 8). */
export const PORT_ISTIOD_XDS = 15012;
export const PORT_ISTIOD_MONITORING = 15014;
