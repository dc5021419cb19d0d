// ztunnel's TCP metrics, with Istio's names and labels so Istio's dashboards and queries work
// unchanged. Each TcpMetrics owns its own prom-client Registry (never the global one), so
// several simulated proxies can share a process and tests stay independent.
import { Counter, Registry } from 'prom-client';
import { fillLabels, SOURCE_LABEL_NAMES, spiffePrincipals, UNKNOWN } from './istio-labels';

export const TCP_CONNECTIONS_OPENED = 'istio_tcp_connections_opened_total';
export const TCP_CONNECTIONS_CLOSED = 'istio_tcp_connections_closed_total';
export const TCP_SENT_BYTES = 'istio_tcp_sent_bytes_total';
export const TCP_RECEIVED_BYTES = 'istio_tcp_received_bytes_total';

/** ztunnel's label set, in ztunnel's order (CommonTrafficLabels in proxy/metrics.rs). */
export const TCP_LABEL_NAMES = [
  ...SOURCE_LABEL_NAMES,
  'destination_service',
  'destination_service_namespace',
  'destination_service_name',
  'destination_workload',
  'destination_canonical_service',
  'destination_canonical_revision',
  'destination_workload_namespace',
  'destination_principal',
  'destination_app',
  'destination_version',
  'destination_cluster',
  'request_protocol',
  'response_flags',
  'connection_security_policy',
] as const;

export type TcpLabelName = (typeof TCP_LABEL_NAMES)[number];
export type TcpLabels = Readonly<Record<TcpLabelName, string>>;

/**
 * 'source' for the outbound (client-side) ztunnel, 'destination' for the inbound one, 'waypoint'
 * for a waypoint relaying a connection it could not read as HTTP.
 */
export type Reporter = 'source' | 'destination' | 'waypoint';

/**
 * ztunnel's response_flags values: '-' for none, 'DENY' when authorization policy rejected
 * the connection, 'CONNECT' when the upstream connection could not be made. (Envoy's own
 * short flags would be UAEX/RBAC and UF; ztunnel uses these words instead.)
 */
export const RESPONSE_FLAGS = { none: '-', policyDenied: 'DENY', connectFailed: 'CONNECT' } as const;
/**
 * A waypoint is Envoy and reports Envoy's short flags on its TCP relay: UF when the upstream
 * connection could not be made. (Envoy's network RBAC filter sets no flag on a denial, only
 * connection termination details.)
 */
export const WAYPOINT_TCP_FLAGS = { none: '-', upstreamConnectFailure: 'UF' } as const;
export type ResponseFlag = (typeof RESPONSE_FLAGS)[keyof typeof RESPONSE_FLAGS] | (typeof WAYPOINT_TCP_FLAGS)[keyof typeof WAYPOINT_TCP_FLAGS];

/** 'mutual_tls' for HBONE; 'unknown' for plaintext passthrough, as ztunnel reports it. */
export type SecurityPolicy = 'mutual_tls' | 'unknown';

type FreeLabel = Exclude<TcpLabelName, 'reporter' | 'request_protocol' | 'response_flags' | 'connection_security_policy'>;

/** What a caller knows about a connection; anything missing or empty becomes 'unknown'. */
export type TcpLabelInput = Partial<Record<FreeLabel, string>> & {
  readonly reporter: Reporter;
  readonly request_protocol?: 'tcp';
  readonly response_flags?: ResponseFlag;
  readonly connection_security_policy?: SecurityPolicy;
};

/** Fills defaults and writes principals in Istio's full spiffe:// form. */
export function tcpLabels(input: TcpLabelInput): TcpLabels {
  const out = fillLabels<TcpLabelName>(TCP_LABEL_NAMES, input);
  out.request_protocol = input.request_protocol ?? 'tcp';
  out.response_flags = input.response_flags ?? RESPONSE_FLAGS.none;
  out.connection_security_policy = input.connection_security_policy ?? UNKNOWN;
  spiffePrincipals(out);
  return out;
}

/**
 * One connection's metrics. Byte directions follow Istio's definitions, for both reporters:
 * "received" is the request direction (source -> destination), "sent" the response direction
 * (destination -> source).
 */
export interface TcpConnectionMetrics {
  /** The labels the connection was opened with (response_flags '-'). */
  readonly labels: TcpLabels;
  readonly receivedBytes: number;
  readonly sentBytes: number;
  readonly closed: boolean;
  /** Bytes that went from the source towards the destination. */
  received(bytes: number): void;
  /** Bytes that went from the destination back to the source. */
  sent(bytes: number): void;
  /** Counts the close once, with the final response flag; later calls are ignored. */
  close(flag?: ResponseFlag): void;
}

export interface TcpConnectionResult {
  readonly receivedBytes: number;
  readonly sentBytes: number;
  readonly responseFlags?: ResponseFlag;
}

/**
 * One label set's counts not yet added to the prom-client counters. Connections with the same
 * labels share it, and its labels object: prom-client validates and hashes all 23 labels on
 * every inc, which showed in ztunnel's profile at a few thousand connections a second.
 */
interface Series {
  readonly labels: TcpLabels;
  opened: number;
  received: number;
  sent: number;
  /** Closes by final response flag. */
  readonly closed: Map<ResponseFlag, number>;
}

export class TcpMetrics {
  readonly registry: Registry;
  private readonly opened: Counter<TcpLabelName>;
  private readonly closedTotal: Counter<TcpLabelName>;
  private readonly sentBytes: Counter<TcpLabelName>;
  private readonly receivedBytes: Counter<TcpLabelName>;
  /** Open connections whose byte counts may not be flushed to the counters yet. */
  private readonly live = new Set<ConnectionRecorder>();
  /** Every label set seen, by its values: bounded by the mesh's workload pairs, as the series themselves are. */
  private readonly series = new Map<string, Series>();

  constructor() {
    this.registry = new Registry();
    // Every counter brings the others up to date before it is read, by scrape or by get().
    const collect = () => this.flush();
    const counter = (name: string, help: string) => new Counter<TcpLabelName>({ name, help, labelNames: TCP_LABEL_NAMES, registers: [this.registry], collect });
    // Help texts are ztunnel's.
    this.opened = counter(TCP_CONNECTIONS_OPENED, 'The total number of TCP connections opened');
    this.closedTotal = counter(TCP_CONNECTIONS_CLOSED, 'The total number of TCP connections closed');
    this.sentBytes = counter(TCP_SENT_BYTES, 'The size of total bytes sent during response in case of a TCP connection');
    this.receivedBytes = counter(TCP_RECEIVED_BYTES, 'The size of total bytes received during request in case of a TCP connection');
  }

  /**
   * Counts a connection as opened and returns its recorder. As in ztunnel, bytes are counted
   * under the opening labels, and the close under the final labels, which carry the response
   * flag (so a denied connection opens with '-' and closes with 'DENY'). Counts reach the
   * prom-client counters at each scrape: the hot path only adds numbers.
   */
  open(input: TcpLabelInput): TcpConnectionMetrics {
    const series = this.seriesOf(input);
    series.opened++;
    const recorder = new ConnectionRecorder(series.labels, {
      flushBytes: (received, sent) => {
        series.received += received;
        series.sent += sent;
      },
      closed: (flag) => {
        this.live.delete(recorder);
        series.closed.set(flag, (series.closed.get(flag) ?? 0) + 1);
      },
    });
    this.live.add(recorder);
    return recorder;
  }

  /** A whole connection at once: opened, its bytes, closed. */
  record(input: TcpLabelInput, result: TcpConnectionResult): void {
    const c = this.open(input);
    c.received(result.receivedBytes);
    c.sent(result.sentBytes);
    c.close(result.responseFlags);
  }

  /** Prometheus text exposition of this registry (live connections' bytes included). */
  metrics(): Promise<string> {
    return this.registry.metrics();
  }

  /** The Content-Type to serve metrics() with. */
  get contentType(): string {
    return this.registry.contentType;
  }

  private seriesOf(input: TcpLabelInput): Series {
    let key = '';
    for (const name of TCP_LABEL_NAMES) key += `${(input as Partial<Record<TcpLabelName, string>>)[name] ?? ''}\u0000`;
    let series = this.series.get(key);
    if (!series) {
      series = { labels: tcpLabels({ ...input, response_flags: RESPONSE_FLAGS.none }), opened: 0, received: 0, sent: 0, closed: new Map() };
      this.series.set(key, series);
    }
    return series;
  }

  /** Adds every pending count to the prom-client counters. */
  private flush(): void {
    this.live.forEach((c) => c.flush());
    for (const s of this.series.values()) {
      if (s.opened > 0) this.opened.inc(s.labels, s.opened);
      if (s.received > 0) this.receivedBytes.inc(s.labels, s.received);
      if (s.sent > 0) this.sentBytes.inc(s.labels, s.sent);
      for (const [flag, n] of s.closed) this.closedTotal.inc({ ...s.labels, response_flags: flag }, n);
      s.opened = 0;
      s.received = 0;
      s.sent = 0;
      s.closed.clear();
    }
  }
}

interface RecorderSinks {
  flushBytes(received: number, sent: number): void;
  closed(flag: ResponseFlag): void;
}

class ConnectionRecorder implements TcpConnectionMetrics {
  receivedBytes = 0;
  sentBytes = 0;
  closed = false;
  private pendingReceived = 0;
  private pendingSent = 0;

  constructor(
    readonly labels: TcpLabels,
    private readonly sinks: RecorderSinks,
  ) {}

  received(bytes: number): void {
    if (bytes <= 0) return;
    this.receivedBytes += bytes;
    this.pendingReceived += bytes;
    // Late bytes (counted after close) are no longer flushed by scrapes: add them now.
    if (this.closed) this.flush();
  }

  sent(bytes: number): void {
    if (bytes <= 0) return;
    this.sentBytes += bytes;
    this.pendingSent += bytes;
    // Late bytes (counted after close) are no longer flushed by scrapes: add them now.
    if (this.closed) this.flush();
  }

  flush(): void {
    if (this.pendingReceived === 0 && this.pendingSent === 0) return;
    this.sinks.flushBytes(this.pendingReceived, this.pendingSent);
    this.pendingReceived = 0;
    this.pendingSent = 0;
  }

  close(flag: ResponseFlag = RESPONSE_FLAGS.none): void {
    if (this.closed) return;
    this.closed = true;
    this.flush();
    this.sinks.closed(flag);
  }
}
