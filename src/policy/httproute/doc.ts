// A Gateway API HTTPRoute as a scenario writes it (gateway.networking.k8s.io/v1). In ambient
// mode a route that configures a waypoint names a Service in parentRefs (the "GAMMA" mesh
// binding): the waypoint applies it to requests whose original destination is that Service's
// VIP and port. These types describe the document after YAML parsing; checkHttpRoute
// (check.ts) is what proves an unknown value has this shape.

export const HTTPROUTE_API_VERSIONS: readonly string[] = ['gateway.networking.k8s.io/v1', 'gateway.networking.k8s.io/v1beta1'];
export const HTTPROUTE_KIND = 'HTTPRoute';

/** The core API group is written as the empty string; omitting `group` means gateway.networking.k8s.io. */
export const CORE_GROUP = '';
export const SERVICE_KIND = 'Service';
/** A parentRef's defaults: kind Gateway in the Gateway API's group. */
export const GATEWAY_KIND = 'Gateway';
export const GATEWAY_GROUP = 'gateway.networking.k8s.io';

export const PATH_MATCH_TYPES = ['Exact', 'PathPrefix', 'RegularExpression'] as const;
export type PathMatchType = (typeof PATH_MATCH_TYPES)[number];

/** Header and query-parameter matches: Exact (the default) or RegularExpression. */
export const VALUE_MATCH_TYPES = ['Exact', 'RegularExpression'] as const;
export type ValueMatchType = (typeof VALUE_MATCH_TYPES)[number];

export const HTTP_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'CONNECT', 'OPTIONS', 'TRACE', 'PATCH'] as const;
export type HttpMethod = (typeof HTTP_METHODS)[number];

/** Every filter type the API defines; only RequestHeaderModifier is simulated. */
export const FILTER_TYPES = [
  'RequestHeaderModifier',
  'ResponseHeaderModifier',
  'RequestMirror',
  'RequestRedirect',
  'URLRewrite',
  'ExtensionRef',
  'CORS',
  'ExternalAuth',
] as const;
export const SUPPORTED_FILTER_TYPE = 'RequestHeaderModifier';

export interface HttpRouteDoc {
  readonly apiVersion: string;
  readonly kind: 'HTTPRoute';
  readonly metadata: HttpRouteMetadata;
  readonly spec: HttpRouteSpec;
}

export interface HttpRouteMetadata {
  readonly name: string;
  readonly namespace: string;
  readonly labels?: Readonly<Record<string, string>>;
  readonly annotations?: Readonly<Record<string, string>>;
  /**
   * RFC 3339, normally set by the API server. Precedence ties go to the oldest route; routes
   * without one count as created at the same instant (as routes applied from one file are,
   * since the timestamp has one-second resolution), so namespace/name decides.
   */
  readonly creationTimestamp?: string;
}

export interface HttpRouteSpec {
  readonly parentRefs?: readonly ParentRef[];
  /** Accepted and checked, but a Service parent is matched by its VIP, not the Host header. */
  readonly hostnames?: readonly string[];
  /** Absent means one rule that matches everything and has no backend (every request gets 500). */
  readonly rules?: readonly HttpRouteRule[];
}

export interface ParentRef {
  /** Must be written as "" for a Service. */
  readonly group?: string;
  readonly kind?: string;
  /** Defaults to the route's namespace; a different namespace makes a consumer route. */
  readonly namespace?: string;
  readonly name: string;
  /** The Service port's name. */
  readonly sectionName?: string;
  /** The Service port (not the targetPort). Absent means every port of the Service. */
  readonly port?: number;
}

export interface HttpRouteRule {
  readonly name?: string;
  /** Absent means one match: PathPrefix "/". */
  readonly matches?: readonly HttpRouteMatch[];
  readonly filters?: readonly HttpRouteFilter[];
  readonly backendRefs?: readonly HttpBackendRef[];
  readonly timeouts?: HttpRouteTimeouts;
  /** Gateway API v1.2 (experimental channel): retries on the listed status codes and on connect failure. */
  readonly retry?: HttpRouteRetry;
}

export interface HttpRouteMatch {
  /** Absent means PathPrefix "/"; type defaults to PathPrefix and value to "/". */
  readonly path?: { readonly type?: PathMatchType; readonly value?: string };
  readonly headers?: readonly ValueMatch[];
  readonly queryParams?: readonly ValueMatch[];
  readonly method?: HttpMethod;
}

export interface ValueMatch {
  readonly type?: ValueMatchType;
  readonly name: string;
  readonly value: string;
}

export interface HttpRouteFilter {
  readonly type: string;
  readonly requestHeaderModifier?: HeaderModifierSpec;
}

export interface HeaderModifierSpec {
  readonly set?: readonly HeaderValue[];
  readonly add?: readonly HeaderValue[];
  readonly remove?: readonly string[];
}

export interface HeaderValue {
  readonly name: string;
  readonly value: string;
}

export interface HttpBackendRef {
  /** "" (the default for backendRefs, unlike parentRefs). */
  readonly group?: string;
  /** Service (the default). */
  readonly kind?: string;
  readonly name: string;
  readonly namespace?: string;
  readonly port: number;
  /** 0 to 1,000,000; default 1. Weight 0 receives nothing. */
  readonly weight?: number;
  /** Applied only to requests sent to this backend, after the rule's filters. */
  readonly filters?: readonly HttpRouteFilter[];
}

/** Gateway API durations (GEP-2257), e.g. "10s", "500ms", "1h30m"; "0s" disables the timeout. */
export interface HttpRouteTimeouts {
  readonly request?: string;
  readonly backendRequest?: string;
}

export interface HttpRouteRetry {
  /** Retries after the first try; default 2 (Istio's); 0 disables retries. */
  readonly attempts?: number;
  /** Base interval between retries (a Gateway API duration). */
  readonly backoff?: string;
  /** Response statuses that are retried, 400-599; 500, 502, 503 and 504 are the portable ones. */
  readonly codes?: readonly number[];
}
