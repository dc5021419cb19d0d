// Gateway API HTTPRoute for the waypoint, as Istio ambient mode uses it: a route whose
// parentRefs name a Service (group "", kind Service: the GAMMA mesh binding) configures the
// waypoint for requests sent to that Service's VIP and port. A pure library:
//
//   checkHttpRoute(doc)                 problems with a document, each with its path in the YAML
//   compileRoutes(docs, service)        the table for one Service port, in precedence order
//   route(table, request, random?)      which backend a request goes to, with headers, timeout, retry
//   applyHeaderModifiers(headers, mods) the RequestHeaderModifier filters, applied
//   parseGatewayDuration('1h30m')       Gateway API durations, in milliseconds
//
// Retries follow Gateway API's `retry` stanza (v1.2, experimental channel) as Istio converts
// it: `retry: { attempts: 3, codes: [500, 502, 503, 504] }` retries those statuses and, as the
// spec asks and Istio does for every retry stanza, a connection that could not be made. A rule
// without the stanza gets Istio's default (2 retries, on connect failure and 503).
//
// Files: doc.ts (the document as written) and check.ts (what the API server would refuse);
// compile-routes.ts builds table.ts's compiled table, ordered by precedence.ts, with regex.ts and
// duration.ts for values; match.ts and route.ts answer a request; headers.ts applies the filters.
export * from './doc';
export { checkHttpRoute } from './check';
export type { HttpRouteProblem } from './check';
export { attachesTo, compileRoutes, HttpRouteError, ISTIO_DEFAULT_RETRY } from './compile-routes';
export type { CompileOptions } from './compile-routes';
export { parseGatewayDuration, durationProblem } from './duration';
export { applyHeaderModifier, applyHeaderModifiers, joinedHeaderValue } from './headers';
export type { HeaderModifier, HeaderPair, RequestHeaders } from './headers';
export { matchesRequest, splitPath } from './match';
export type { RouteRequest, SplitPath } from './match';
export { compareMatches } from './precedence';
export { route, pickBackend, NO_BACKEND_STATUS, NO_ROUTE_STATUS } from './route';
export type { ForwardDecision, MatchedRule, NoBackendDecision, NoRouteDecision, RouteDecision } from './route';
export type {
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
