// Does one compiled match fit a request? Path, method, headers and query parameters must all
// fit (the parts of one match are ANDed; the matches of a rule are ORed by the caller).
import { joinedHeaderValue, RequestHeaders } from './headers';
import type { CompiledMatch, PathMatcher, ValueMatcher } from './table';

/** A request as the waypoint sees it after the CONNECT tunnel is opened. */
export interface RouteRequest {
  readonly method: string;
  /** The :path, with its query string, e.g. /reviews/0?x=1. */
  readonly path: string;
  /** Lower-case names. */
  readonly headers: RequestHeaders;
}

/** A request's path split once into what path and query matching read. */
export interface SplitPath {
  readonly path: string;
  /** The first value of each query parameter, undecoded (as Envoy's query matcher compares). */
  readonly query: ReadonlyMap<string, string>;
}

export function splitPath(raw: string): SplitPath {
  const q = raw.indexOf('?');
  const path = q < 0 ? raw : raw.slice(0, q);
  const query = new Map<string, string>();
  if (q >= 0) {
    for (const pair of raw.slice(q + 1).split('&')) {
      if (pair === '') continue;
      const eq = pair.indexOf('=');
      const name = eq < 0 ? pair : pair.slice(0, eq);
      // A repeated parameter: Gateway API recommends matching its first value.
      if (!query.has(name)) query.set(name, eq < 0 ? '' : pair.slice(eq + 1));
    }
  }
  return { path, query };
}

export function matchesRequest(m: CompiledMatch, request: RouteRequest, split: SplitPath = splitPath(request.path)): boolean {
  return (
    pathFits(m.path, split.path) &&
    (m.method === undefined || m.method === request.method) &&
    m.headers.every((h) => valueFits(h, joinedHeaderValue(request.headers, h.name))) &&
    m.queryParams.every((q) => valueFits(q, split.query.get(q.name)))
  );
}

function pathFits(m: PathMatcher, path: string): boolean {
  switch (m.type) {
    case 'Exact':
      return path === m.value;
    case 'PathPrefix':
      // Whole path segments: /v2 matches /v2 and /v2/x, not /v2x.
      return m.value === '/' || path === m.value || path.startsWith(`${m.value}/`);
    case 'RegularExpression':
      return m.regex !== undefined && m.regex.test(path);
  }
}

function valueFits(m: ValueMatcher, actual: string | undefined): boolean {
  if (actual === undefined) return false;
  return m.type === 'Exact' ? actual === m.value : m.regex !== undefined && m.regex.test(actual);
}
