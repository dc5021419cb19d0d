// The request target as the connection manager hands it on: normalized before routes and RBAC
// see it (meshConfig.pathNormalization, path-normalization.ts), or refused as Envoy
// refuses it.
import type * as http from 'node:http';
import { headerValue } from '../hbone/headers';
import type { PathNormalizationType } from '../mesh/path-normalization-type';
import { normalizeRequestTarget, PathRejection } from './path-normalization';
import { framingOf, isReplayable } from './framing';

/**
 * The request target as Envoy's HTTP/1 codec and connection manager leave it: req.url becomes
 * the normalized :path; an absolute-form target (GET http://host/path, as proxies are sent) is
 * split, never resolved by a URL parser first, and its authority replaces Host. Returns how
 * Envoy refuses the target, if it does. llhttp has already answered 400 (clientError) to what
 * Envoy's codec refuses too: spaces, controls and bytes above 0x7F; a raw "\" or "#" gets here.
 */
export function normalizeTarget(req: http.IncomingMessage, type: PathNormalizationType): PathRejection | undefined {
  const verdict = normalizeRequestTarget(req.url ?? '/', type);
  if (!verdict.ok) return verdict.rejection;
  req.url = verdict.path;
  if (verdict.authority !== undefined) req.headers.host = verdict.authority;
  return undefined;
}

/**
 * Envoy's local reply to a refused target: its status, an empty body (the codec's errors say
 * "Bad Request"), no response flag. The connection closes after a codec error, and after any
 * request with a body: Envoy answers before reading it and will not wait for it.
 */
export function answerRefused(req: http.IncomingMessage, res: http.ServerResponse, refused: PathRejection): void {
  const headers: http.OutgoingHttpHeaders = { 'content-length': Buffer.byteLength(refused.body) };
  if (refused.body !== '') headers['content-type'] = 'text/plain';
  if (refused.closeConnection || !isReplayable(framingOf(req))) headers.connection = 'close';
  res.writeHead(refused.status, headers).end(refused.body);
}

/** A request header's first value. */
export function header(req: http.IncomingMessage, name: string): string | undefined {
  return headerValue(req.headers[name]);
}
