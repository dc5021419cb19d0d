// The compiled form of the HTTPRoutes attached to one Service port: what the waypoint's
// inbound-vip|<port>|http|<service host> route configuration holds. Matches are kept in
// precedence order, so routing takes the first one that fits the request.
import type { HttpMethod, PathMatchType, ValueMatchType } from './doc';
import type { HeaderModifier } from './headers';

/**
 * What routes attach to: the Service port a waypoint serves (the destination VIP:port a request
 * was sent to), or, with kind Gateway, a listener of an ingress Gateway.
 */
export interface RoutedService {
  /** Service (the default) or Gateway. */
  readonly kind?: 'Service' | 'Gateway';
  readonly name: string;
  readonly namespace: string;
  /** The Service port (what clients dial), not the targetPort; or the Gateway listener's port. */
  readonly port: number;
  /** The port's name, or the listener's, for parentRefs that use sectionName. */
  readonly portName?: string;
}

/** Where a request is sent: a Service port. */
export interface BackendTarget {
  readonly name: string;
  readonly namespace: string;
  readonly port: number;
}

export interface CompiledBackend {
  readonly target: BackendTarget;
  /** Positive: a backend with weight 0 is dropped at compile time, as it never receives traffic. */
  readonly weight: number;
  /** The backend's own RequestHeaderModifier, applied after the rule's. */
  readonly headerModifiers: readonly HeaderModifier[];
  /** Why requests for this backend get 500 (a backend the route may not or cannot use). */
  readonly invalid?: string;
}

/** Istio's behaviour for a rule with a `retry` stanza; attempts are retries after the first try. */
export interface RetryPolicy {
  readonly attempts: number;
  /** Response statuses that are retried. */
  readonly codes: readonly number[];
  /**
   * Gateway API asks for retries when the connection could not be made (and Istio adds
   * connect-failure, refused-stream, unavailable and cancelled to every retry stanza).
   */
  readonly onConnectFailure: true;
  /** 'route': the rule's retry stanza; 'istio-default': Istio's mesh-wide policy, for rules without one. */
  readonly source: 'route' | 'istio-default';
  readonly backoffMs?: number;
  /** From timeouts.backendRequest: the limit for each try. */
  readonly perTryTimeoutMs?: number;
}

export interface CompiledRule {
  /** <namespace>.<name> of the HTTPRoute. */
  readonly route: string;
  readonly namespace: string;
  readonly name: string;
  readonly ruleIndex: number;
  /** The Envoy route name Istio gives this rule: its `name`, else <namespace>.<name>.<index>. */
  readonly envoyName: string;
  readonly headerModifiers: readonly HeaderModifier[];
  /** Backends with positive weight; empty means every request gets 500. */
  readonly backends: readonly CompiledBackend[];
  readonly totalWeight: number;
  /** Set when `backends` is empty: why every request this rule matches gets 500. */
  readonly noBackendReason?: string;
  /** Undefined: no timeout (Gateway API "0s", or none written). */
  readonly timeoutMs?: number;
  readonly retry: RetryPolicy;
}

export interface PathMatcher {
  readonly type: PathMatchType;
  /** As compared: a PathPrefix loses its trailing slash (except "/"). */
  readonly value: string;
  readonly regex?: RegExp;
}

export interface ValueMatcher {
  /** Header names lower case; query parameter names as written (they are case-sensitive). */
  readonly name: string;
  readonly type: ValueMatchType;
  readonly value: string;
  readonly regex?: RegExp;
}

export interface CompiledMatch {
  readonly rule: CompiledRule;
  readonly matchIndex: number;
  readonly path: PathMatcher;
  readonly method?: HttpMethod;
  readonly headers: readonly ValueMatcher[];
  readonly queryParams: readonly ValueMatcher[];
  /** Milliseconds since the epoch, 0 when the route has no creationTimestamp. */
  readonly createdAt: number;
}

/** A route that names the Service but is not applied, and why. */
export interface SkippedRoute {
  readonly route: string;
  readonly reason: string;
}

export interface CompiledRouteTable {
  readonly service: RoutedService;
  /** <namespace>.<name> of every attached route, oldest first (then by namespace/name). */
  readonly routes: readonly string[];
  /** Every match of every attached rule, highest precedence first. */
  readonly matches: readonly CompiledMatch[];
  readonly skipped: readonly SkippedRoute[];
}
