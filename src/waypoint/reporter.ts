// What the waypoint reports of each request once its response is done: istio_requests_* (the
// stats filter's reporter="waypoint") and one access-log line, from the same facts.
import type * as http from 'node:http';
import type { Service, ServicePort, Workload } from '../mesh/model';
import type { MeshState } from '../mesh/state';
import type { CompiledRouteTable } from '../policy/httproute';
import type { WaypointTarget } from '../policy/authz';
import { formatAuthority } from '../hbone/authority';
import type { RequestLabelInput, RequestMetrics } from '../telemetry/request-metrics';
import { sourceLabels, destinationLabels, serviceLabels } from '../telemetry/workload-labels';
import { WaypointAccessLog } from './access-log';
import { ObjectIds } from './object-ids';

/**
 * An HTTP listener of the proxy: a waypoint's service port (behind its HBONE terminate), or an
 * ingress gateway's listener. It names the stages in Envoy's words and holds what differs
 * between the two: the routes, where a request goes with none, and what the RBAC filter sees.
 */
export interface HttpListener {
  /** Where the client connected: a VIP:port (waypoint), or the gateway's pod ip:port. */
  readonly local: { readonly address: string; readonly port: number };
  /** Envoy's name for where connections arrive: inbound_CONNECT_terminate, or 0.0.0.0_80. */
  readonly acceptStage: string;
  /** What the accept stage's trace line adds about the listener (a waypoint's service). */
  readonly describe?: Readonly<Record<string, string>>;
  /** The route stage: inbound-vip|<port>|http|<host>, or the gateway's http.<port>. */
  readonly routeStage: string;
  /** Envoy's internal listener for the CONNECT to the pod. */
  readonly originateStage: string;
  /** The compiled HTTPRoutes of this listener (for this request's Host, at a gateway). */
  routeTable(host: string | undefined): CompiledRouteTable;
  /** Where a request goes when no HTTPRoute is attached: a waypoint's own service; a gateway has none. */
  readonly defaultBackend?: Service;
  /**
   * Traffic addressed to a pod (a waypoint for workloads): no routes, the request goes to this
   * pod and port, as Istio's waypoint sends it through its direct-http chain.
   */
  readonly originalDestination?: { readonly pod: Workload; readonly port: number };
  /** The stage where the endpoint is picked and the RBAC filter runs. */
  endpointStage(backend: Service | undefined, servicePort: ServicePort, pod: Workload): string;
  /** The upstream cluster the access log names. */
  cluster(backend: Service | undefined, port: number): string;
  /** Whom the RBAC filter decides for. */
  rbacTarget(backend: Service | undefined, pod: Workload): WaypointTarget;
}

/** What the proxy learnt about a downstream connection, for the requests that follow on it. */
export interface DownstreamContext {
  readonly listener: HttpListener;
  /** The client's cluster address. */
  readonly remote: { readonly address: string; readonly port: number };
  /** The client's SPIFFE identity (its HBONE certificate); none for a plaintext client. */
  readonly peerSpiffeId?: string;
  /** The same as the RBAC filter's principal (trust domain/ns/.../sa/...). */
  readonly peerPrincipal?: string;
  /** The traceparent its tunnel carried. */
  readonly traceparent?: string;
  /** What the accept stage's trace line tells. */
  readonly acceptDetail: Readonly<Record<string, string>>;
}

/** How a request ended, for metrics and the access log. */
export interface Outcome {
  status: number;
  flags: string;
  details: string;
  route?: string;
  backend?: Service;
  /** The backend's port the route chose (the listener's port when no route did). */
  backendPort?: number;
  pod?: Workload;
  upstreamHost?: string;
  policy?: string;
}

/** What the access log says of the request itself. */
export interface RequestFacts {
  readonly method: string;
  readonly path: string;
  readonly protocol: string;
  /** The Host header (:authority). */
  readonly authority?: string;
  readonly userAgent?: string;
}

/** One finished request, for metrics and the access log. */
export interface RequestReport {
  /** Made only when the access log is written. */
  readonly req: RequestFacts | (() => RequestFacts);
  readonly downstream: DownstreamContext;
  readonly outcome: Outcome;
  readonly traceId: string | undefined;
  readonly durationMs: number;
  readonly requestBytes: number;
  readonly responseBytes: number;
}

export function requestFacts(req: http.IncomingMessage, listener: HttpListener): RequestFacts {
  return {
    method: req.method ?? '-',
    path: req.url ?? '/',
    protocol: `HTTP/${req.httpVersion}`,
    authority: req.headers.host ?? formatAuthority(listener.local.address, listener.local.port),
    userAgent: req.headers['user-agent'],
  };
}

export class RequestReporter {
  private readonly ids = new ObjectIds();

  constructor(
    private readonly state: MeshState,
    readonly metrics: RequestMetrics,
    private readonly accessLog: WaypointAccessLog,
    /** An ingress gateway reports as the source, with its own pod as the source workload. */
    private readonly asSource?: { readonly pod: Workload; readonly identity: () => string },
  ) {}

  /** istio_requests_* and one access-log line (when someone reads them), once the response is done. */
  report(r: RequestReport): void {
    const { listener, remote } = r.downstream;
    const o = r.outcome;
    const source = this.asSource ? this.asSource.pod : this.state.podByIp(remote.address);
    const backend = o.backend ?? listener.defaultBackend;
    const principal = this.asSource ? this.asSource.identity() : r.downstream.peerSpiffeId;
    // What the labels are made of, as a key: no label object is built for a label set seen before.
    const key = `${this.asSource ? 's' : 'w'}|${this.ids.of(source)}|${principal ?? ''}|${this.ids.of(o.pod)}|${this.ids.of(backend)}|${o.status}|${o.flags}`;
    this.metrics.recordKeyed(
      key,
      () => {
        const td = { trustDomain: this.state.trustDomain };
        return {
          reporter: this.asSource ? 'source' : 'waypoint',
          ...(source ? sourceLabels(source, td) : {}),
          source_principal: principal,
          ...(o.pod ? destinationLabels(o.pod, td) : {}),
          ...(backend ? serviceLabels(backend) : {}),
          // Istio's client-side reports never know the connection's security (the server side does).
          ...(this.asSource ? { connection_security_policy: 'unknown' as const } : {}),
          responseCode: o.status,
          response_flags: o.flags,
        } as RequestLabelInput & { responseCode: number };
      },
      r.durationMs,
      r.requestBytes,
      r.responseBytes,
    );
    if (!this.accessLog.enabled()) return;
    const req = typeof r.req === 'function' ? r.req() : r.req;
    const local = formatAuthority(listener.local.address, listener.local.port);
    this.accessLog.write({
      startTime: new Date(Date.now() - r.durationMs),
      method: req.method,
      path: req.path,
      protocol: req.protocol,
      responseCode: o.status,
      responseFlags: o.flags,
      responseCodeDetails: o.details,
      bytesReceived: r.requestBytes,
      bytesSent: r.responseBytes,
      durationMs: r.durationMs,
      authority: req.authority ?? local,
      upstreamHost: o.upstreamHost,
      upstreamCluster: o.pod ? listener.cluster(backend, o.backendPort ?? listener.local.port) : undefined,
      userAgent: req.userAgent,
      downstreamRemoteAddress: formatAuthority(remote.address, remote.port),
      downstreamLocalAddress: local,
      routeName: o.route,
      traceId: r.traceId,
      rbacPolicy: o.policy,
    });
  }
}
