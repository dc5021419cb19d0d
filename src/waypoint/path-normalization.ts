// meshConfig.pathNormalization as a waypoint applies it: the request path that routing, RBAC and
// the pod all see. Facts, read in istio/istio, istio/api and envoyproxy/envoy:
//
// - Istio maps each mode onto three fields of every HTTP connection manager it writes (the
//   waypoint's included), with path_with_escaped_slashes_action KEEP_UNCHANGED unless told:
//     NONE                      normalize_path false
//     BASE (DEFAULT is BASE)    normalize_path true
//     MERGE_SLASHES             normalize_path true, merge_slashes true
//     DECODE_AND_MERGE_SLASHES  normalize_path true, merge_slashes true,
//                               path_with_escaped_slashes_action UNESCAPE_AND_FORWARD
// - Envoy's connection manager then rewrites :path before any filter or route sees it
//   (ConnectionManagerUtility::maybeNormalizePath), in this order:
//     1. a fragment ("#...") is cut off: Envoy would reject it, but Istio's bootstrap sets the
//        runtime flag http_reject_path_with_fragment to false, so it is stripped, in every mode;
//     2. UNESCAPE_AND_FORWARD: %2F %2f become "/" and %5C %5c "\", in the path only;
//     3. normalize_path: ";params" are cut from "." and ".." segments, then the path (never the
//        query) goes through Chromium's URL path canonicalizer (below); if that fails, the
//        request is answered 400 with response code details path_normalization_failed;
//     4. merge_slashes: runs of "/" in the path become one.
//   The rewritten :path is what the upstream receives: the pod sees the same path RBAC judged.
// - Chromium's canonicalizer, as Envoy uses it: "\" is a slash; "." and ".." segments (also
//   written %2e, either case) are resolved per RFC 3986 and never climb above the root; an
//   escaped unreserved character (A-Z a-z 0-9 - . _ ~) is decoded; any other escape is kept as
//   written (hex case included, so %2f stays %2f); a "%" that starts no escape is kept; a few raw
//   characters are escaped (see MUST_ESCAPE); %00 fails. Slashes are never merged by it.
//   (Chromium itself stopped decoding escapes in paths in December 2023; Envoy's copy of its URL
//   library predates that, and Envoy's and Istio's tests still expect the behaviour above.)
//
// The input is what node:http hands us as req.url. Its parser (llhttp, strict) already refuses a
// target with a space, a control character, DEL or a byte above 0x7F (400 before our code runs),
// and a target that is neither "/...", "*" nor "scheme://...". It does pass on a raw "\", a "#"
// (and what follows) and the characters " < > ^ ` { | }, so all of those reach this module.

import { PATH_NORMALIZATION, PathNormalizationType } from '../mesh/path-normalization-type';

/** The HttpConnectionManager fields a mode becomes, named as in Envoy's config dump. */
export interface HcmPathOptions {
  readonly normalize_path: boolean;
  readonly merge_slashes: boolean;
  readonly path_with_escaped_slashes_action: 'KEEP_UNCHANGED' | 'UNESCAPE_AND_FORWARD';
}

/** Istio's mapping of a normalization type onto the connection manager (its listener builder). */
export function hcmPathOptions(type: PathNormalizationType): HcmPathOptions {
  switch (type) {
    case PATH_NORMALIZATION.NONE:
      return { normalize_path: false, merge_slashes: false, path_with_escaped_slashes_action: 'KEEP_UNCHANGED' };
    case PATH_NORMALIZATION.DEFAULT:
    case PATH_NORMALIZATION.BASE:
      return { normalize_path: true, merge_slashes: false, path_with_escaped_slashes_action: 'KEEP_UNCHANGED' };
    case PATH_NORMALIZATION.MERGE_SLASHES:
      return { normalize_path: true, merge_slashes: true, path_with_escaped_slashes_action: 'KEEP_UNCHANGED' };
    case PATH_NORMALIZATION.DECODE_AND_MERGE_SLASHES:
      return { normalize_path: true, merge_slashes: true, path_with_escaped_slashes_action: 'UNESCAPE_AND_FORWARD' };
  }
}

/** How Envoy refuses a request target, as its local reply and access log show it. */
export interface PathRejection {
  readonly status: number;
  /** %RESPONSE_CODE_DETAILS% */
  readonly details: string;
  /** The local reply's body: empty for the connection manager's checks, the reason phrase for the codec's. */
  readonly body: string;
  /** The HTTP/1 codec's errors close the connection after the reply; the connection manager's do not. */
  readonly closeConnection: boolean;
}

export const PATH_REJECTIONS = {
  /** normalize_path could not canonicalize the path (e.g. it holds %00). */
  normalizationFailed: { status: 400, details: 'path_normalization_failed', body: '', closeConnection: false },
  /** An absolute-form target whose rest does not start with "/" (http://host?x). */
  notAbsolutePath: { status: 404, details: 'absolute_path_rejected', body: '', closeConnection: false },
  /** An absolute-form target the codec cannot parse (no host). */
  invalidUrl: { status: 400, details: 'http1.invalid_url', body: 'Bad Request', closeConnection: true },
  /** A scheme other than http or https. */
  invalidScheme: { status: 400, details: 'http1.invalid_scheme', body: 'Bad Request', closeConnection: true },
} as const satisfies Record<string, PathRejection>;

export type TargetVerdict =
  { readonly ok: true; readonly path: string; readonly authority?: string } | { readonly ok: false; readonly rejection: PathRejection };

// scheme "://" authority rest: the only absolute form llhttp lets through.
const ABSOLUTE_FORM_RE = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/([^/?#]*)(.*)$/s;
const SCHEMES = new Set(['http', 'https']);

/**
 * A request target as the waypoint's connection manager turns it into :path (and, for the
 * absolute form GET http://host/path, :authority, which replaces the Host header as RFC 9112
 * says and Envoy's HTTP/1 codec does). The absolute form's path is taken as written, never
 * resolved by a URL parser first, so NONE forwards it untouched as Envoy does.
 */
export function normalizeRequestTarget(target: string, type: PathNormalizationType): TargetVerdict {
  // OPTIONS * has no path to normalize; Envoy's codec passes it on as it is.
  if (target === '*') return { ok: true, path: target };
  if (target.startsWith('/')) return verdict(normalizeRequestPath(target, type));
  const m = ABSOLUTE_FORM_RE.exec(target);
  if (!m) return { ok: false, rejection: PATH_REJECTIONS.invalidUrl };
  const [, scheme, authorityPart, rest] = m;
  if (!SCHEMES.has(scheme.toLowerCase())) return { ok: false, rejection: PATH_REJECTIONS.invalidScheme };
  // Userinfo (user:pass@) is not part of :authority.
  const authority = authorityPart.slice(authorityPart.lastIndexOf('@') + 1);
  if (authority === '') return { ok: false, rejection: PATH_REJECTIONS.invalidUrl };
  // "http://host" alone means "/"; "http://host?x" leaves a :path Envoy refuses as not absolute.
  const path = rest === '' ? '/' : rest;
  if (!path.startsWith('/')) return { ok: false, rejection: PATH_REJECTIONS.notAbsolutePath };
  const v = verdict(normalizeRequestPath(path, type));
  return v.ok ? { ...v, authority } : v;
}

function verdict(path: string | undefined): TargetVerdict {
  return path === undefined ? { ok: false, rejection: PATH_REJECTIONS.normalizationFailed } : { ok: true, path };
}

/**
 * Envoy's maybeNormalizePath with Istio's settings: an origin-form :path (query included) in,
 * the :path every filter, the router and the upstream see out, or undefined when Envoy answers
 * 400 path_normalization_failed.
 */
export function normalizeRequestPath(path: string, type: PathNormalizationType): string | undefined {
  const options = hcmPathOptions(type);
  let p = stripFragment(path);
  if (options.path_with_escaped_slashes_action === 'UNESCAPE_AND_FORWARD') p = unescapeSlashes(p);
  if (options.normalize_path) {
    const canonical = canonicalPath(p);
    if (canonical === undefined) return undefined;
    p = canonical;
  }
  if (options.merge_slashes) p = mergeSlashes(p);
  return p;
}

/** Everything from the first "#" on goes (it may sit in the query: /a?b#c is /a?b). */
export function stripFragment(path: string): string {
  const at = path.indexOf('#');
  return at === -1 ? path : path.slice(0, at);
}

/** Splits at the first "?": [path, "?query" or ""]. */
function splitQuery(path: string): [string, string] {
  const at = path.indexOf('?');
  return at === -1 ? [path, ''] : [path.slice(0, at), path.slice(at)];
}

const ESCAPED_SLASH_RE = /%2f|%5c/gi;

/** UNESCAPE_AND_FORWARD: %2F and %5C (either case) decoded in the path; the query is left alone. */
export function unescapeSlashes(path: string): string {
  const [p, query] = splitQuery(path);
  return p.replace(ESCAPED_SLASH_RE, (e) => (e[1] === '2' ? '/' : '\\')) + query;
}

/** merge_slashes: runs of "/" become one in the path, keeping a leading and a trailing "/". */
export function mergeSlashes(path: string): string {
  const [p, query] = splitQuery(path);
  if (!p.includes('//')) return path;
  // Envoy's own shape, quirk included: "//" alone stays "//" (leading "/" + nothing + trailing "/").
  const lead = p.startsWith('/') ? '/' : '';
  const trail = p.endsWith('/') ? '/' : '';
  return (
    lead +
    p
      .split('/')
      .filter((s) => s !== '')
      .join('/') +
    trail +
    query
  );
}

/**
 * normalize_path: ";params" cut from dot segments, then the path canonicalized and the query put
 * back as it was. undefined when the canonicalizer fails.
 */
export function canonicalPath(path: string): string | undefined {
  const [p, query] = splitQuery(stripParametersFromDotSegments(path));
  const canonical = canonicalizePath(p);
  return canonical === undefined ? undefined : canonical + query;
}

const DOT_PARAMS_RE = /^(\.\.?);/;

/**
 * "/..;x/" is "/../" to a servlet container but a plain name to the canonicalizer: Envoy cuts the
 * parameters from "." and ".." segments first (runtime flag strip_dotdot_segments_with_parameters,
 * on by default since the 2026 path-parameter fix). Segments split on "/" only.
 */
export function stripParametersFromDotSegments(path: string): string {
  const at = path.search(/[?#]/);
  const [p, rest] = at === -1 ? [path, ''] : [path.slice(0, at), path.slice(at)];
  if (!p.includes('.;')) return path;
  const segments = p.split('/').map((s) => DOT_PARAMS_RE.exec(s)?.[1] ?? s);
  return segments.join('/') + rest;
}

// ---- Chromium's URL path canonicalizer (url_canon_path.cc), as Envoy's normalize_path runs it ----

/** Escaped, these are decoded: RFC 3986's unreserved characters ("." is handled as a dot). */
const UNRESERVED_RE = /^[A-Za-z0-9\-_~]$/;
/** Raw, these are percent-encoded (with upper-case hex); so are controls, DEL and bytes above 0x7F. */
const MUST_ESCAPE = new Set([' ', '"', '#', '<', '>', '?', '^', '`', '{', '|', '}']);
const HEX_RE = /^[0-9A-Fa-f]$/;
/** No input has a "%" this far back: the canonicalizer's INT_MIN. */
const NO_INVALID_PERCENT = -Infinity;

/** "." or %2e / %2E at `i`: the number of characters the dot takes, else 0. */
function dotLength(s: string, i: number): number {
  if (s[i] === '.') return 1;
  if (s[i] === '%' && i + 3 <= s.length && s[i + 1] === '2' && (s[i + 2] === 'e' || s[i + 2] === 'E')) return 3;
  return 0;
}

function isSlash(c: string | undefined): boolean {
  return c === '/' || c === '\\';
}

/** The byte of a valid %XX at `i` of `chars`, else undefined. */
function decodeEscape(chars: readonly string[] | string, i: number): number | undefined {
  if (i + 3 > chars.length || !HEX_RE.test(chars[i + 1]) || !HEX_RE.test(chars[i + 2])) return undefined;
  return parseInt(chars[i + 1] + chars[i + 2], 16);
}

/** %XX with upper-case hex, one character per element (the output is indexed by character). */
function escapeByte(b: number): string[] {
  return ['%', ...b.toString(16).toUpperCase().padStart(2, '0')];
}

type DotKind = 'name' | 'current' | 'parent';

/** After a dot that follows a slash: is it ".", "..", or part of a name? And how many more characters it takes. */
function classifyAfterDot(s: string, after: number): [DotKind, number] {
  if (after === s.length) return ['current', 0];
  if (isSlash(s[after])) return ['current', 1];
  const second = dotLength(s, after);
  if (second > 0) {
    const next = after + second;
    if (next === s.length) return ['parent', second];
    if (isSlash(s[next])) return ['parent', second + 1];
  }
  return ['name', 0];
}

/** Drops the last segment of the output, which ends in "/", never going above the first "/". */
function backUpToPreviousSlash(out: string[]): void {
  let i = out.length - 1;
  if (i === 0) return;
  do i--;
  while (out[i] !== '/' && i > 0);
  out.length = i + 1;
}

/**
 * "%%30" must not come out as "%0" that a second canonicalization would read as %00: when a
 * decoded character lands right after a "%" that started no escape, and the three now read as
 * an escape, that "%" becomes %25 (Chromium's CheckForNestedEscapes).
 */
function checkNestedEscape(s: string, next: number, percentAt: number, out: string[]): void {
  const length = out.length;
  const decoded = out[length - 1];
  const appendNext = percentAt === length - 2;
  if (appendNext) {
    if (next === s.length || s.charCodeAt(next) >= 0x80) return;
    out.push(s[next]);
  }
  if (decodeEscape(out, percentAt) !== undefined) {
    if (!appendNext) out.push(out[percentAt + 1]);
    out[percentAt + 1] = '2';
    out[percentAt + 2] = '5';
    out.push(decoded);
  } else if (appendNext) {
    out.length = length;
  }
}

/** Chromium's CanonicalizePath on a path without query: the canonical path, or undefined if it fails. */
export function canonicalizePath(path: string): string | undefined {
  if (path === '') return '/';
  const out: string[] = isSlash(path[0]) ? [] : ['/'];
  let ok = true;
  let invalidPercentAt = NO_INVALID_PERCENT;
  for (let i = 0; i < path.length; i++) {
    const c = path[i];
    const code = path.charCodeAt(i);
    const dot = dotLength(path, i);
    if (dot > 0) {
      if (out.length > 0 && out[out.length - 1] === '/') {
        const [kind, consumed] = classifyAfterDot(path, i + dot);
        if (kind === 'name') out.push('.');
        else if (kind === 'parent') backUpToPreviousSlash(out);
        i += dot - 1 + (kind === 'name' ? 0 : consumed);
      } else {
        out.push('.');
        i += dot - 1;
      }
    } else if (c === '\\') {
      out.push('/');
    } else if (c === '%') {
      const byte = decodeEscape(path, i);
      if (byte === undefined) {
        // Not an escape: kept, and remembered for the nested-escape check.
        invalidPercentAt = out.length;
        out.push('%');
        continue;
      }
      const ch = String.fromCharCode(byte);
      if (UNRESERVED_RE.test(ch)) {
        out.push(ch);
        if (invalidPercentAt >= out.length - 3) checkNestedEscape(path, i + 3, invalidPercentAt, out);
      } else {
        out.push('%', path[i + 1], path[i + 2]);
        if (byte === 0) ok = false;
      }
      i += 2;
    } else if (code === 0) {
      out.push(...escapeByte(0));
      ok = false;
    } else if (code < 0x20 || code === 0x7f || MUST_ESCAPE.has(c)) {
      out.push(...escapeByte(code));
    } else if (code > 0x7f) {
      // Never from llhttp (it refuses such bytes); escaped byte by byte as UTF-8 if it came.
      for (const b of Buffer.from(c, 'utf8')) out.push(...escapeByte(b));
    } else {
      out.push(c);
    }
  }
  return ok ? out.join('') : undefined;
}
