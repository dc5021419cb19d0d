// Hop-by-hop headers (RFC 9110 section 7.6.1): they belong to one connection and a proxy drops
// them, along with every header the Connection header nominates. The waypoint drops them from a
// request before routing and RBAC see it, so the headers a policy decided on are exactly the
// headers the pod receives (framing is the codec's business: see framing.ts).
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';

const HOP_BY_HOP: ReadonlySet<string> = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer', 'upgrade']);
/** Never dropped, whatever Connection nominates: a request without Host is not HTTP/1.1. */
const KEPT: ReadonlySet<string> = new Set(['host']);

/** The names a message's Connection header nominates, lower case. */
function nominated(headers: IncomingHttpHeaders): Set<string> {
  const value = headers.connection;
  const text = Array.isArray(value) ? value.join(',') : (value ?? '');
  const names = new Set<string>();
  for (const token of text.split(',')) {
    const name = token.trim().toLowerCase();
    if (name && !KEPT.has(name)) names.add(name);
  }
  return names;
}

/** A request's end-to-end headers, repeated values joined with ", " (as node:http joins most). */
export function endToEndRequest(headers: IncomingHttpHeaders): Record<string, string> {
  const drop = nominated(headers);
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers)) {
    if (v === undefined || HOP_BY_HOP.has(k) || drop.has(k)) continue;
    out[k] = Array.isArray(v) ? v.join(', ') : v;
  }
  return out;
}

/** A response's end-to-end headers, lists kept as lists (set-cookie). */
export function endToEndResponse(headers: IncomingHttpHeaders): OutgoingHttpHeaders {
  const drop = nominated(headers);
  const out: OutgoingHttpHeaders = {};
  for (const [k, v] of Object.entries(headers)) if (v !== undefined && !HOP_BY_HOP.has(k) && !drop.has(k)) out[k] = v;
  return out;
}
