// Ports an app must not take: ztunnel, the node agent and the simulator bind them on pod and node addresses,
// so an app or a Service targetPort there would collide with the mesh itself.
import {
  PORT_ADMIN,
  PORT_EXEC,
  PORT_HBONE,
  PORT_INBOUND_PLAINTEXT,
  PORT_KUBELET_HEALTHZ,
  PORT_METRICS,
  PORT_OUTBOUND_CAPTURE,
  PORT_READINESS,
  PORT_SOCKS5,
} from './ports';

/** Reserved port -> what uses it, for messages. */
export const RESERVED_PORTS: ReadonlyMap<number, string> = new Map([
  [PORT_OUTBOUND_CAPTURE, 'outbound capture'],
  [PORT_INBOUND_PLAINTEXT, 'inbound plaintext'],
  [PORT_HBONE, 'HBONE'],
  [PORT_METRICS, 'metrics'],
  [PORT_READINESS, 'readiness'],
  [PORT_SOCKS5, 'SOCKS5 capture'],
  [PORT_ADMIN, 'admin'],
  [PORT_EXEC, 'the simulator exec port'],
  [PORT_KUBELET_HEALTHZ, "the node agent's healthz"],
]);

export function reservedPortProblem(port: number): string | undefined {
  const use = RESERVED_PORTS.get(port);
  return use ? `${port} is a reserved mesh port (${use}); pick another port` : undefined;
}
