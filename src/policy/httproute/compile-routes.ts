// Builds the route table a waypoint uses for one Service port (or an ingress Gateway for one
// listener) from every HTTPRoute in the scenario: keeps the routes whose parentRefs name that
// parent (and port), compiles their rules as Istio converts them for Envoy, and sorts all
// matches by Gateway API precedence.
import {
  CORE_GROUP,
  GATEWAY_GROUP,
  GATEWAY_KIND,
  HttpBackendRef,
  HttpRouteDoc,
  HttpRouteFilter,
  HttpRouteMatch,
  HttpRouteRule,
  ParentRef,
  SERVICE_KIND,
  SUPPORTED_FILTER_TYPE,
  ValueMatch,
} from './doc';
import { checkHttpRoute, HttpRouteProblem } from './check';
import { parseGatewayDuration } from './duration';
import type { HeaderModifier } from './headers';
import { compareMatches, compareRoutes } from './precedence';
import { compileFullMatch } from './regex';
import type {
  BackendTarget,
  CompiledBackend,
  CompiledMatch,
  CompiledRouteTable,
  CompiledRule,
  PathMatcher,
  RetryPolicy,
  RoutedService,
  SkippedRoute,
  ValueMatcher,
} from './table';

/** The CRD's defaults: a rule without matches matches every path; a route without rules has one such rule. */
const DEFAULT_MATCH: HttpRouteMatch = { path: { type: 'PathPrefix', value: '/' } };
const DEFAULT_RULE: HttpRouteRule = {};
const DEFAULT_WEIGHT = 1;
/** Istio's retry count when a retry stanza leaves `attempts` out. */
const DEFAULT_RETRY_ATTEMPTS = 2;

/**
 * Istio's mesh-wide retry policy, which Envoy applies to a rule without a `retry` stanza:
 * 2 retries on connect failure, refused stream, unavailable, cancelled, and a 503 response.
 */
export const ISTIO_DEFAULT_RETRY: RetryPolicy = Object.freeze({ attempts: 2, codes: Object.freeze([503]), onConnectFailure: true, source: 'istio-default' });

export interface CompileOptions {
  /** Whether a backend Service port exists; a backend for which it says no gets 500 for its share. */
  readonly backendExists?: (target: BackendTarget) => boolean;
}

export class HttpRouteError extends Error {
  override name = 'HttpRouteError';
  constructor(
    readonly route: string,
    readonly problems: readonly HttpRouteProblem[],
  ) {
    super(problems.map((p) => `HTTPRoute ${route}: ${p.path === '' ? '' : `${p.path}: `}${p.message}`).join('\n'));
  }
}

/**
 * The route table for one Service port. Every document must pass checkHttpRoute (an
 * HttpRouteError lists the problems otherwise). A table with no matches means no route is
 * attached, and the waypoint sends requests to the Service itself.
 */
export function compileRoutes(docs: readonly HttpRouteDoc[], service: RoutedService, options: CompileOptions = {}): CompiledRouteTable {
  const matches: CompiledMatch[] = [];
  const attached: Pick<CompiledMatch, 'createdAt' | 'rule'>[] = [];
  const skipped: SkippedRoute[] = [];
  const seen = new Set<string>();
  for (const doc of docs) {
    // Documents may come straight from YAML: name the route defensively until it is checked.
    const meta = doc.metadata as Partial<HttpRouteDoc['metadata']> | undefined;
    const route = `${String(meta?.namespace)}.${String(meta?.name)}`;
    const problems = checkHttpRoute(doc);
    if (problems.length > 0) throw new HttpRouteError(route, problems);
    const { namespace } = doc.metadata;
    if (seen.has(route)) throw new HttpRouteError(route, [{ path: 'metadata.name', message: 'another HTTPRoute has the same namespace and name' }]);
    seen.add(route);

    if (!(doc.spec.parentRefs ?? []).some((ref) => refersTo(ref, namespace, service))) continue;
    if (namespace !== service.namespace) {
      // GAMMA: a route in another namespace is a consumer route, for that namespace's clients only.
      skipped.push({
        route,
        reason: `a consumer route (namespace ${namespace}, not the Service's ${service.namespace}) applies only to clients in ${namespace}; hbone-sim applies producer routes only`,
      });
      continue;
    }
    const createdAt = doc.metadata.creationTimestamp ? Date.parse(doc.metadata.creationTimestamp) : 0;
    const rules = doc.spec.rules ?? [DEFAULT_RULE];
    rules.forEach((r, ruleIndex) => {
      const rule = compileRule(doc, r, ruleIndex, options);
      if (ruleIndex === 0) attached.push({ createdAt, rule });
      // An empty list counts as no list (Istio, too, treats a rule without matches as a catch-all).
      const ruleMatches = r.matches && r.matches.length > 0 ? r.matches : [DEFAULT_MATCH];
      ruleMatches.forEach((m, matchIndex) => matches.push(compileMatch(m, rule, matchIndex, createdAt)));
    });
  }
  matches.sort(compareMatches);
  attached.sort(compareRoutes);
  return { service, routes: attached.map((a) => a.rule.route), matches, skipped };
}

/** A parentRef names this Service port: kind Service in the core group, same name and namespace, and port/sectionName if given. */
/** Whether a route names `service` among its parents: what istiod checks to put it in that service's route configuration. */
export function attachesTo(doc: HttpRouteDoc, service: RoutedService): boolean {
  return (doc.spec.parentRefs ?? []).some((ref) => refersTo(ref, doc.metadata.namespace, service));
}

function refersTo(ref: ParentRef, routeNamespace: string, service: RoutedService): boolean {
  const isGateway = (ref.kind ?? GATEWAY_KIND) === GATEWAY_KIND && (ref.group ?? GATEWAY_GROUP) === GATEWAY_GROUP;
  const kindMatches = service.kind === GATEWAY_KIND ? isGateway : ref.kind === SERVICE_KIND && ref.group === CORE_GROUP;
  return (
    kindMatches &&
    ref.name === service.name &&
    (ref.namespace ?? routeNamespace) === service.namespace &&
    (ref.port === undefined || ref.port === service.port) &&
    (ref.sectionName === undefined || ref.sectionName === service.portName)
  );
}

function compileRule(doc: HttpRouteDoc, r: HttpRouteRule, ruleIndex: number, options: CompileOptions): CompiledRule {
  const { name, namespace } = doc.metadata;
  const backends: CompiledBackend[] = [];
  for (const b of r.backendRefs ?? []) {
    const weight = b.weight ?? DEFAULT_WEIGHT;
    // Weight 0 never receives traffic; leaving it out keeps the weighted draw simple.
    if (weight > 0) backends.push(compileBackend(b, weight, namespace, options));
  }
  const request = durationMs(r.timeouts?.request);
  const backendRequest = durationMs(r.timeouts?.backendRequest);
  let retry = r.retry ? routeRetry(r.retry) : ISTIO_DEFAULT_RETRY;
  // As Istio converts timeouts: backendRequest limits each try when the rule has a retry
  // stanza, and otherwise becomes the whole route's timeout.
  let timeoutMs = request;
  if (backendRequest !== undefined) {
    if (r.retry) retry = { ...retry, perTryTimeoutMs: backendRequest };
    else timeoutMs = backendRequest;
  }
  const declared = r.backendRefs?.length ?? 0;
  const noBackendReason = backends.length > 0 ? undefined : declared === 0 ? 'the rule has no backendRefs' : `every backendRef of the rule has weight 0`;
  return {
    route: `${namespace}.${name}`,
    namespace,
    name,
    ruleIndex,
    envoyName: r.name ?? `${namespace}.${name}.${ruleIndex}`,
    headerModifiers: headerModifiers(r.filters),
    backends,
    totalWeight: backends.reduce((sum, b) => sum + b.weight, 0),
    ...(noBackendReason ? { noBackendReason } : {}),
    ...(timeoutMs !== undefined ? { timeoutMs } : {}),
    retry,
  };
}

function compileBackend(b: HttpBackendRef, weight: number, routeNamespace: string, options: CompileOptions): CompiledBackend {
  const target: BackendTarget = { name: b.name, namespace: b.namespace ?? routeNamespace, port: b.port };
  let invalid: string | undefined;
  if (target.namespace !== routeNamespace) {
    invalid = `RefNotPermitted: a backendRef to namespace ${target.namespace} needs a ReferenceGrant there, which hbone-sim does not model`;
  } else if (options.backendExists && !options.backendExists(target)) {
    invalid = `BackendNotFound: Service ${target.name}.${target.namespace} has no port ${target.port}`;
  }
  return { target, weight, headerModifiers: headerModifiers(b.filters), ...(invalid ? { invalid } : {}) };
}

/** The retry stanza as Istio turns it into Envoy's policy; attempts 0 turns retries off. */
function routeRetry(r: NonNullable<HttpRouteRule['retry']>): RetryPolicy {
  const backoffMs = durationMs(r.backoff);
  return {
    attempts: r.attempts ?? DEFAULT_RETRY_ATTEMPTS,
    codes: [...(r.codes ?? [])],
    onConnectFailure: true,
    source: 'route',
    ...(backoffMs !== undefined ? { backoffMs } : {}),
  };
}

/** Zero ("0s") means no timeout, as does no value at all. */
function durationMs(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const ms = parseGatewayDuration(text);
  return ms === undefined || ms === 0 ? undefined : ms;
}

function headerModifiers(filters: readonly HttpRouteFilter[] | undefined): HeaderModifier[] {
  return (filters ?? [])
    .filter((f) => f.type === SUPPORTED_FILTER_TYPE && f.requestHeaderModifier)
    .map((f) => {
      const m = f.requestHeaderModifier ?? {};
      return {
        set: (m.set ?? []).map((h) => ({ name: h.name.toLowerCase(), value: h.value })),
        add: (m.add ?? []).map((h) => ({ name: h.name.toLowerCase(), value: h.value })),
        remove: (m.remove ?? []).map((n) => n.toLowerCase()),
      };
    });
}

function compileMatch(m: HttpRouteMatch, rule: CompiledRule, matchIndex: number, createdAt: number): CompiledMatch {
  return {
    rule,
    matchIndex,
    path: pathMatcher(m.path),
    ...(m.method !== undefined ? { method: m.method } : {}),
    // Header names are case-insensitive: of two entries for one name only the first counts.
    headers: valueMatchers(m.headers, (n) => n.toLowerCase()),
    queryParams: valueMatchers(m.queryParams, (n) => n),
    createdAt,
  };
}

function pathMatcher(path: HttpRouteMatch['path']): PathMatcher {
  const type = path?.type ?? 'PathPrefix';
  const value = path?.value ?? '/';
  if (type === 'RegularExpression') return { type, value, regex: regexOf(value) };
  // "When specified, a trailing / is ignored": /v2/ matches exactly what /v2 matches.
  if (type === 'PathPrefix' && value.length > 1 && value.endsWith('/')) return { type, value: value.slice(0, -1) };
  return { type, value };
}

function valueMatchers(items: readonly ValueMatch[] | undefined, key: (name: string) => string): ValueMatcher[] {
  const out: ValueMatcher[] = [];
  for (const item of items ?? []) {
    const name = key(item.name);
    if (out.some((m) => m.name === name)) continue;
    const type = item.type ?? 'Exact';
    out.push(type === 'RegularExpression' ? { name, type, value: item.value, regex: regexOf(item.value) } : { name, type, value: item.value });
  }
  return out;
}

function regexOf(pattern: string): RegExp {
  const r = compileFullMatch(pattern);
  // checkHttpRoute has already refused patterns that do not compile.
  if ('problem' in r) throw new Error(r.problem);
  return r.regex;
}
