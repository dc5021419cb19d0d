// Local ports for connections that must leave from a given address (ztunnel dials a pod from the
// client pod's address, as the real one does with IP_TRANSPARENT). Binding to an address with
// port 0 makes Linux pick a port before it knows the destination, and every port still in
// TIME_WAIT from earlier connections makes that search longer: at a few thousand connections a
// second the bind itself became the bottleneck (1,564 connections/s fell to 440 within seconds).
// The kernel's own fix, IP_BIND_ADDRESS_NO_PORT, is not reachable from Node, so ports are handed
// out here in turn; a port whose TIME_WAIT still blocks the same destination is skipped on
// EADDRINUSE/EADDRNOTAVAIL by the caller.

/** Linux's default ephemeral range (net.ipv4.ip_local_port_range). */
export const FIRST_PORT = 32768;
export const LAST_PORT = 60999;
/** Errors that mean "this local port cannot reach that destination now": try the next one. */
export const PORT_BUSY_CODES: readonly string[] = ['EADDRINUSE', 'EADDRNOTAVAIL'];

const next = new Map<string, number>();

/** The next local port to try from `address`; ports cycle through the ephemeral range per address. */
export function nextSourcePort(address: string): number {
  // Start each address at a different point, so two addresses do not march in step.
  const port = next.get(address) ?? FIRST_PORT + Math.floor(Math.random() * (LAST_PORT - FIRST_PORT + 1));
  next.set(address, port >= LAST_PORT ? FIRST_PORT : port + 1);
  return port;
}
