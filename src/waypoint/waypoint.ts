// The waypoint: an L7 proxy for the services bound to it (istio.io/use-waypoint), in the four
// stages of a waypoint's Envoy configuration (DESIGN.md section 1):
//   1 inbound_CONNECT_terminate  HBONE on :15008; :authority VIP:port picks the service
//   2 inbound-vip|<port>|http|<host>  HTTP/1.1 inside the tunnel, request by request; HTTPRoute
//   3 inbound-pod|<port>||<pod ip>    AuthorizationPolicy (the RBAC filter), then the endpoint
//   4 inbound_CONNECT_originate  a new pooled HBONE CONNECT to the pod, as the waypoint
import * as http from 'node:http';
import type { ClientHttp2Stream } from 'node:http2';
import { MeshCa } from '../identity/ca';
import { WorkloadCertificate } from '../identity/workload-cert';
import { makeSpiffeId, principalOf } from '../identity/spiffe';
import { HboneServer, InboundConnect } from '../hbone/server';
import { HbonePool, HboneConnectError } from '../hbone/pool';
import { pipeStreams, resetStream } from '../hbone/pipe';
import type { ServerHttp2Stream } from 'node:http2';
import { formatAuthority } from '../hbone/authority';
import { childTraceparent, headerValue, traceIdOf } from '../hbone/headers';
import { HEADER_ORIGINAL_DST, HEADER_TRACEPARENT, STATUS_SERVICE_UNAVAILABLE } from '../hbone/constants';
import type { Scenario, Service, Workload } from '../mesh/model';
import { clusterAddress, hostAddress, serviceHost } from '../mesh/model';
import { PORT_ADMIN, PORT_HBONE, PORT_METRICS, PORT_READINESS } from '../mesh/ports';
import { AdminServer, readinessRoutes, sendJson, startHttp } from '../admin/http';
import { appliesAtWaypoint, authorizeL7, RBAC_DENIED_BODY, RBAC_DENIED_STATUS } from '../policy/authz-l7';
import { authorize as authorizeL4 } from '../policy/authz';
import { compileRoutes, route } from '../policy/httproute';
import type { CompiledRouteTable } from '../policy/httproute-table';
import { applyHeaderModifiers } from '../policy/httproute-headers';
import { logger, Logger } from '../telemetry/log';
import { MeshState } from '../ztunnel/state';
import { StageClock, TraceLog } from '../telemetry/trace';
import { RequestMetrics, HTTP_RESPONSE_FLAGS } from '../telemetry/request-metrics';
import { sourceLabels, destinationLabels, serviceLabels } from '../telemetry/workload-labels';
import { configDump, rbacTarget } from './config-dump';
import { WaypointAccessLog } from './access-log';
import { TunnelSocket } from './tunnel-socket';
import { UpstreamPool, TunnelRequestOptions } from './upstream-pool';
import { STAGE_ORIGINATE, STAGE_TERMINATE, UPSTREAM_NEW, UPSTREAM_REUSED, podStage, vipStage } from './stages';

/** Envoy's own words, so a learner recognises them. */
const BODY_NO_HEALTHY_UPSTREAM = 'no healthy upstream';
const BODY_CONNECT_FAILURE = 'upstream connect error or disconnect/reset before headers. reset reason: connection failure';
const BODY_TIMEOUT = 'upstream request timeout';
/** Hop-by-hop headers a proxy must not forward (RFC 9110 section 7.6.1). */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer', 'upgrade']);

export interface WaypointOptions {
  readonly scenario: Scenario;
  /** The waypoint's own pod. */
  readonly pod: Workload;
  readonly ca: MeshCa;
  readonly log?: Logger;
}

/** The route (or per-try) timeout fired while the upstream had the request. */
class UpstreamTimeoutError extends Error {
  override name = 'UpstreamTimeoutError';
}

/** How a request ended, for metrics and the access log. */
interface Outcome {
  status: number;
  flags: string;
  details: string;
  route?: string;
  backend?: Service;
  pod?: Workload;
  upstreamHost?: string;
  policy?: string;
}

/** A kept-alive upstream connection the pod closed while idle is replaced at most this often per request. */
const STALE_CONNECTION_RETRIES = 2;

/** Stage 4's answer: the response head, and whether its connection was a new CONNECT or reused. */
interface Forwarded {
  readonly res: http.IncomingMessage;
  readonly tunnel: { readonly upstream: string; readonly tunnel_trace?: string };
}

/** What stage 1 learnt about a tunnel, for the requests that follow on it. */
interface TunnelContext {
  readonly conn: InboundConnect;
  readonly service: Service;
  readonly port: number;
}

export class Waypoint {
  readonly state: MeshState;
  private readonly log: Logger;
  private readonly pool = new HbonePool({ log: logger('hbone::pool') });
  private readonly upstreams: UpstreamPool;
  private readonly tunnels = new WeakMap<object, TunnelContext>();
  private readonly routeTables = new Map<string, CompiledRouteTable>();
  private readonly http: http.Server;
  private readonly traces = new TraceLog();
  readonly metrics = new RequestMetrics();
  private readonly accessLog = new WaypointAccessLog();
  private cert!: WorkloadCertificate;
  private server?: HboneServer;
  private readonly admin: AdminServer[] = [];
  private ready = false;

  constructor(private readonly options: WaypointOptions) {
    this.state = new MeshState(options.scenario);
    this.log = options.log ?? logger('waypoint');
    // Stage 4's connections: a CONNECT to the pod, as the waypoint, per upstream HTTP connection.
    this.upstreams = new UpstreamPool((target, traceparent) => this.originate(target, traceparent), options.pod.ip);
    this.http = http.createServer({ keepAliveTimeout: 60_000 }, (req, res) => {
      this.onRequest(req, res).catch((err: Error) => {
        this.log.error('request failed', { error: err.stack ?? err.message });
        if (!res.headersSent) res.writeHead(500).end();
        else res.destroy(err);
      });
    });
    // A malformed request inside one tunnel gets 400 there; other tunnels never notice.
    this.http.on('clientError', (err: NodeJS.ErrnoException, socket) => {
      this.log.info('malformed HTTP request in tunnel', { error: err.code ?? err.message });
      const answer = (): void => {
        if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\ncontent-length: 11\r\nconnection: close\r\n\r\nBad Request');
        else socket.destroy();
      };
      // A valid request before the garbage still gets its answer first, as Envoy does.
      const pending = (socket as { _httpMessage?: http.ServerResponse })._httpMessage;
      if (pending && !pending.writableFinished) pending.once('close', answer);
      else answer();
    });
  }

  get served(): Service[] {
    return this.state.servicesOfWaypoint(this.options.pod);
  }

  async start(): Promise<void> {
    const pod = this.options.pod;
    const podHost = hostAddress(pod.ip);
    this.admin.push(await startHttp(podHost, PORT_READINESS, readinessRoutes(() => this.ready)));
    this.cert = await WorkloadCertificate.obtain(makeSpiffeId(pod.namespace, pod.serviceAccount, this.state.trustDomain), this.options.ca);
    this.server = new HboneServer({ address: podHost, port: PORT_HBONE, certificate: this.cert, handler: (c) => this.terminate(c), log: logger('hbone::server') });
    // Compile every served service's routes now: a bad route fails the start, not a request.
    for (const s of this.served) for (const p of s.ports) this.routeTable(s, p.port);
    await this.server.listen();
    this.admin.push(
      await startHttp(podHost, PORT_ADMIN, {
        '/config_dump': (_req, res) => sendJson(res, configDump(this.state, pod, this.served, { routeTable: (s, p) => this.routeTable(s, p) })),
      }),
    );
    const metrics = async (_req: unknown, res: http.ServerResponse): Promise<void> => {
      res.writeHead(200, { 'content-type': this.metrics.contentType }).end(await this.metrics.metrics());
    };
    this.admin.push(await startHttp(podHost, PORT_METRICS, { '/metrics': metrics, '/stats/prometheus': metrics }));
    this.ready = true;
    this.log.info('ready', { pod: pod.name, identity: this.cert.spiffeId, serves: this.served.map(serviceHost).join(',') });
  }

  async stop(graceMs = 1000): Promise<void> {
    this.ready = false;
    this.cert?.stop();
    this.upstreams.close();
    await Promise.all([this.server?.close(graceMs), this.pool.close(graceMs), ...this.admin.map((a) => a.close())]);
    this.http.close();
  }

  /** Stage 4 (inbound_CONNECT_originate): a CONNECT to the pod `target` (ip:port), as the waypoint. */
  private originate(target: string, traceparent: string): Promise<ClientHttp2Stream> {
    return this.pool.connect({
      source: this.cert,
      expect: { kind: 'trustDomain', trustDomain: this.state.trustDomain },
      address: hostAddress(target.slice(0, target.lastIndexOf(':'))),
      sourceIp: hostAddress(this.options.pod.ip),
      authority: target,
      headers: { [HEADER_ORIGINAL_DST]: target, [HEADER_TRACEPARENT]: traceparent },
    });
  }

  /** Stage 1: match :authority VIP:port to a service this waypoint serves. */
  private terminate(conn: InboundConnect): void {
    const { host, port } = conn.authority;
    const service = this.state.serviceByVip(host);
    const fields = { stage: STAGE_TERMINATE, authority: formatAuthority(host, port), peer: conn.peerSpiffeId };
    if (!service || !this.served.includes(service) || !service.ports.some((p) => p.port === port)) {
      this.log.info('no service for :authority', fields);
      return conn.reject(STATUS_SERVICE_UNAVAILABLE, `waypoint serves no service at ${formatAuthority(host, port)}`);
    }
    this.log.debug('tunnel accepted', { ...fields, service: serviceHost(service) });
    const stream = conn.accept();
    void detectProtocol(stream, service.ports.find((p) => p.port === port)!.name).then((protocol) => {
      if (protocol === 'tcp') return this.relayTcp(conn, stream, service, port);
      this.serveHttp(conn, stream, service, port);
    });
  }

  /** HTTP/1.1 inside the tunnel: node:http parses it request by request (stages 2 to 4). */
  private serveHttp(conn: InboundConnect, stream: ServerHttp2Stream, service: Service, port: number): void {
    const { host } = conn.authority;
    const socket = new TunnelSocket(stream, {
      remoteAddress: clusterAddress(conn.remote.address),
      remotePort: conn.remote.port,
      localAddress: host,
      localPort: port,
    });
    this.tunnels.set(socket, { conn, service, port });
    this.http.emit('connection', socket);
  }

  /**
   * Not HTTP: the waypoint relays the bytes at L4, as Envoy's TCP proxy would, with the policies
   * attached here still enforced on what L4 can see (rules with HTTP fields: an ALLOW never
   * matches, a DENY matches, as ztunnel treats them).
   */
  private async relayTcp(conn: InboundConnect, stream: ServerHttp2Stream, service: Service, port: number): Promise<void> {
    const servicePort = service.ports.find((p) => p.port === port)!;
    const pod = this.state.nextEndpointOf(service);
    if (!pod) return void resetStream(stream);
    const target = rbacTarget(service, pod, this.options.pod);
    // The attached policies, made namespace-wide so the L4 evaluator applies them all to this pod.
    const attached = this.state.scenario.policies
      .filter((d) => appliesAtWaypoint(d, target))
      .map((d) => ({ ...d, metadata: { ...d.metadata, namespace: pod.namespace }, spec: { ...d.spec, selector: undefined, targetRefs: undefined, targetRef: undefined } }));
    const decision = authorizeL4(attached, { namespace: pod.namespace, labels: pod.labels }, {
      sourcePrincipal: principalOf(conn.peer),
      sourceNamespace: conn.peer.namespace,
      sourceIp: clusterAddress(conn.remote.address),
      destinationIp: service.vip,
      destinationPort: port,
    });
    const fields = { stage: podStage(pod, servicePort.targetPort), service: serviceHost(service), peer: conn.peerSpiffeId, protocol: 'tcp' };
    if (!decision.allowed) {
      this.log.info('rbac denied (tcp)', { ...fields, policy: decision.policy ?? 'none', reason: decision.reason });
      return void resetStream(stream);
    }
    const authority = formatAuthority(pod.ip, servicePort.targetPort);
    try {
      const upstream = await this.originate(authority, childTraceparent(headerValue(conn.headers[HEADER_TRACEPARENT])));
      const bytes = await pipeStreams(stream, upstream);
      this.log.debug('tcp relay complete', { ...fields, upstream: authority, ...bytes });
    } catch (err) {
      this.log.info('tcp upstream failed', { ...fields, upstream: authority, error: (err as Error).message });
      resetStream(stream);
    }
  }

  /** Stages 2 to 4 for one request (stage 1 happened when its tunnel was accepted). */
  private async onRequest(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const clock = new StageClock();
    // An absolute-form target (GET http://host/path, as proxies are sent) is matched, like
    // Envoy does, on its path and authority: routes and RBAC must not see the raw form.
    normalizeTarget(req);
    const tunnel = this.tunnels.get(req.socket);
    if (!tunnel) throw new Error('request on an unknown tunnel');
    const { conn, service, port } = tunnel;
    // Continue the client's trace, or the one its ztunnel started on the CONNECT.
    const parent = header(req, HEADER_TRACEPARENT) ?? headerValue(conn.headers[HEADER_TRACEPARENT]);
    const traceparent = childTraceparent(parent);
    const traceId = traceIdOf(traceparent)!;
    const base = { trace: traceId, method: req.method, path: req.url, peer: conn.peerSpiffeId };
    // What the access log and istio_requests_* report once the response is done.
    const outcome: Outcome = { status: 0, flags: HTTP_RESPONSE_FLAGS.none, details: 'via_upstream' };
    let requestBytes = 0;
    let responseBytes = 0;
    // Counted as the body is forwarded: a 'data' listener here would start the body flowing
    // before the upstream exists, and it would be lost.
    const countRequest = (n: number): void => {
      requestBytes += n;
    };
    res.once('close', () => this.report(req, conn, service, port, outcome, traceId, clock.elapsedMs, requestBytes, responseBytes));
    const countResponse = (n: number): void => {
      responseBytes += n;
    };
    const finish = (status: number, body?: string): void => {
      outcome.status = status;
      this.traces.write({ traceId, process: this.options.pod.name, stages: clock.stages, status, durationMs: clock.elapsedMs });
      if (body !== undefined) {
        countResponse(Buffer.byteLength(body));
        res.writeHead(status, { 'content-type': 'text/plain' }).end(body);
      }
    };
    clock.mark(STAGE_TERMINATE, {
      listener: `${this.options.pod.ip}:${PORT_HBONE}`,
      authority: formatAuthority(service.vip, port),
      service: serviceHost(service),
      peer: conn.peerSpiffeId,
      identity: this.cert.spiffeId,
    });

    // Stage 2: HTTP routes of the service.
    const vip = vipStage(service, port);
    const decision = route(this.routeTable(service, port), { method: req.method ?? 'GET', path: req.url ?? '/', headers: req.headers });
    if (decision && decision.kind !== 'forward') {
      clock.mark(vip, { request: `${req.method} ${req.url}`, route: 'none', status: decision.status, reason: decision.reason });
      this.log.info('no route', { ...base, stage: vip, status: decision.status, reason: decision.reason });
      Object.assign(outcome, decision.kind === 'no-route' ? { flags: HTTP_RESPONSE_FLAGS.noRoute, details: 'route_not_found' } : { flags: HTTP_RESPONSE_FLAGS.noHealthyUpstream, details: 'no_healthy_upstream' });
      return finish(decision.status, decision.kind === 'no-route' ? 'route not found' : decision.reason);
    }
    const backend = decision ? this.state.scenario.services.find((s) => s.name === decision.backend.name && s.namespace === decision.backend.namespace) : service;
    const backendPort = decision ? decision.backend.port : port;
    const servicePort = backend?.ports.find((p) => p.port === backendPort);
    clock.mark(vip, {
      request: `${req.method} ${req.url}`,
      route: decision ? decision.envoyRouteName : 'default',
      backend: backend ? `${serviceHost(backend)}:${backendPort}` : 'none',
    });
    outcome.route = decision ? decision.envoyRouteName : 'default';
    if (backend) outcome.backend = backend;
    if (!backend || !servicePort) {
      Object.assign(outcome, { flags: HTTP_RESPONSE_FLAGS.noHealthyUpstream, details: 'no_healthy_upstream' });
      return finish(STATUS_SERVICE_UNAVAILABLE, BODY_NO_HEALTHY_UPSTREAM);
    }
    const headers = decision ? applyHeaderModifiers(forwardable(req), decision.headerModifiers) : forwardable(req);

    // Stage 3: pick the endpoint, then the RBAC filter (selector policies match the endpoint's labels).
    const endpoints = this.state.endpointsOf(backend);
    if (endpoints.length === 0) {
      Object.assign(outcome, { flags: HTTP_RESPONSE_FLAGS.noHealthyUpstream, details: 'no_healthy_upstream' });
      return finish(STATUS_SERVICE_UNAVAILABLE, BODY_NO_HEALTHY_UPSTREAM);
    }
    const retry = decision?.retry;
    const bodyless = !req.headers['content-length'] && !req.headers['transfer-encoding'];
    const attempts = bodyless ? 1 + (retry?.attempts ?? 0) : 1; // a streamed body cannot be replayed
    const deadline = decision?.timeoutMs ? performance.now() + decision.timeoutMs : undefined;
    for (let attempt = 0; attempt < attempts; attempt++) {
      const pod = this.state.nextEndpointOf(backend)!;
      const stage3 = podStage(pod, servicePort.targetPort);
      outcome.pod = pod;
      outcome.upstreamHost = formatAuthority(pod.ip, servicePort.targetPort);
      const authz = authorizeL7(this.state.scenario.policies, rbacTarget(service, pod, this.options.pod), {
        sourcePrincipal: principalOf(conn.peer),
        sourceIp: clusterAddress(conn.remote.address),
        destinationIp: service.vip,
        destinationPort: port,
        method: req.method ?? 'GET',
        path: req.url ?? '/',
        host: header(req, 'host') ?? formatAuthority(service.vip, port),
        headers: req.headers as Record<string, string | string[] | undefined>,
      });
      clock.mark(stage3, { rbac: authz.allowed ? 'allowed' : 'denied', policy: authz.policy ?? 'none', reason: authz.reason, endpoint: `${pod.name} ${pod.ip}` });
      outcome.policy = authz.policy;
      // AUDIT policies never change the decision: they are logged, as Envoy's audit logging does.
      for (const rule of authz.audited ?? []) this.log.info('rbac audit', { ...base, stage: stage3, policy: rule, decision: authz.allowed ? 'allowed' : 'denied' });
      if (!authz.allowed) {
        Object.assign(outcome, { details: authz.responseCodeDetails ?? 'rbac_access_denied_matched_policy[none]' });
        this.log.info('rbac denied', { ...base, stage: stage3, policy: authz.policy ?? 'none', reason: authz.reason });
        return finish(RBAC_DENIED_STATUS, RBAC_DENIED_BODY);
      }
      // Stage 4: a new CONNECT to the pod, as the waypoint.
      const target = formatAuthority(pod.ip, servicePort.targetPort);
      const originate = { authority: target, hbone: formatAuthority(pod.ip, PORT_HBONE), [HEADER_ORIGINAL_DST]: target, identity: this.cert.spiffeId, expect: `spiffe://${this.state.trustDomain}/*`, attempt };
      const timedOut = (): void => {
        Object.assign(outcome, { flags: HTTP_RESPONSE_FLAGS.upstreamRequestTimeout, details: 'upstream_response_timeout' });
        finish(504, BODY_TIMEOUT);
      };
      // The route timeout covers every try; a per-try timeout (backendRequest) each one.
      if (deadline !== undefined && performance.now() >= deadline) return timedOut();
      const perTry = retry?.perTryTimeoutMs !== undefined ? performance.now() + retry.perTryTimeoutMs : undefined;
      const tryDeadline = deadline === undefined ? perTry : perTry === undefined ? deadline : Math.min(deadline, perTry);
      let forwarded: Forwarded;
      try {
        forwarded = await this.forward(req, bodyless, target, { ...headers, traceparent }, traceparent, countRequest, tryDeadline);
      } catch (err) {
        clock.mark(STAGE_ORIGINATE, { ...originate, error: (err as Error).message });
        if (err instanceof HboneConnectError) {
          // Only a failed connect is a connect failure: the request never reached the pod.
          this.log.info('upstream connect failed', { ...base, stage: STAGE_ORIGINATE, target, status: err.status, error: err.message, attempt });
          if (attempt + 1 < attempts && (retry?.onConnectFailure ?? false)) continue;
          Object.assign(outcome, { flags: HTTP_RESPONSE_FLAGS.upstreamConnectFailure, details: 'upstream_reset_before_response_started{connection_failure}' });
          return finish(STATUS_SERVICE_UNAVAILABLE, BODY_CONNECT_FAILURE);
        }
        this.log.info('upstream failed', { ...base, stage: STAGE_ORIGINATE, target, error: (err as Error).message, attempt });
        // The request reached the pod: a timeout or a reset is the answer, not something to retry.
        if (err instanceof UpstreamTimeoutError) return timedOut();
        Object.assign(outcome, { flags: HTTP_RESPONSE_FLAGS.upstreamConnectionTermination, details: 'upstream_reset_before_response_started{remote_reset}' });
        return finish(STATUS_SERVICE_UNAVAILABLE, BODY_CONNECT_FAILURE);
      }
      const { res: upstream, tunnel } = forwarded;
      const status = upstream.statusCode ?? 502;
      clock.mark(STAGE_ORIGINATE, { ...originate, ...tunnel, status });
      if (attempt + 1 < attempts && retry?.codes.includes(status)) {
        upstream.resume();
        this.log.info('retrying', { ...base, stage: STAGE_ORIGINATE, target, status, attempt });
        continue;
      }
      this.log.debug('request complete', { ...base, route: decision?.envoyRouteName ?? 'default', rbac: authz.policy ?? 'none', upstream: target, status, duration_ms: clock.elapsedMs });
      finish(status);
      res.writeHead(status, stripHopByHop(upstream.headers));
      upstream.on('data', (c: Buffer) => countResponse(c.length));
      upstream.pipe(res);
      return;
    }
  }

  /** istio_requests_* and one access-log line, once the response is done. */
  private report(req: http.IncomingMessage, conn: InboundConnect, service: Service, port: number, o: Outcome, traceId: string, durationMs: number, requestBytes: number, responseBytes: number): void {
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
      durationMs,
      requestBytes,
      responseBytes,
    } as Parameters<RequestMetrics['record']>[0]);
    this.accessLog.write({
      startTime: new Date(Date.now() - durationMs),
      method: req.method ?? '-',
      path: req.url ?? '/',
      protocol: `HTTP/${req.httpVersion}`,
      responseCode: o.status,
      responseFlags: o.flags,
      responseCodeDetails: o.details,
      bytesReceived: requestBytes,
      bytesSent: responseBytes,
      durationMs,
      authority: req.headers.host ?? formatAuthority(service.vip, port),
      upstreamHost: o.upstreamHost,
      upstreamCluster: o.pod ? vipStage(backend, port) : undefined,
      userAgent: req.headers['user-agent'],
      downstreamRemoteAddress: formatAuthority(clusterAddress(conn.remote.address), conn.remote.port),
      downstreamLocalAddress: formatAuthority(service.vip, port),
      routeName: o.route,
      traceId,
      rbacPolicy: o.policy,
    });
  }

  /**
   * Sends the request on a pooled upstream connection to `target` (a new CONNECT if none is idle);
   * resolves with the response head and whether the connection was new or reused.
   */
  private forward(
    req: http.IncomingMessage,
    bodyless: boolean,
    target: string,
    headers: Record<string, string>,
    traceparent: string,
    countBody: (bytes: number) => void,
    deadline?: number,
    staleRetries = STALE_CONNECTION_RETRIES,
  ): Promise<Forwarded> {
    return new Promise((resolve, reject) => {
      const options: TunnelRequestOptions = { method: req.method, path: req.url, headers, agent: this.upstreams.agentFor(target), traceparent };
      const out = http.request(options);
      const timer = deadline !== undefined ? setTimeout(() => out.destroy(new UpstreamTimeoutError(BODY_TIMEOUT)), Math.max(0, deadline - performance.now())) : undefined;
      out.on('response', (res) => {
        if (timer) clearTimeout(timer);
        const tunnel = out.reusedSocket ? { upstream: UPSTREAM_REUSED, tunnel_trace: UpstreamPool.tunnelTraceOf(out.socket) ?? '' } : { upstream: UPSTREAM_NEW };
        resolve({ res, tunnel });
      });
      out.on('error', (err) => {
        if (timer) clearTimeout(timer);
        // An idle connection the pod closed just as it was picked: send again on another, as
        // Node's docs advise. Only a bodyless request can be sent twice.
        if (out.reusedSocket && bodyless && staleRetries > 0 && !(err instanceof UpstreamTimeoutError)) {
          this.log.debug('stale upstream connection, sending again', { target, error: err.message });
          return resolve(this.forward(req, bodyless, target, headers, traceparent, countBody, deadline, staleRetries - 1));
        }
        reject(err);
      });
      // A bodyless request may be retried, and a retry cannot re-read an ended request.
      if (bodyless) return void out.end();
      req.on('data', (c: Buffer) => countBody(c.length));
      req.pipe(out);
    });
  }

  private routeTable(service: Service, port: number): CompiledRouteTable {
    const key = `${service.namespace}/${service.name}:${port}`;
    let table = this.routeTables.get(key);
    if (!table) {
      const portName = service.ports.find((p) => p.port === port)?.name;
      // The documents as written: `origin` is the loader's note, not part of Gateway API.
      const docs = this.state.scenario.httpRoutes.map(({ origin: _origin, ...doc }) => doc);
      table = compileRoutes(docs as unknown as Parameters<typeof compileRoutes>[0], { name: service.name, namespace: service.namespace, port, portName });
      this.routeTables.set(key, table);
    }
    return table;
  }

}

/** Port-name protocol selection, as Istio does; other names are sniffed from the first bytes. */
const HTTP_PORT_NAME_RE = /^(http|http2|grpc|grpc-web)(-|$)/i;
const TCP_PORT_NAME_RE = /^(tcp|tls|mongo|mysql|redis)(-|$)/i;
const HTTP_REQUEST_LINE_RE = /^[A-Z]{3,7} \S+ HTTP\/1\.[01]\r?\n?/;
const SNIFF_TIMEOUT_MS = 1000;

function detectProtocol(stream: ServerHttp2Stream, portName: string): Promise<'http' | 'tcp'> {
  if (HTTP_PORT_NAME_RE.test(portName)) return Promise.resolve('http');
  if (TCP_PORT_NAME_RE.test(portName)) return Promise.resolve('tcp');
  return new Promise((resolve) => {
    // A server-speaks-first protocol sends nothing: after a while, call it TCP.
    const timer = setTimeout(() => {
      stream.off('data', onData);
      stream.pause();
      resolve('tcp');
    }, SNIFF_TIMEOUT_MS);
    const onData = (chunk: Buffer): void => {
      clearTimeout(timer);
      stream.pause();
      stream.unshift(chunk);
      resolve(HTTP_REQUEST_LINE_RE.test(chunk.toString('latin1', 0, 64)) ? 'http' : 'tcp');
    };
    stream.once('data', onData);
  });
}

function normalizeTarget(req: http.IncomingMessage): void {
  const url = req.url ?? '/';
  if (url.startsWith('/') || url === '*') return;
  try {
    const parsed = new URL(url);
    req.url = parsed.pathname + parsed.search;
    req.headers.host = parsed.host;
  } catch {
    // Not a URL either: leave it; it will match no route or policy path.
  }
}

function header(req: http.IncomingMessage, name: string): string | undefined {
  return headerValue(req.headers[name]);
}

/** The request's end-to-end headers, for the upstream request. */
function forwardable(req: http.IncomingMessage): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(req.headers)) {
    if (v === undefined || HOP_BY_HOP.has(k)) continue;
    out[k] = Array.isArray(v) ? v.join(', ') : v;
  }
  return out;
}

function stripHopByHop(headers: http.IncomingHttpHeaders): http.OutgoingHttpHeaders {
  const out: http.OutgoingHttpHeaders = {};
  for (const [k, v] of Object.entries(headers)) if (v !== undefined && !HOP_BY_HOP.has(k)) out[k] = v;
  return out;
}
