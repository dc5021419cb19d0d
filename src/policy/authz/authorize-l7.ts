// Istio AuthorizationPolicy as the waypoint enforces it: Envoy's HTTP RBAC filter, with the
// request's method, path, host and headers on top of the L4 attributes ztunnel sees.
//
// Order (DESIGN.md section 5, Istio's): CUSTOM, then any matching DENY denies; no ALLOW policy
// applying to the target allows; a matching ALLOW allows; otherwise deny. AUDIT never changes the
// decision. Rules come from the same compiled form ztunnel uses (compile-policy.ts) and the L4 parts
// go through the same matchers (authorize-l4.ts), so both proxies read a policy the same way.
//
// Envoy details kept here on purpose, because a learner compares them with a real waypoint:
// - istiod turns every rule into one Envoy policy named ns[<ns>]-policy[<name>]-rule[<i>], all the
//   rules of one action go into one RBAC filter, and Envoy keeps them in a name-ordered map: the
//   "matched policy" it reports is the first matching name in that order, not in document order.
// - A denial is logged "enforced denied, matched policy <name|none>", answered 403 with body
//   "RBAC: access denied", and its %RESPONSE_CODE_DETAILS% is rbac_access_denied_matched_policy[...].
// - Paths are matched on the URL path (query and fragment removed) exactly as the connection
//   manager left :path. Normalization (meshConfig.pathNormalization, waypoint/path-normalization.ts) runs
//   there, before this filter, and this filter resolves nothing itself: under NONE, /a/../admin
//   is not /admin to it, as in Envoy.
// - Hosts match :authority case-insensitively and with its port, as in Istio ("example.com" does
//   not match "example.com:9080"; write "example.com*" or list both).
//
// Which policies apply to a request is waypoint-attachment.ts's question; this file matches them.
import type { AuthorizationPolicyDoc } from '../../mesh/model';
import { cidrContains, matchString } from './match';
import {
  CompiledCondition,
  CompiledOperation,
  CompiledPolicy,
  CompiledRule,
  CompiledSource,
  compilePolicy,
  L4_CONDITION_KEYS,
  rbacPolicyName,
} from './compile-policy';
import { BaseDecision, L4Connection, matchConditionL4, matchSourceL4, Peer, peerOf } from './authorize-l4';
import { AuthorizeL7Options, WaypointTarget, appliesAtWaypoint } from './waypoint-attachment';

/** What Envoy's RBAC filter answers a denied request with. */
export const RBAC_DENIED_STATUS = 403;
export const RBAC_DENIED_BODY = 'RBAC: access denied';

/** One HTTP request as the waypoint's RBAC filter sees it. Addresses are cluster addresses. */
export interface L7Request {
  /** The client's mTLS identity (from HBONE) without "spiffe://"; absent for plaintext. */
  readonly sourcePrincipal?: string;
  /** Only used when sourcePrincipal is not of the ns/<ns>/sa/<sa> form (as in authorize-l4.ts). */
  readonly sourceNamespace?: string;
  readonly sourceIp: string;
  readonly destinationIp: string;
  readonly destinationPort: number;
  /** :method, matched case-sensitively (GET, not get). */
  readonly method: string;
  /** :path as the connection manager left it (normalized), query included; paths match the part before "?". */
  readonly path: string;
  /** :authority (the Host header of HTTP/1.1), port included when the client sent one. */
  readonly host: string;
  /** Other request headers, lower-case names. Several values of one header are joined with "," as Envoy does. */
  readonly headers?: Readonly<Record<string, string | readonly string[] | undefined>>;
}

/** reason, for DENY and unmatched ALLOW, is Envoy's debug log line: "enforced denied, matched policy <name|none>". */
export interface L7Decision extends BaseDecision {
  /** Denials only: Envoy's %RESPONSE_CODE_DETAILS%, e.g. rbac_access_denied_matched_policy[none]. */
  readonly responseCodeDetails?: string;
  /** The policies that apply to the target, as ns[<ns>]-policy[<name>], in the order given. */
  readonly applicable: readonly string[];
}

// ---- request attributes ----

const SPLIT_QUERY_RE = /[?#]/;

/** The path RBAC's url_path matcher sees: query and fragment removed (PathUtil::removeQueryAndFragment), nothing resolved. */
export function requestUrlPath(path: string): string {
  const cut = path.search(SPLIT_QUERY_RE);
  return cut === -1 ? path : path.slice(0, cut);
}

// Envoy's uri_template operators, which Istio emits for paths containing {*} or {**}.
const TEMPLATE_LITERAL = "A-Za-z0-9\\-._~%!$&'()+,;:@=";
const TEMPLATE_RE = /\{\*\*?\}/;
const templateCache = new Map<string, RegExp>();

function templateRegex(pattern: string): RegExp {
  let re = templateCache.get(pattern);
  if (!re) {
    const body = pattern
      .split(/(\{\*\*\}|\{\*\})/)
      .map((part) => {
        if (part === '{**}') return `[${TEMPLATE_LITERAL}/]*`;
        if (part === '{*}') return `[${TEMPLATE_LITERAL}]+`;
        return part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      })
      .join('');
    re = new RegExp(`^${body}$`);
    templateCache.set(pattern, re);
  }
  return re;
}

/**
 * A `paths`/`notPaths` entry against a URL path (already without query): exact, "abc*" prefix,
 * "*abc" suffix, "*" any, or a template with {*} (one segment) and {**} (any number of segments).
 * Case-sensitive.
 */
export function matchPath(pattern: string, urlPath: string): boolean {
  if (TEMPLATE_RE.test(pattern)) return templateRegex(pattern).test(urlPath);
  return matchString(pattern, urlPath);
}

/** A `hosts`/`notHosts` entry against :authority, case-insensitive, port included; "*" is "present". */
export function matchHost(pattern: string, host: string | undefined): boolean {
  if (host === undefined) return false;
  if (pattern === '*') return true;
  return matchString(pattern.toLowerCase(), host.toLowerCase());
}

/** A request.headers[...] value: "*" is "present" (even empty), otherwise exact/prefix/suffix, case-sensitive. */
function matchHeaderValue(pattern: string, value: string | undefined): boolean {
  if (value === undefined) return false;
  if (pattern === '*') return true;
  if (pattern.startsWith('*')) return value.endsWith(pattern.slice(1));
  if (pattern.endsWith('*')) return value.startsWith(pattern.slice(0, -1));
  return value === pattern;
}

/**
 * A header as Envoy's header map holds it. The pseudo-headers come from the request line; "host"
 * is absent, because Envoy's HTTP/1 codec stores the Host header as :authority (so, as in Istio,
 * request.headers[host] never matches: use hosts or request.headers[:authority]).
 */
export function requestHeader(req: L7Request, name: string): string | undefined {
  const key = name.toLowerCase();
  switch (key) {
    case ':method':
      return req.method;
    case ':path':
      return req.path;
    case ':authority':
      return req.host;
    case 'host':
      return undefined;
  }
  const headers = req.headers ?? {};
  let value = headers[key];
  if (value === undefined) {
    const found = Object.keys(headers).find((k) => k.toLowerCase() === key);
    value = found === undefined ? undefined : headers[found];
  }
  if (value === undefined) return undefined;
  return typeof value === 'string' ? value : value.length > 0 ? value.join(',') : undefined;
}

/**
 * The client address for remote.ip and remoteIpBlocks. The waypoint's connection manager has
 * use_remote_address false and no trusted hops, so Envoy takes the last X-Forwarded-For entry
 * when there is one, else the peer address (the HBONE source).
 */
export function remoteIpOf(req: L7Request): string {
  const xff = requestHeader(req, 'x-forwarded-for');
  const last = xff?.split(',').pop()?.trim();
  return last !== undefined && last !== '' ? last : req.sourceIp;
}

function l4Of(req: L7Request): L4Connection {
  return {
    sourcePrincipal: req.sourcePrincipal,
    sourceNamespace: req.sourceNamespace,
    sourceIp: req.sourceIp,
    destinationIp: req.destinationIp,
    destinationPort: req.destinationPort,
  };
}

/** `positive` must match if present; `negative` must not match if present. */
function check<T>(positive: readonly T[] | undefined, negative: readonly T[] | undefined, hit: (v: T) => boolean): boolean {
  if (positive && !positive.some(hit)) return false;
  if (negative && negative.some(hit)) return false;
  return true;
}

// ---- rule matching ----

/**
 * One `from[].source`. requestPrincipals need a JWT, which the simulator never has: the attribute
 * is absent, so requestPrincipals never match and notRequestPrincipals always do (Envoy's `not`
 * of a missing metadata value), the way a real waypoint treats a request without a token.
 */
export function matchSourceL7(src: CompiledSource, req: L7Request): boolean {
  if (!matchSourceL4(src, l4Of(req))) return false;
  if (src.requestPrincipals) return false;
  return check(src.remoteIpBlocks, src.notRemoteIpBlocks, (b) => cidrContains(b, remoteIpOf(req)));
}

/** One `to[].operation`: ports, methods, paths and hosts, each with its not-form. */
export function matchOperationL7(op: CompiledOperation, req: L7Request): boolean {
  const urlPath = requestUrlPath(req.path);
  return (
    check(op.ports, op.notPorts, (p) => p === req.destinationPort) &&
    check(op.methods, op.notMethods, (m) => matchString(m, req.method)) &&
    check(op.paths, op.notPaths, (p) => matchPath(p, urlPath)) &&
    check(op.hosts, op.notHosts, (h) => matchHost(h, req.host))
  );
}

const HEADER_KEY_RE = /^request\.headers\[(.+)\]$/;

/**
 * One `when` condition. L4 keys as ztunnel reads them; request.headers[<name>] against the
 * header; remote.ip as above. request.auth.* (JWT), connection.sni (the waypoint's inner
 * connection is plain HTTP) and experimental.* are never present: values never match and
 * notValues always do.
 */
export function matchConditionL7(c: CompiledCondition, req: L7Request): boolean {
  const l4 = matchConditionL4(c, l4Of(req));
  if (l4 !== undefined) return l4;
  if (c.key === 'remote.ip') return check(c.cidrs, c.notCidrs, (b) => cidrContains(b, remoteIpOf(req)));
  const header = HEADER_KEY_RE.exec(c.key);
  if (header) {
    const value = requestHeader(req, header[1]);
    return check(c.values, c.notValues, (v) => matchHeaderValue(v, value));
  }
  return check(c.values, c.notValues, () => false);
}

/** From, to and when are ANDed; entries inside from[] and to[] are ORed; an absent part does not constrain. */
export function matchRuleL7(rule: CompiledRule, req: L7Request): boolean {
  if (rule.from && !rule.from.some((s) => matchSourceL7(s, req))) return false;
  if (rule.to && !rule.to.some((o) => matchOperationL7(o, req))) return false;
  return rule.when.every((c) => matchConditionL7(c, req));
}

interface Candidate {
  readonly policy: CompiledPolicy;
  readonly rule: CompiledRule;
}

/** Byte order, as Envoy's std::map<std::string, ...> of policies (names are ASCII). */
function byName(a: Candidate, b: Candidate): number {
  return a.rule.name < b.rule.name ? -1 : a.rule.name > b.rule.name ? 1 : 0;
}

/** The rules of the given policies in Envoy's evaluation order. */
function envoyOrder(policies: readonly CompiledPolicy[]): Candidate[] {
  return policies.flatMap((policy) => policy.rules.map((rule) => ({ policy, rule }))).sort(byName);
}

/** Envoy's response code details for an RBAC denial (whitespace in the name becomes "_"). */
export function rbacResponseCodeDetails(policy: string | undefined): string {
  return `rbac_access_denied_matched_policy[${(policy ?? 'none').replace(/\s/g, '_')}]`;
}

/**
 * Decides one request at the waypoint. Throws a PolicyError if a document is invalid: check
 * documents with checkPolicy when loading so this never happens mid-flight. A proxy deciding
 * many requests for one target compiles once (compileAuthorizerL7) and calls the result.
 */
export function authorizeL7(docs: readonly AuthorizationPolicyDoc[], target: WaypointTarget, req: L7Request, options: AuthorizeL7Options = {}): L7Decision {
  return compileAuthorizerL7(docs, target, options)(req);
}

/** The RBAC filter of one target, compiled: every decision it can give is made up front. */
export type L7Authorizer = (req: L7Request) => L7Decision;

/**
 * The policies that apply to `target`, compiled into one function per rule and ordered as Envoy
 * evaluates them, with the decision each rule gives ready: a request only runs the matchers.
 * Decides exactly as the rules' matchers above (matchRuleL7) do. Throws a PolicyError if a
 * document is invalid, as authorizeL7 does.
 */
export function compileAuthorizerL7(docs: readonly AuthorizationPolicyDoc[], target: WaypointTarget, options: AuthorizeL7Options = {}): L7Authorizer {
  const compiled = docs.map((d) => ({ doc: d, policy: compilePolicy(d) }));
  const applicable = compiled.filter((c) => appliesAtWaypoint(c.doc, target, options)).map((c) => c.policy);
  const of = (action: string): CompiledPolicy[] => applicable.filter((p) => p.action === action);
  const names = applicable.map((p) => rbacPolicyName(p.namespace, p.name));
  const ready = (policies: readonly CompiledPolicy[], decide: (c: Candidate) => Omit<L7Decision, 'applicable'>): ReadyRule[] =>
    envoyOrder(policies).map((c) => ({ name: c.rule.name, matches: compileRuleL7(c.rule), decision: { ...decide(c), applicable: names } }));

  // CUSTOM hands the request to an ext-authz server, which the simulator does not run. A CUSTOM
  // policy whose rules match fails closed (as Envoy's ext_authz does when its server cannot answer,
  // failure_mode_allow being false in Istio), so the learner sees the policy rather than traffic
  // silently passing. Istio evaluates CUSTOM before DENY and ALLOW.
  const custom = ready(of('CUSTOM'), (c) => ({
    allowed: false,
    action: 'CUSTOM',
    policy: c.rule.name,
    reason: `denied by ${c.rule.name}: CUSTOM (ext-authz provider ${JSON.stringify(c.policy.provider ?? '')}) is not supported by the simulator, failing closed`,
    responseCodeDetails: 'ext_authz_error',
  }));
  const deny = ready(of('DENY'), (c) => ({
    allowed: false,
    action: 'DENY',
    policy: c.rule.name,
    reason: `enforced denied, matched policy ${c.rule.name}`,
    responseCodeDetails: rbacResponseCodeDetails(c.rule.name),
  }));
  const allows = of('ALLOW');
  const allow = ready(allows, (c) => ({ allowed: true, action: 'ALLOW', policy: c.rule.name, reason: `enforced allowed, matched policy ${c.rule.name}` }));
  // No ALLOW filter at all in Envoy's chain, so nothing to log for it.
  const otherwise: L7Decision =
    allows.length === 0
      ? { allowed: true, reason: 'no ALLOW policy applies to the target (allowed by default)', applicable: names }
      : { allowed: false, reason: 'enforced denied, matched policy none', responseCodeDetails: rbacResponseCodeDetails(undefined), applicable: names };
  // AUDIT: the first matching rule of each AUDIT policy, reported in name order.
  const audits = of('AUDIT').map((p) => ready([p], () => ({ allowed: true, reason: '' })));

  return (req) => {
    const v = new RequestView(req);
    const audited: string[] = [];
    for (const rules of audits) {
      const hit = rules.find((r) => r.matches(v));
      if (hit) audited.push(hit.name);
    }
    const decision = (custom.find((r) => r.matches(v)) ?? deny.find((r) => r.matches(v)) ?? allow.find((r) => r.matches(v)))?.decision ?? otherwise;
    return audited.length === 0 ? decision : { ...decision, audited: audited.sort(byString) };
  };
}

/** A rule ready to run: its matcher, and the decision it gives when it is the first to match. */
interface ReadyRule {
  readonly name: string;
  readonly matches: Matcher;
  readonly decision: L7Decision;
}

function byString(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

// ---- compiled matchers ----

/** A request's attributes as the rules read them, each worked out once, when first asked for. */
class RequestView {
  private l4Value?: L4Connection;
  private peerValue?: Peer;
  private urlPathValue?: string;
  private remoteIpValue?: string;
  private hostValue?: string;

  constructor(readonly req: L7Request) {}

  get l4(): L4Connection {
    return (this.l4Value ??= l4Of(this.req));
  }

  get peer(): Peer {
    return (this.peerValue ??= peerOf(this.l4));
  }

  get urlPath(): string {
    return (this.urlPathValue ??= requestUrlPath(this.req.path));
  }

  get remoteIp(): string {
    return (this.remoteIpValue ??= remoteIpOf(this.req));
  }

  /** :authority in lower case, for hosts (case-insensitive). */
  get host(): string {
    return (this.hostValue ??= this.req.host.toLowerCase());
  }
}

type Matcher = (v: RequestView) => boolean;

const always: Matcher = () => true;
const never: Matcher = () => false;

function allOf(matchers: readonly Matcher[]): Matcher {
  if (matchers.length === 0) return always;
  if (matchers.length === 1) return matchers[0];
  return (v) => matchers.every((m) => m(v));
}

function anyOf(matchers: readonly Matcher[]): Matcher {
  return (v) => matchers.some((m) => m(v));
}

/** `positive` must match if present; `negative` must not match if present: as check(), with the value read once. */
function checked<T, V>(
  positive: readonly T[] | undefined,
  negative: readonly T[] | undefined,
  value: (v: RequestView) => V,
  hit: (p: T, value: V) => boolean,
): Matcher[] {
  if (!positive && !negative) return [];
  return [
    (v) => {
      const x = value(v);
      return check(positive, negative, (p) => hit(p, x));
    },
  ];
}

/** A `paths` entry compiled: a template to its regex, anything else to Istio's string match. */
function pathMatcher(pattern: string): (urlPath: string) => boolean {
  if (TEMPLATE_RE.test(pattern)) {
    const re = templateRegex(pattern);
    return (p) => re.test(p);
  }
  return (p) => matchString(pattern, p);
}

/** A `hosts` entry compiled: "*" is "present"; otherwise case-insensitive, as matchHost. */
function hostMatcher(pattern: string): (host: string) => boolean {
  if (pattern === '*') return () => true;
  const lower = pattern.toLowerCase();
  return (h) => matchString(lower, h);
}

/** matchSourceL7, compiled. */
function compileSourceL7(src: CompiledSource): Matcher {
  // requestPrincipals need a JWT, which the simulator never has: such a source never matches.
  if (src.requestPrincipals) return never;
  return allOf([
    ...checked(
      src.principals,
      src.notPrincipals,
      (v) => v.peer.principal,
      (p, principal) => matchString(p, principal),
    ),
    ...checked(
      src.namespaces,
      src.notNamespaces,
      (v) => v.peer.namespace,
      (n, namespace) => matchString(n, namespace),
    ),
    ...checked(
      src.serviceAccounts,
      src.notServiceAccounts,
      (v) => v.peer,
      (sa, peer) => sa.namespace === peer.namespace && sa.serviceAccount === peer.serviceAccount,
    ),
    ...checked(
      src.ipBlocks,
      src.notIpBlocks,
      (v) => v.req.sourceIp,
      (c, ip) => cidrContains(c, ip),
    ),
    ...checked(
      src.remoteIpBlocks,
      src.notRemoteIpBlocks,
      (v) => v.remoteIp,
      (b, ip) => cidrContains(b, ip),
    ),
  ]);
}

/** matchOperationL7, compiled. */
function compileOperationL7(op: CompiledOperation): Matcher {
  const paths = op.paths?.map(pathMatcher);
  const notPaths = op.notPaths?.map(pathMatcher);
  const hosts = op.hosts?.map(hostMatcher);
  const notHosts = op.notHosts?.map(hostMatcher);
  return allOf([
    ...checked(
      op.ports,
      op.notPorts,
      (v) => v.req.destinationPort,
      (p, port) => p === port,
    ),
    ...checked(
      op.methods,
      op.notMethods,
      (v) => v.req.method,
      (m, method) => matchString(m, method),
    ),
    ...checked(
      paths,
      notPaths,
      (v) => v.urlPath,
      (m, urlPath) => m(urlPath),
    ),
    ...checked(
      hosts,
      notHosts,
      (v) => v.host,
      (m, host) => m(host),
    ),
  ]);
}

/** matchConditionL7, compiled: the key is read once, here. */
function compileConditionL7(c: CompiledCondition): Matcher {
  if (L4_CONDITION_KEYS.includes(c.key)) return (v) => matchConditionL4(c, v.l4) ?? false;
  if (c.key === 'remote.ip')
    return allOf(
      checked(
        c.cidrs,
        c.notCidrs,
        (v) => v.remoteIp,
        (b, ip) => cidrContains(b, ip),
      ),
    );
  const header = HEADER_KEY_RE.exec(c.key);
  if (header) {
    const name = header[1];
    return allOf(
      checked(
        c.values,
        c.notValues,
        (v) => requestHeader(v.req, name),
        (p, value) => matchHeaderValue(p, value),
      ),
    );
  }
  // An attribute the waypoint never has: the answer is the same for every request.
  const constant = check(c.values, c.notValues, () => false);
  return constant ? always : never;
}

/** matchRuleL7, compiled: the same answer for every request, with the rule read once. */
export function compileRuleMatcherL7(rule: CompiledRule): (req: L7Request) => boolean {
  const matches = compileRuleL7(rule);
  return (req) => matches(new RequestView(req));
}

function compileRuleL7(rule: CompiledRule): Matcher {
  const from = rule.from ? anyOf(rule.from.map(compileSourceL7)) : always;
  const to = rule.to ? anyOf(rule.to.map(compileOperationL7)) : always;
  return allOf([from, to, ...rule.when.map(compileConditionL7)].filter((m) => m !== always));
}
