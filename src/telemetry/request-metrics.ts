// The waypoint's HTTP request metrics, with Istio's names, labels and buckets so Istio's
// dashboards and queries work unchanged: istio_requests_total, istio_request_duration_milliseconds,
// istio_request_bytes and istio_response_bytes (DESIGN.md section 6). Each RequestMetrics owns its
// own prom-client Registry (never the global one), as TcpMetrics does.
//
// Counted per label set, as TcpMetrics counts: a request adds numbers to its label set's series
// (found by a key, without building a label object), and prom-client sees the counts at scrape
// time; the histograms are the series' own, written out in prom-client's exact format.
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

/** One histogram of one label set: counts per bucket (not cumulative), and the sum and count. */
interface HistogramState {
  readonly buckets: number[];
  sum: number;
  count: number;
}

/**
 * One label set's counts. Requests with the same labels share it and its labels object; the
 * histograms live here for good (they are never handed to prom-client's observe, which validates
 * and hashes all 25 labels on each call, four times a request), the request count waits here
 * until the next scrape adds it to the counter.
 */
interface Series {
  readonly labels: RequestLabels;
  /** Requests not yet added to istio_requests_total. */
  pending: number;
  readonly duration: HistogramState;
  readonly requestBytes: HistogramState;
  readonly responseBytes: HistogramState;
}

/** Caller keys remembered at most: past this the cache starts again (the series stay). */
const MAX_KEYS = 4096;

export class RequestMetrics {
  readonly registry: Registry;
  private readonly requests: Counter<RequestLabelName>;
  /** Every label set seen, by its values, in the order first seen (prom-client's order too). */
  private readonly series = new Map<string, Series>();
  /** A caller's own key for what decides the labels (recordKeyed), to the series they give. */
  private readonly byKey = new Map<string, Series>();

  constructor() {
    this.registry = new Registry();
    const registers = [this.registry];
    const labelNames = REQUEST_LABEL_NAMES;
    // The counter brings itself up to date before it is read, by a scrape or by get().
    this.requests = new Counter<RequestLabelName>({
      name: REQUESTS_TOTAL,
      help: 'The total number of requests',
      labelNames,
      registers,
      collect: () => this.flush(),
    });
    const histogram = (name: string, help: string, buckets: readonly number[], of: (s: Series) => HistogramState) =>
      this.registry.registerMetric(new SeriesHistogram(name, help, buckets, () => this.series.values(), of) as unknown as Histogram<RequestLabelName>);
    histogram(REQUEST_DURATION, 'The duration of requests, in milliseconds', DURATION_BUCKETS_MS, (s) => s.duration);
    histogram(REQUEST_BYTES, 'The size of HTTP requests, in bytes', BYTE_BUCKETS, (s) => s.requestBytes);
    histogram(RESPONSE_BYTES, 'The size of HTTP responses, in bytes', BYTE_BUCKETS, (s) => s.responseBytes);
  }

  /** Counts one finished request in all four metrics; returns the labels it was counted under. */
  record(r: RequestRecord): RequestLabels {
    const labels = requestLabels(r);
    this.add(this.seriesOf(labels), r.durationMs, r.requestBytes, r.responseBytes);
    return labels;
  }

  /**
   * As record, for the hot path: `key` stands for everything the labels are made from (the same
   * key always gives the same labels), and `input` is called only for a key not seen before.
   */
  recordKeyed(
    key: string,
    input: () => RequestLabelInput & { readonly responseCode: number },
    durationMs: number,
    requestBytes: number,
    responseBytes: number,
  ): void {
    let series = this.byKey.get(key);
    if (!series) {
      if (this.byKey.size >= MAX_KEYS) this.byKey.clear();
      series = this.seriesOf(requestLabels(input()));
      this.byKey.set(key, series);
    }
    this.add(series, durationMs, requestBytes, responseBytes);
  }

  /** Prometheus text exposition of this registry. */
  metrics(): Promise<string> {
    return this.registry.metrics();
  }

  /** The Content-Type to serve metrics() with. */
  get contentType(): string {
    return this.registry.contentType;
  }

  private seriesOf(labels: RequestLabels): Series {
    let key = '';
    for (const name of REQUEST_LABEL_NAMES) key += `${labels[name]}\u0000`;
    let series = this.series.get(key);
    if (!series) {
      const hist = (bounds: readonly number[]): HistogramState => ({ buckets: new Array<number>(bounds.length).fill(0), sum: 0, count: 0 });
      series = { labels, pending: 0, duration: hist(DURATION_BUCKETS_MS), requestBytes: hist(BYTE_BUCKETS), responseBytes: hist(BYTE_BUCKETS) };
      this.series.set(key, series);
    }
    return series;
  }

  private add(s: Series, durationMs: number, requestBytes: number, responseBytes: number): void {
    s.pending++;
    observe(s.duration, DURATION_BUCKETS_MS, Math.max(0, durationMs));
    observe(s.requestBytes, BYTE_BUCKETS, Math.max(0, requestBytes));
    observe(s.responseBytes, BYTE_BUCKETS, Math.max(0, responseBytes));
  }

  /** Adds the requests counted since the last scrape to istio_requests_total. */
  private flush(): void {
    for (const s of this.series.values()) {
      if (s.pending === 0) continue;
      this.requests.inc(s.labels, s.pending);
      s.pending = 0;
    }
  }
}

/** As prom-client's Histogram#observe: the first bucket whose upper bound is at least the value. */
function observe(h: HistogramState, bounds: readonly number[], value: number): void {
  if (!Number.isFinite(value)) throw new TypeError(`Value is not a valid number: ${value}`);
  h.sum += value;
  h.count += 1;
  for (let i = 0; i < bounds.length; i++) {
    if (value <= bounds[i]) {
      h.buckets[i]++;
      return;
    }
  }
}

/** A sample as prom-client's registry formats it: `labels` first, then the series' labels. */
interface SampleValue {
  readonly value: number;
  readonly labels: Readonly<Record<string, string | number>>;
  readonly sharedLabels: RequestLabels | Record<string, never>;
  readonly metricName: string;
  readonly exemplar: null | undefined;
}

/**
 * A histogram whose state is the series' own, registered in the prom-client Registry as a metric
 * (the registry asks a metric for getForPromString(), else get()). It writes exactly what
 * prom-client's Histogram writes for the same observations: per series, the cumulative buckets,
 * +Inf, _sum and _count, series in the order first seen.
 */
class SeriesHistogram {
  readonly type = 'histogram';
  readonly aggregator = 'sum';

  constructor(
    readonly name: string,
    readonly help: string,
    private readonly bounds: readonly number[],
    private readonly all: () => Iterable<Series>,
    private readonly of: (s: Series) => HistogramState,
  ) {}

  /** What the registry's text exposition reads. */
  getForPromString(): Promise<{ name: string; help: string; type: string; values: SampleValue[]; aggregator: string }> {
    const values: SampleValue[] = [];
    const bucket = `${this.name}_bucket`;
    for (const s of this.all()) {
      const h = this.of(s);
      let acc = 0;
      this.bounds.forEach((le, i) => {
        acc += h.buckets[i];
        values.push({ labels: { le }, sharedLabels: s.labels, value: acc, metricName: bucket, exemplar: null });
      });
      values.push(
        { labels: { le: '+Inf' }, sharedLabels: s.labels, value: h.count, metricName: bucket, exemplar: null },
        { labels: {}, sharedLabels: s.labels, value: h.sum, metricName: `${this.name}_sum`, exemplar: undefined },
        { labels: {}, sharedLabels: s.labels, value: h.count, metricName: `${this.name}_count`, exemplar: undefined },
      );
    }
    return Promise.resolve({ name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator });
  }

  /** As prom-client's get(): every sample with its series' labels and its own in one object. */
  async get(): Promise<{ name: string; help: string; type: string; values: Array<Omit<SampleValue, 'sharedLabels'>>; aggregator: string }> {
    const data = await this.getForPromString();
    return {
      ...data,
      values: data.values.map(({ sharedLabels, labels, ...rest }) => ({ ...rest, labels: { ...labels, ...sharedLabels } })),
    };
  }

  /** The registry's resetMetrics(): the series' histograms start again from zero. */
  reset(): void {
    for (const s of this.all()) {
      const h = this.of(s);
      h.buckets.fill(0);
      h.sum = 0;
      h.count = 0;
    }
  }
}
