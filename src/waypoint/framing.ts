// How a request body leaves the waypoint. Framing belongs to the codec, not to the request's
// headers as received or as a route rewrote them: the body goes upstream with content-length
// when its length is known, chunked otherwise, whatever the method. (node:http's client sends a
// GET, HEAD, DELETE or OPTIONS body raw unless told to chunk it, and a pod then reads that body
// as a second request nobody routed or authorized: request smuggling.)
import type { IncomingMessage } from 'node:http';

export type BodyFraming =
  /** No body: neither content-length nor transfer-encoding was sent. */
  | { readonly kind: 'none' }
  | { readonly kind: 'length'; readonly length: number }
  /** Length unknown (the client sent it chunked): forwarded chunked. */
  | { readonly kind: 'chunked' };

const FRAMING_HEADERS = ['content-length', 'transfer-encoding'] as const;

/**
 * The framing of a request as node:http parsed it. Its strict parser has already answered 400
 * to content-length with transfer-encoding, to duplicate or invalid content-lengths and to a
 * transfer-encoding whose last coding is not chunked, so what reaches here is one of three.
 */
export function framingOf(req: IncomingMessage): BodyFraming {
  if (req.headers['transfer-encoding'] !== undefined) return { kind: 'chunked' };
  const cl = req.headers['content-length'];
  if (cl !== undefined) return { kind: 'length', length: Number(cl) };
  return { kind: 'none' };
}

/** A request whose body is empty may be sent again (retries, a stale pooled connection). */
export function isReplayable(f: BodyFraming): boolean {
  return f.kind === 'none' || (f.kind === 'length' && f.length === 0);
}

/** The upstream headers with the framing headers set from `f` alone (route filters cannot change them). */
export function withFraming(headers: Record<string, string>, f: BodyFraming): Record<string, string> {
  const out = { ...headers };
  for (const name of FRAMING_HEADERS) delete out[name];
  if (f.kind === 'length') out['content-length'] = String(f.length);
  // node:http's client chunk-encodes the body when this header is set, for any method.
  if (f.kind === 'chunked') out['transfer-encoding'] = 'chunked';
  return out;
}
