// Routing one request through a compiled table, as the waypoint's Envoy does: the first match
// in precedence order picks the rule, and a weighted draw picks the backend.
//
// Outcomes, per Gateway API for a Service parent (GAMMA):
//   - no route attached to the Service port: undefined, and the caller sends the request to the
//     Service itself (the mesh's default, as if no route existed);
//   - routes attached but none matches: 404, Envoy's "NR" (route not found);
//   - the matching rule has no backend with weight above 0 (none listed, or all weight 0): 500;
//   - the draw lands on an invalid backend (not permitted or not found): 500 for that share.
import type { HeaderModifier } from './headers';
import { matchesRequest, RouteRequest, splitPath } from './match';
import type { BackendTarget, CompiledBackend, CompiledMatch, CompiledRouteTable, CompiledRule, RetryPolicy } from './table';

export const NO_ROUTE_STATUS = 404;
export const NO_BACKEND_STATUS = 500;

/** Which rule (and which of its matches) a request matched. */
export interface MatchedRule {
  /** <namespace>.<name> of the HTTPRoute. */
  readonly routeName: string;
  readonly ruleIndex: number;
  readonly matchIndex: number;
  /** The route name in Istio's Envoy configuration: the rule's name, else <namespace>.<name>.<index>. */
  readonly envoyRouteName: string;
}

export interface ForwardDecision extends MatchedRule {
  readonly kind: 'forward';
  readonly backend: BackendTarget;
  /** Apply in order (applyHeaderModifiers): the rule's filters, then the backend's. */
  readonly headerModifiers: readonly HeaderModifier[];
  /** The whole request's limit, retries included; undefined means none. */
  readonly timeoutMs?: number;
  readonly retry: RetryPolicy;
}

export interface NoBackendDecision extends MatchedRule {
  readonly kind: 'no-backend';
  readonly status: typeof NO_BACKEND_STATUS;
  readonly reason: string;
}

export interface NoRouteDecision {
  readonly kind: 'no-route';
  readonly status: typeof NO_ROUTE_STATUS;
  readonly reason: string;
}

export type RouteDecision = ForwardDecision | NoBackendDecision | NoRouteDecision;

/**
 * Routes a request. `random` returns a number in [0, 1), like Math.random; tests pass a seeded
 * generator. Returns undefined when no route is attached to the table's Service port.
 */
export function route(table: CompiledRouteTable, request: RouteRequest, random: () => number = Math.random): RouteDecision | undefined {
  if (table.matches.length === 0) return undefined;
  const split = splitPath(request.path);
  const hit = table.matches.find((m) => matchesRequest(m, request, split));
  if (!hit) {
    return { kind: 'no-route', status: NO_ROUTE_STATUS, reason: `no rule of ${table.routes.join(', ')} matches ${request.method} ${request.path}` };
  }
  const rule = hit.rule;
  const matched = matchedRule(hit);
  const backend = pickBackend(rule, random);
  if (!backend) return { ...matched, kind: 'no-backend', status: NO_BACKEND_STATUS, reason: rule.noBackendReason ?? 'no backend' };
  if (backend.invalid) return { ...matched, kind: 'no-backend', status: NO_BACKEND_STATUS, reason: backend.invalid };
  return {
    ...matched,
    kind: 'forward',
    backend: backend.target,
    headerModifiers: [...rule.headerModifiers, ...backend.headerModifiers],
    ...(rule.timeoutMs !== undefined ? { timeoutMs: rule.timeoutMs } : {}),
    retry: rule.retry,
  };
}

function matchedRule(m: CompiledMatch): MatchedRule {
  return { routeName: m.rule.route, ruleIndex: m.rule.ruleIndex, matchIndex: m.matchIndex, envoyRouteName: m.rule.envoyName };
}

/** A backend drawn with probability weight / total weight; undefined when the rule has none. */
export function pickBackend(rule: CompiledRule, random: () => number): CompiledBackend | undefined {
  if (rule.totalWeight <= 0) return undefined;
  let draw = random() * rule.totalWeight;
  for (const b of rule.backends) {
    if (draw < b.weight) return b;
    draw -= b.weight;
  }
  // Only reached through floating-point rounding at the very top of the range.
  return rule.backends[rule.backends.length - 1];
}
