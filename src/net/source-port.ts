// Local ports for connections that must leave from a given address (ztunnel dials a pod from the
// client pod's address, as the real one does with IP_TRANSPARENT). Here every pod shares one
// kernel, and two things went wrong with bind(address, 0) at a few thousand connections a second:
//  - Linux picks a bound port before it knows the destination, and with thousands of ports
//    still in TIME_WAIT the search itself became the bottleneck (1,564 connections/s fell to 440);
//  - a bound port is skipped by every automatic connect() on the machine until its TIME_WAIT
//    ends, so bound ports spread over the whole range left the clients none (EADDRNOTAVAIL).
// The kernel's own fix, IP_BIND_ADDRESS_NO_PORT, is not reachable from Node. So ports are handed
// out here in turn, and only odd ones, as Linux's bind(0) prefers, leaving the even ones to
// connect()'s own choice. A port whose TIME_WAIT still blocks the same destination is skipped
// on EADDRINUSE/EADDRNOTAVAIL by the caller.

/** Linux's default ephemeral range (net.ipv4.ip_local_port_range), its odd ports. */
export const FIRST_PORT = 32769;
export const LAST_PORT = 60999;
const STEP = 2;
/** Errors that mean "this local port cannot reach that destination now": try the next one. */
export const PORT_BUSY_CODES: readonly string[] = ['EADDRINUSE', 'EADDRNOTAVAIL'];

const next = new Map<string, number>();

/** The next local port to try from `address`; odd ports cycle through the range per address. */
export function nextSourcePort(address: string): number {
  // Start each address at a different point, so two addresses do not march in step.
  const port = next.get(address) ?? FIRST_PORT + STEP * Math.floor(Math.random() * ((LAST_PORT - FIRST_PORT) / STEP + 1));
  next.set(address, port >= LAST_PORT ? FIRST_PORT : port + STEP);
  return port;
}
