// Every way the waypoint answers a request itself instead of passing on the pod's answer, in one
// table: for each failure, the status, Envoy's response flag, %RESPONSE_CODE_DETAILS% and body
// that a real waypoint's Envoy would give, as ztunnel pairs each InboundFlagError with its answer.
// The access log, istio_requests_total and the trace all read them from here.
import { HTTP_RESPONSE_FLAGS } from '../telemetry/request-metrics';
import { RBAC_DENIED_BODY, RBAC_DENIED_STATUS } from '../policy/authz';

export interface LocalReply {
  readonly status: number;
  /** Envoy's short flags, joined with ",": '-' for none. */
  readonly flags: string;
  readonly details: string;
  readonly body: string;
}

/** Envoy's own words, so a learner recognises them. */
const BODY_NO_HEALTHY_UPSTREAM = 'no healthy upstream';
const BODY_CONNECT_FAILURE = 'upstream connect error or disconnect/reset before headers. reset reason: connection failure';
export const BODY_UPSTREAM_TIMEOUT = 'upstream request timeout';

const F = HTTP_RESPONSE_FLAGS;

export const LOCAL_REPLIES = {
  /** HTTPRoutes are attached to the Service port and none matches. */
  noRoute: { status: 404, flags: F.noRoute, details: 'route_not_found', body: 'route not found' },
  /** The backend Service has no port of that number, or no endpoint. */
  noHealthyUpstream: { status: 503, flags: F.noHealthyUpstream, details: 'no_healthy_upstream', body: BODY_NO_HEALTHY_UPSTREAM },
  /** The CONNECT to the pod failed: the request never reached it. */
  connectFailure: {
    status: 503,
    flags: F.upstreamConnectFailure,
    details: 'upstream_reset_before_response_started{connection_failure}',
    body: BODY_CONNECT_FAILURE,
  },
  /** Every try failed to connect and the retries ran out. */
  connectFailureRetriesExhausted: {
    status: 503,
    flags: `${F.upstreamConnectFailure},${F.upstreamRetryLimitExceeded}`,
    details: 'upstream_reset_before_response_started{connection_failure}',
    body: BODY_CONNECT_FAILURE,
  },
  /** The pod's connection went away after the request reached it, before any answer. */
  upstreamReset: {
    status: 503,
    flags: F.upstreamConnectionTermination,
    details: 'upstream_reset_before_response_started{remote_reset}',
    body: BODY_CONNECT_FAILURE,
  },
  /** The route's timeout (or a try's) fired before the pod answered. */
  upstreamTimeout: { status: 504, flags: F.upstreamRequestTimeout, details: 'upstream_response_timeout', body: BODY_UPSTREAM_TIMEOUT },
} as const satisfies Readonly<Record<string, LocalReply>>;

/**
 * The rule's backend cannot be sent to (none with weight, or not found or not permitted): the
 * route's own status (500) and why.
 */
export function noBackend(status: number, reason: string): LocalReply {
  return { status, flags: F.noHealthyUpstream, details: 'no_healthy_upstream', body: reason };
}

/** The RBAC filter's denial: a status and details, no flag (Envoy's HTTP RBAC filter sets none). */
export function rbacDenied(details: string | undefined): LocalReply {
  return { status: RBAC_DENIED_STATUS, flags: F.none, details: details ?? 'rbac_access_denied_matched_policy[none]', body: RBAC_DENIED_BODY };
}
