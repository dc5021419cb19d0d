// The waypoint's access log: one line per HTTP request, as Envoy writes it with Istio's access
// log formats, so a learner can read it beside a real waypoint's `kubectl logs`:
//
//   JSON (meshConfig.accessLogEncoding: JSON), Istio's default keys in Istio's order, plus the
//   simulator's trace_id and rbac_policy; values Envoy has no value for are null:
//     {"start_time":"2022-11-17T06:24:51.467Z","route_name":"default","method":"GET",
//      "path":"/productpage","protocol":"HTTP/1.1","response_code":403,"response_flags":"-",
//      "response_code_details":"rbac_access_denied_matched_policy[none]",...}
//   TEXT (Istio's default format):
//     [2022-11-17T06:24:51.467Z] "GET /productpage HTTP/1.1" 403 - rbac_access_denied_matched_policy[none]
//     - "-" 0 19 0 - "-" "curl/8.5.0" "<request id>" "10.8.4.226:9080" "-"
//     inbound-vip|9080|http|productpage.default.svc.cluster.local - 10.8.4.226:9080 10.4.1.8:42000 -
//     default trace_id=<trace id> rbac_policy=-
//
// One line per request from the waypoint as a whole (Envoy would log at each HTTP connection
// manager of the seed's chain): upstream_cluster is the inbound-vip|<port>|http|<host> cluster the
// route chose, upstream_host the pod ip:port the request was tunnelled to.
//
// Written while someone reads it (request-lines.ts): always for a proxy started by hand; under
// the runner, which shows these lines only with --verbose, only then.
import { writeStdoutLine } from '../telemetry/stdout-lines';
import type { Sink } from '../telemetry/stdout-lines';

export type { Sink } from '../telemetry/stdout-lines';

/** One request as the waypoint saw it. Addresses are cluster addresses, ip:port. */
export interface WaypointAccessEntry {
  readonly startTime: Date;
  readonly method: string;
  /** The path as received, query included (%REQ(X-ENVOY-ORIGINAL-PATH?:PATH)%). */
  readonly path: string;
  /** HTTP/1.1 inside the tunnel. */
  readonly protocol?: string;
  readonly responseCode: number;
  /** Envoy's short flags joined with ",", '-' for none (HTTP_RESPONSE_FLAGS in telemetry/request-metrics). */
  readonly responseFlags?: string;
  /** e.g. via_upstream, rbac_access_denied_matched_policy[none], route_not_found. */
  readonly responseCodeDetails?: string;
  readonly connectionTerminationDetails?: string;
  readonly upstreamTransportFailureReason?: string;
  /** Request body bytes received from downstream (%BYTES_RECEIVED%). */
  readonly bytesReceived: number;
  /** Response body bytes sent downstream (%BYTES_SENT%). */
  readonly bytesSent: number;
  readonly durationMs: number;
  /** Time the upstream took to answer (x-envoy-upstream-service-time), when there was an upstream. */
  readonly upstreamServiceTimeMs?: number;
  readonly xForwardedFor?: string;
  readonly userAgent?: string;
  readonly requestId?: string;
  /** :authority (the Host header), e.g. 10.8.4.226:9080 or productpage:9080. */
  readonly authority?: string;
  /** The pod the request went to, ip:port. */
  readonly upstreamHost?: string;
  /** The cluster the route chose, e.g. inbound-vip|9080|http|productpage.default.svc.cluster.local. */
  readonly upstreamCluster?: string;
  readonly upstreamLocalAddress?: string;
  /** The VIP:port the client dialled (the CONNECT :authority). */
  readonly downstreamLocalAddress?: string;
  /** The client, ip:port (the HBONE peer). */
  readonly downstreamRemoteAddress?: string;
  readonly requestedServerName?: string;
  /** Envoy's route name: an HTTPRoute rule's <ns>.<name>.<index>, or "default". */
  readonly routeName?: string;
  /** Simulator additions: the W3C trace id, and the RBAC rule that decided (allow or deny). */
  readonly traceId?: string;
  readonly rbacPolicy?: string;
}

export type AccessLogFormat = 'json' | 'text';

/** Istio's default JSON access log, keys in Istio's order, then the simulator's two. Missing values are null. */
export function envoyJsonRecord(e: WaypointAccessEntry): Record<string, string | number | null> {
  const opt = <T>(v: T | undefined | ''): T | null => (v === undefined || v === '' ? null : v);
  return {
    start_time: e.startTime.toISOString(),
    route_name: opt(e.routeName),
    method: e.method,
    path: e.path,
    protocol: e.protocol ?? 'HTTP/1.1',
    response_code: e.responseCode,
    response_flags: e.responseFlags ?? '-',
    response_code_details: opt(e.responseCodeDetails),
    connection_termination_details: opt(e.connectionTerminationDetails),
    upstream_transport_failure_reason: opt(e.upstreamTransportFailureReason),
    bytes_received: e.bytesReceived,
    bytes_sent: e.bytesSent,
    // %DURATION% is whole milliseconds.
    duration: wholeMs(e.durationMs),
    upstream_service_time: e.upstreamServiceTimeMs === undefined ? null : String(wholeMs(e.upstreamServiceTimeMs)),
    x_forwarded_for: opt(e.xForwardedFor),
    user_agent: opt(e.userAgent),
    request_id: opt(e.requestId),
    authority: opt(e.authority),
    upstream_host: opt(e.upstreamHost),
    upstream_cluster: opt(e.upstreamCluster),
    upstream_local_address: opt(e.upstreamLocalAddress),
    downstream_local_address: opt(e.downstreamLocalAddress),
    downstream_remote_address: opt(e.downstreamRemoteAddress),
    requested_server_name: opt(e.requestedServerName),
    trace_id: opt(e.traceId),
    rbac_policy: opt(e.rbacPolicy),
  };
}

/** Istio's default TEXT access log line (the one in Istio's docs), then the simulator's two fields. */
export function envoyTextLine(e: WaypointAccessEntry): string {
  const dash = (v: string | number | undefined): string => (v === undefined || v === '' ? '-' : String(v));
  const quoted = (v: string | undefined): string => `"${dash(v)}"`;
  return [
    `[${e.startTime.toISOString()}]`,
    `"${e.method} ${e.path} ${e.protocol ?? 'HTTP/1.1'}"`,
    e.responseCode,
    dash(e.responseFlags),
    dash(e.responseCodeDetails),
    dash(e.connectionTerminationDetails),
    quoted(e.upstreamTransportFailureReason),
    e.bytesReceived,
    e.bytesSent,
    wholeMs(e.durationMs),
    dash(e.upstreamServiceTimeMs === undefined ? undefined : wholeMs(e.upstreamServiceTimeMs)),
    quoted(e.xForwardedFor),
    quoted(e.userAgent),
    quoted(e.requestId),
    quoted(e.authority),
    quoted(e.upstreamHost),
    dash(e.upstreamCluster),
    dash(e.upstreamLocalAddress),
    dash(e.downstreamLocalAddress),
    dash(e.downstreamRemoteAddress),
    dash(e.requestedServerName),
    dash(e.routeName),
    `trace_id=${dash(e.traceId)}`,
    `rbac_policy=${dash(e.rbacPolicy)}`,
  ].join(' ');
}

function wholeMs(ms: number): number {
  return Math.max(0, Math.floor(ms));
}

export interface WaypointAccessLogOptions {
  /** Where lines go; process.stdout by default, as Envoy's /dev/stdout access log. */
  readonly sink?: Sink;
  /** json (default) or Istio's text format. */
  readonly format?: AccessLogFormat;
  /** Whether anyone reads the log now (request-lines.ts); always, by default. */
  readonly enabled?: () => boolean;
}

export class WaypointAccessLog {
  private readonly sink: Sink;
  private readonly format: AccessLogFormat;
  /** The caller skips the entry (and what it costs to make) when false. */
  readonly enabled: () => boolean;

  constructor(options: WaypointAccessLogOptions = {}) {
    this.sink = options.sink ?? writeStdoutLine;
    this.format = options.format ?? 'json';
    this.enabled = options.enabled ?? (() => true);
  }

  /** Writes one line and returns it (without the newline). */
  write(entry: WaypointAccessEntry): string {
    const line = this.format === 'json' ? JSON.stringify(envoyJsonRecord(entry)) : envoyTextLine(entry);
    this.sink(line);
    return line;
  }
}
