// What the waypoint reports of each request once its response is done: istio_requests_* (the
// stats filter's reporter="waypoint") and one access-log line, from the same facts.
import type * as http from 'node:http';
import type { Service, Workload } from '../mesh/model';
import { clusterAddress } from '../mesh/model';
import type { MeshState } from '../mesh/state';
import type { InboundConnect } from '../hbone/server';
import { formatAuthority } from '../hbone/authority';
import { RequestMetrics } from '../telemetry/request-metrics';
import { sourceLabels, destinationLabels, serviceLabels } from '../telemetry/workload-labels';
import { WaypointAccessLog } from './access-log';
import { vipStage } from './envoy-names';

/** What stage 1 learnt about a tunnel, for the requests that follow on it. */
export interface TunnelContext {
  readonly conn: InboundConnect;
  readonly service: Service;
  readonly port: number;
}

/** How a request ended, for metrics and the access log. */
export interface Outcome {
  status: number;
  flags: string;
  details: string;
  route?: string;
  backend?: Service;
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
  readonly req: RequestFacts;
  readonly tunnel: TunnelContext;
  readonly outcome: Outcome;
  readonly traceId: string | undefined;
  readonly durationMs: number;
  readonly requestBytes: number;
  readonly responseBytes: number;
}

export function requestFacts(req: http.IncomingMessage, service: Service, port: number): RequestFacts {
  return {
    method: req.method ?? '-',
    path: req.url ?? '/',
    protocol: `HTTP/${req.httpVersion}`,
    authority: req.headers.host ?? formatAuthority(service.vip, port),
    userAgent: req.headers['user-agent'],
  };
}

export class RequestReporter {
  constructor(
    private readonly state: MeshState,
    readonly metrics: RequestMetrics,
    private readonly accessLog: WaypointAccessLog,
  ) {}

  /** istio_requests_* and one access-log line, once the response is done. */
  report(r: RequestReport): void {
    const { conn, service, port } = r.tunnel;
    const o = r.outcome;
    const td = { trustDomain: this.state.trustDomain };
    const source = this.state.podByIp(clusterAddress(conn.remote.address));
    const backend = o.backend ?? service;
    this.metrics.record({
      reporter: 'waypoint',
      ...(source ? sourceLabels(source, td) : {}),
      source_principal: conn.peerSpiffeId,
      ...(o.pod ? destinationLabels(o.pod, td) : {}),
      ...serviceLabels(backend),
      responseCode: o.status,
      response_flags: o.flags,
      durationMs: r.durationMs,
      requestBytes: r.requestBytes,
      responseBytes: r.responseBytes,
    } as Parameters<RequestMetrics['record']>[0]);
    this.accessLog.write({
      startTime: new Date(Date.now() - r.durationMs),
      method: r.req.method,
      path: r.req.path,
      protocol: r.req.protocol,
      responseCode: o.status,
      responseFlags: o.flags,
      responseCodeDetails: o.details,
      bytesReceived: r.requestBytes,
      bytesSent: r.responseBytes,
      durationMs: r.durationMs,
      authority: r.req.authority ?? formatAuthority(service.vip, port),
      upstreamHost: o.upstreamHost,
      upstreamCluster: o.pod ? vipStage(backend, port) : undefined,
      userAgent: r.req.userAgent,
      downstreamRemoteAddress: formatAuthority(clusterAddress(conn.remote.address), conn.remote.port),
      downstreamLocalAddress: formatAuthority(service.vip, port),
      routeName: o.route,
      traceId: r.traceId,
      rbacPolicy: o.policy,
    });
  }
}
