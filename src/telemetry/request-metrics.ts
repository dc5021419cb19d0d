// The waypoint's HTTP request metrics, with Istio's names, labels and buckets so Istio's
// dashboards and queries work unchanged: istio_requests_total, istio_request_duration_milliseconds,
// istio_request_bytes and istio_response_bytes (DESIGN.md section 6). Each RequestMetrics owns its
// own prom-client Registry (never the global one), as TcpMetrics does.
//
// Labels follow istio/proxy's stats filter (source/extensions/filters/http/istio_stats) for the
// reporter a waypoint is (Reporter::ServerGateway, reporter="waypoint"), in the order it pushes
// them: source_* from the HBONE peer, destination_* from the chosen endpoint, destination_service*
// from the upstream cluster's service, then request_protocol, response_code, grpc_response_status,
// response_flags and connection_security_policy.
import { Counter, Histogram, Registry } from 'prom-client';
import { fillLabels, SOURCE_LABEL_NAMES, spiffePrincipals } from './istio-labels';

export const REQUESTS_TOTAL = 'istio_requests_total';
export const REQUEST_DURATION = 'istio_request_duration_milliseconds';
export const REQUEST_BYTES = 'istio_request_bytes';
export const RESPONSE_BYTES = 'istio_response_bytes';

/** Istio's default buckets for istio_request_duration_milliseconds. */
export const DURATION_BUCKETS_MS: readonly number[] = [
  0.5, 1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 300000, 600000, 1800000, 3600000,
];
/** Istio's default buckets for istio_request_bytes and istio_response_bytes. */
export const BYTE_BUCKETS: readonly number[] = [1, 10, 100, 1000, 10000, 100000, 1000000, 10000000];

/** The label set of the stats filter for reporter "waypoint", in the order it emits them. */
export const REQUEST_LABEL_NAMES = [
  ...SOURCE_LABEL_NAMES,
  'destination_workload',
  'destination_workload_namespace',
  'destination_principal',
  'destination_app',
  'destination_version',
  'destination_service',
  'destination_canonical_service',
  'destination_canonical_revision',
  'destination_service_name',
  'destination_service_namespace',
  'destination_cluster',
  'request_protocol',
  'response_code',
  'grpc_response_status',
  'response_flags',
  'connection_security_policy',
] as const;

export type RequestLabelName = (typeof REQUEST_LABEL_NAMES)[number];
export type RequestLabels = Readonly<Record<RequestLabelName, string>>;

/** How an L7 proxy of ambient mode reports: a waypoint as 'waypoint', an ingress gateway as 'source' (the client side). */
export type RequestReporter = 'waypoint' | 'source';

/**
 * Envoy's %RESPONSE_FLAGS% short strings for the outcomes the waypoint can produce. The stats
 * filter copies them into response_flags unchanged.
 *
 * An RBAC denial is NOT a flag: Envoy's HTTP RBAC filter answers 403 "RBAC: access denied" with
 * sendLocalReply and sets only %RESPONSE_CODE_DETAILS% (rbac_access_denied_matched_policy[...]),
 * so Istio reports response_code="403", response_flags="-" (Istio's access logs read
 * `403 - rbac_access_denied_matched_policy[none]`). Tell denials apart by the code, or by the
 * access log's response_code_details. UAEX is ext_authz's flag: a CUSTOM policy's denial.
 */
export const HTTP_RESPONSE_FLAGS = {
  none: '-',
  /** NR: no route matched (HTTPRoutes attached, none matches): 404. */
  noRoute: 'NR',
  /** UH: the cluster has no healthy endpoint: 503 "no healthy upstream". */
  noHealthyUpstream: 'UH',
  /** UF: the upstream connection (the CONNECT to the pod) could not be made: 503. */
  upstreamConnectFailure: 'UF',
  /** UT: the route's timeout fired before the response: 504 "upstream request timeout". */
  upstreamRequestTimeout: 'UT',
  /** UC: the upstream connection ended before a response. */
  upstreamConnectionTermination: 'UC',
  /** URX: retries exhausted (the last try's flag is reported along with it, e.g. "UF,URX"). */
  upstreamRetryLimitExceeded: 'URX',
  /** DC: the client went away before the response was complete. */
  downstreamConnectionTermination: 'DC',
  /** DPE: the request inside the tunnel was not valid HTTP: 400. */
  downstreamProtocolError: 'DPE',
  /** UAEX: denied by external authorization (an AuthorizationPolicy with action CUSTOM). */
  unauthorizedExternalService: 'UAEX',
} as const;
export type HttpResponseFlag = (typeof HTTP_RESPONSE_FLAGS)[keyof typeof HTTP_RESPONSE_FLAGS];

type FreeLabel = Exclude<
  RequestLabelName,
  'reporter' | 'request_protocol' | 'response_code' | 'grpc_response_status' | 'response_flags' | 'connection_security_policy'
>;

/**
 * What the waypoint knows about a request; source_* and destination_* fill from the helpers of
 * workload-labels.ts (sourceLabels, destinationLabels, serviceLabels). Missing or empty values
 * become "unknown", except source_canonical_revision, which the stats filter fills with "latest".
 */
export type RequestLabelInput = Partial<Record<FreeLabel, string>> & {
  readonly reporter?: RequestReporter;
  /** 'http' (the default) or 'grpc' for requests with content-type application/grpc. */
  readonly request_protocol?: 'http' | 'grpc';
  /** Envoy flags joined with ",", or '-' (the default). */
  readonly response_flags?: HttpResponseFlag | string;
  /** The grpc-status of a gRPC response; always '' for plain HTTP, as the stats filter writes it. */
  readonly grpc_response_status?: string;
  /** 'mutual_tls' (the default: every HBONE peer has a certificate) or 'none' for plaintext. */
  readonly connection_security_policy?: 'mutual_tls' | 'none' | 'unknown';
};

/** One finished request. */
export interface RequestRecord extends RequestLabelInput {
  /** The status sent downstream; 0 when none was (the client left first), as Envoy records it. */
  readonly responseCode: number;
  /**
   * Request start to the last response byte. Envoy truncates to whole milliseconds; the value is
   * kept as given here, since requests over loopback often take well under one.
   */
  readonly durationMs: number;
  /** Bytes of the request as received from downstream, headers included (Envoy's downstream wire bytes). */
  readonly requestBytes: number;
  /** Bytes of the response as sent downstream, headers included. */
  readonly responseBytes: number;
}

const DEFAULT_REVISION = 'latest';

/** The label values one record is counted under, defaults filled and principals in spiffe:// form. */
export function requestLabels(input: RequestLabelInput & { readonly responseCode: number }): RequestLabels {
  const out = fillLabels<RequestLabelName>(REQUEST_LABEL_NAMES, input);
  out.reporter = input.reporter ?? 'waypoint';
  if (input.source_canonical_revision === undefined || input.source_canonical_revision === '') out.source_canonical_revision = DEFAULT_REVISION;
  out.request_protocol = input.request_protocol ?? 'http';
  out.response_code = String(Number.isInteger(input.responseCode) && input.responseCode > 0 ? input.responseCode : 0);
  out.grpc_response_status = input.grpc_response_status ?? '';
  out.response_flags = input.response_flags === undefined || input.response_flags === '' ? HTTP_RESPONSE_FLAGS.none : input.response_flags;
  out.connection_security_policy = input.connection_security_policy ?? 'mutual_tls';
  spiffePrincipals(out);
  return out;
}

export class RequestMetrics {
  readonly registry: Registry;
  private readonly requests: Counter<RequestLabelName>;
  private readonly duration: Histogram<RequestLabelName>;
  private readonly requestBytes: Histogram<RequestLabelName>;
  private readonly responseBytes: Histogram<RequestLabelName>;

  constructor() {
    this.registry = new Registry();
    const registers = [this.registry];
    const labelNames = REQUEST_LABEL_NAMES;
    this.requests = new Counter<RequestLabelName>({ name: REQUESTS_TOTAL, help: 'The total number of requests', labelNames, registers });
    const histogram = (name: string, help: string, buckets: readonly number[]) =>
      new Histogram<RequestLabelName>({ name, help, labelNames, buckets: [...buckets], registers });
    this.duration = histogram(REQUEST_DURATION, 'The duration of requests, in milliseconds', DURATION_BUCKETS_MS);
    this.requestBytes = histogram(REQUEST_BYTES, 'The size of HTTP requests, in bytes', BYTE_BUCKETS);
    this.responseBytes = histogram(RESPONSE_BYTES, 'The size of HTTP responses, in bytes', BYTE_BUCKETS);
  }

  /** Counts one finished request in all four metrics; returns the labels it was counted under. */
  record(r: RequestRecord): RequestLabels {
    const labels = requestLabels(r);
    this.requests.inc(labels);
    this.duration.observe(labels, Math.max(0, r.durationMs));
    this.requestBytes.observe(labels, Math.max(0, r.requestBytes));
    this.responseBytes.observe(labels, Math.max(0, r.responseBytes));
    return labels;
  }

  /** Prometheus text exposition of this registry. */
  metrics(): Promise<string> {
    return this.registry.metrics();
  }

  /** The Content-Type to serve metrics() with. */
  get contentType(): string {
    return this.registry.contentType;
  }
}
