// The waypoint: an L7 proxy for the services bound to it (istio.io/use-waypoint), in the four
// stages of a waypoint's Envoy configuration (DESIGN.md section 1):
//   1 inbound_CONNECT_terminate  HBONE on :15008; :authority VIP:port picks the service
//   2 inbound-vip|<port>|http|<host>  HTTP/1.1 inside the tunnel, request by request; HTTPRoute
//   3 inbound-pod|<port>||<pod ip>    AuthorizationPolicy (the RBAC filter), then the endpoint
//   4 inbound_CONNECT_originate  a new pooled HBONE CONNECT to the pod, as the waypoint
import * as http from 'node:http';
import type { Duplex } from 'node:stream';
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
import { appliesAtWaypoint, authorizeL7, rbacTarget, RBAC_DENIED_BODY, RBAC_DENIED_STATUS } from '../policy/authz-l7';
import { authorize as authorizeL4 } from '../policy/authz';
import { compileRoutes, route } from '../policy/httproute';
import type { CompiledRouteTable } from '../policy/httproute-table';
import { applyHeaderModifiers } from '../policy/httproute-headers';
import { normalizeRequestTarget, PathNormalizationType, PathRejection } from '../policy/path-normalization';
import { logger, Logger } from '../telemetry/log';
import { MeshState } from '../mesh/state';
import { StageClock, TraceLog } from '../telemetry/trace';
import { RequestMetrics, HTTP_RESPONSE_FLAGS } from '../telemetry/request-metrics';
import { TcpMetrics, WAYPOINT_TCP_FLAGS } from '../telemetry/tcp-metrics';
import { sourceLabels, destinationLabels, serviceLabels } from '../telemetry/workload-labels';
import { configDump } from './config-dump';
import { WaypointAccessLog } from './access-log';
import { TunnelSocket } from './tunnel-socket';
import { UpstreamPool, TunnelRequestOptions } from './upstream-pool';
import { BodyFraming, framingOf, isReplayable, withFraming } from './framing';
import { endToEndRequest, endToEndResponse } from './hop-by-hop';
import { RequestsInTurn, DownstreamProtocolError, codecErrorAnswer } from './downstream';
import { STAGE_ORIGINATE, STAGE_TERMINATE, UPSTREAM_NEW, UPSTREAM_REUSED, podStage, vipStage } from './envoy-names';
import { errorMessage } from '../error-message';

/** Envoy's own words, so a learner recognises them. */
const BODY_NO_HEALTHY_UPSTREAM = 'no healthy upstream';
const BODY_CONNECT_FAILURE = 'upstream connect error or disconnect/reset before headers. reset reason: connection failure';
const BODY_TIMEOUT = 'upstream request timeout';

export interface WaypointOptions {
  readonly scenario: Scenario;
  /** The waypoint's own pod. */
  readonly pod: Workload;
  readonly ca: MeshCa;
  readonly log?: Logger;
}

/** Envoy keeps a downstream HTTP/1.1 connection open this long without a request. */
const DOWNSTREAM_KEEPALIVE_MS = 60_000;

/** The route (or per-try) timeout fired while the upstream had the request. */
class UpstreamTimeoutError extends Error {
  override name = 'UpstreamTimeoutError';
}

/** The client went away before its response was complete (Envoy's DC). */
class DownstreamDisconnectError extends Error {
  override name = 'DownstreamDisconnectError';
  constructor() {
    super('downstream connection closed before the response completed');
  }
}

/** The pod's response ended before it was complete: the downstream is reset. */
class UpstreamResetError extends Error {
  override name = 'UpstreamResetError';
  readonly code = 'ECONNRESET';
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

/** The upstream request of one downstream request, while there is one. */
interface UpstreamCall {
  request?: http.ClientRequest;
}

/** One try of stage 4. */
interface ForwardRequest {
  readonly req: http.IncomingMessage;
  readonly framing: BodyFraming;
  /** The pod, ip:port. */
  readonly target: string;
  readonly headers: Record<string, string>;
  readonly traceparent: string;
  readonly countBody: (bytes: number) => void;
  readonly upstream: UpstreamCall;
  /** performance.now() by which the response head must have come. */
  readonly deadline?: number;
}

/** What the access log says of the request itself. */
interface RequestFacts {
  readonly method: string;
  readonly path: string;
  readonly protocol: string;
  /** The Host header (:authority). */
  readonly authority?: string;
  readonly userAgent?: string;
}

/** One finished request, for metrics and the access log. */
interface RequestReport {
  readonly req: RequestFacts;
  readonly tunnel: TunnelContext;
  readonly outcome: Outcome;
  readonly traceId: string | undefined;
  readonly durationMs: number;
  readonly requestBytes: number;
  readonly responseBytes: number;
}

function requestFacts(req: http.IncomingMessage, service: Service, port: number): RequestFacts {
  return { method: req.method ?? '-', path: req.url ?? '/', protocol: `HTTP/${req.httpVersion}`, authority: req.headers.host ?? formatAuthority(service.vip, port), userAgent: req.headers['user-agent'] };
}

export class Waypoint {
  readonly state: MeshState;
  private readonly log: Logger;
  private readonly pool = new HbonePool({ log: logger('hbone::pool') });
  private readonly upstreams: UpstreamPool;
  private readonly tunnels = new WeakMap<object, TunnelContext>();
  /** Requests of one connection run in turn (downstream.ts). */
  private readonly inTurn = new RequestsInTurn();
  /** Per request in flight: cuts its upstream request when its own body turns out malformed. */
  private readonly cutters = new WeakMap<http.IncomingMessage, (err: DownstreamProtocolError) => void>();
  /** Connections whose bytes the parser failed on: answered once, then read no more. */
  private readonly failedConnections = new WeakSet<Duplex>();
  /** Requests whose body the parser failed on, before their turn came. */
  private readonly broken = new WeakMap<http.IncomingMessage, DownstreamProtocolError>();
  private readonly routeTables = new Map<string, CompiledRouteTable>();
  private readonly http: http.Server;
  private readonly traces = new TraceLog();
  readonly metrics = new RequestMetrics();
  /** istio_tcp_* for connections relayed at L4 (not HTTP), reporter="waypoint". */
  readonly tcpMetrics = new TcpMetrics();
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
    // node:http's default, not createHttpServer's half-open one: Envoy's connection manager
    // takes a client's FIN as the end of the connection, so a client that half-closes after its
    // request gets no answer and the request is logged DC (envoyproxy/envoy#2066, #17160).
    this.http = http.createServer({ keepAliveTimeout: DOWNSTREAM_KEEPALIVE_MS }, (req, res) =>
      this.inTurn.run(req, res, () =>
        this.onRequest(req, res).catch((err: Error) => {
          this.log.error('request failed', { error: err.stack ?? err.message });
          if (!res.headersSent) res.writeHead(500).end();
          else res.destroy(err);
        }),
      ),
    );
    // A malformed request inside one tunnel gets its answer there; other tunnels never notice.
    this.http.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => this.onCodecError(err, socket));
    // CONNECT inside a tunnel: no route of a waypoint matches it (Envoy matches CONNECT only
    // with a connect_matcher). node:http would drop the connection without a word.
    this.http.on('connect', (req: http.IncomingMessage, socket: Duplex) => this.onInnerConnect(req, socket));
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
      const text = (await this.metrics.metrics()) + (await this.tcpMetrics.metrics());
      res.writeHead(200, { 'content-type': this.metrics.contentType }).end(text);
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
    // Counted as Envoy's stats filter counts a TCP proxy connection: opened once accepted, closed
    // with Envoy's flag. A denial is no flag (the network RBAC filter sets termination details).
    const td = { trustDomain: this.state.trustDomain };
    const source = this.state.podByIp(clusterAddress(conn.remote.address));
    const metrics = this.tcpMetrics.open({
      reporter: 'waypoint',
      ...(source ? sourceLabels(source, td) : {}),
      source_principal: conn.peerSpiffeId,
      ...destinationLabels(pod, td),
      ...serviceLabels(service),
      connection_security_policy: 'mutual_tls',
    });
    if (!decision.allowed) {
      this.log.info('rbac denied (tcp)', { ...fields, policy: decision.policy ?? 'none', reason: decision.reason });
      metrics.close(WAYPOINT_TCP_FLAGS.none);
      return void resetStream(stream);
    }
    const authority = formatAuthority(pod.ip, servicePort.targetPort);
    let upstream: ClientHttp2Stream;
    try {
      upstream = await this.originate(authority, childTraceparent(headerValue(conn.headers[HEADER_TRACEPARENT])));
    } catch (err) {
      this.log.info('tcp upstream failed', { ...fields, upstream: authority, error: errorMessage(err) });
      metrics.close(WAYPOINT_TCP_FLAGS.upstreamConnectFailure);
      return void resetStream(stream);
    }
    const bytes = await pipeStreams(stream, upstream);
    metrics.received(bytes.bytesAtoB);
    metrics.sent(bytes.bytesBtoA);
    metrics.close(WAYPOINT_TCP_FLAGS.none);
    this.log.debug('tcp relay complete', { ...fields, upstream: authority, ...bytes });
  }

  /** Stages 2 to 4 for one request (stage 1 happened when its tunnel was accepted). */
  private async onRequest(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const clock = new StageClock();
    // The connection manager's path normalization (meshConfig.pathNormalization) before anything
    // else, as in Envoy: routes, RBAC, the access log and the pod all see the normalized path.
    const refused = normalizeTarget(req, this.options.scenario.meshConfig.pathNormalization.normalization);
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
    const bytes = { request: 0, response: 0 };
    // The upstream request in flight, so a broken or abandoned downstream can cut it.
    const upstream: UpstreamCall = {};
    this.cutters.set(req, (err) => {
      if (outcome.flags === HTTP_RESPONSE_FLAGS.none) Object.assign(outcome, { flags: HTTP_RESPONSE_FLAGS.downstreamProtocolError, details: err.answer.details });
      upstream.request?.destroy(err);
    });
    res.once('close', () => {
      this.cutters.delete(req);
      if (!res.writableFinished) {
        // The client went away before the whole response was sent: Envoy's DC. The upstream
        // request goes too, so the pod's connection is not left half-read in the pool.
        if (outcome.flags === HTTP_RESPONSE_FLAGS.none) {
          Object.assign(outcome, { flags: HTTP_RESPONSE_FLAGS.downstreamConnectionTermination, details: 'downstream_remote_disconnect' });
          if (!res.headersSent) outcome.status = 0;
        }
        upstream.request?.destroy(new DownstreamDisconnectError());
      }
      this.report({ req: requestFacts(req, service, port), tunnel, outcome, traceId, durationMs: clock.elapsedMs, requestBytes: bytes.request, responseBytes: bytes.response });
    });
    const finish = (status: number, body?: string, closeConnection = false): void => {
      outcome.status = status;
      this.traces.write({ traceId, process: this.options.pod.name, stages: clock.stages, status, durationMs: clock.elapsedMs });
      if (body !== undefined && !res.destroyed) {
        bytes.response += Buffer.byteLength(body);
        res.writeHead(status, closeConnection ? { 'content-type': 'text/plain', connection: 'close' } : { 'content-type': 'text/plain' }).end(body);
      }
    };
    clock.mark(STAGE_TERMINATE, {
      listener: `${this.options.pod.ip}:${PORT_HBONE}`,
      authority: formatAuthority(service.vip, port),
      service: serviceHost(service),
      peer: conn.peerSpiffeId,
      identity: this.cert.spiffeId,
    });
    // Its body broke while it waited for its turn: answered as the codec answers, connection closed.
    const broken = this.broken.get(req);
    if (broken) {
      Object.assign(outcome, { flags: HTTP_RESPONSE_FLAGS.downstreamProtocolError, details: broken.answer.details });
      return finish(broken.answer.status, broken.answer.body, true);
    }

    // Stage 2: HTTP routes of the service, unless the connection manager refused the target.
    const vip = vipStage(service, port);
    if (refused) {
      clock.mark(vip, { request: `${req.method} ${req.url}`, route: 'none', status: refused.status, reason: refused.details });
      this.log.info('request target refused', { ...base, stage: vip, status: refused.status, details: refused.details });
      outcome.details = refused.details;
      bytes.response += Buffer.byteLength(refused.body);
      finish(refused.status);
      return answerRefused(req, res, refused);
    }
    // What routes and RBAC decide on is what the pod receives: hop-by-hop headers are gone first.
    const endToEnd = endToEndRequest(req.headers);
    const decision = route(this.routeTable(service, port), { method: req.method ?? 'GET', path: req.url ?? '/', headers: endToEnd });
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
    const framing = framingOf(req);
    const headers = withFraming(decision ? applyHeaderModifiers(endToEnd, decision.headerModifiers) : endToEnd, framing);

    // Stage 3: pick the endpoint, then the RBAC filter (selector policies match the endpoint's labels).
    const endpoints = this.state.endpointsOf(backend);
    if (endpoints.length === 0) {
      Object.assign(outcome, { flags: HTTP_RESPONSE_FLAGS.noHealthyUpstream, details: 'no_healthy_upstream' });
      return finish(STATUS_SERVICE_UNAVAILABLE, BODY_NO_HEALTHY_UPSTREAM);
    }
    const retry = decision?.retry;
    const replayable = isReplayable(framing);
    const attempts = replayable ? 1 + (retry?.attempts ?? 0) : 1; // a streamed body cannot be replayed
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
        headers: endToEnd,
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
        forwarded = await this.forward({ req, framing, target, headers: { ...headers, traceparent }, traceparent, countBody: (n) => (bytes.request += n), upstream, deadline: tryDeadline });
      } catch (err) {
        clock.mark(STAGE_ORIGINATE, { ...originate, error: errorMessage(err) });
        if (err instanceof DownstreamProtocolError) {
          // The body turned out malformed on its way: the pod's request was reset; the client gets the codec's answer.
          this.log.info('malformed request body', { ...base, stage: STAGE_ORIGINATE, target, error: err.code ?? err.message });
          return finish(err.answer.status, err.answer.body, true);
        }
        // The client left: nobody to answer (res 'close' recorded DC).
        if (err instanceof DownstreamDisconnectError) return finish(outcome.status);
        if (err instanceof HboneConnectError) {
          // Only a failed connect is a connect failure: the request never reached the pod.
          this.log.info('upstream connect failed', { ...base, stage: STAGE_ORIGINATE, target, status: err.status, error: err.message, attempt });
          const retriable = retry?.onConnectFailure ?? false;
          if (attempt + 1 < attempts && retriable) continue;
          // Retries spent on connect failures: Envoy reports both, "UF,URX".
          const flags = retriable && attempts > 1 ? `${HTTP_RESPONSE_FLAGS.upstreamConnectFailure},${HTTP_RESPONSE_FLAGS.upstreamRetryLimitExceeded}` : HTTP_RESPONSE_FLAGS.upstreamConnectFailure;
          Object.assign(outcome, { flags, details: 'upstream_reset_before_response_started{connection_failure}' });
          return finish(STATUS_SERVICE_UNAVAILABLE, BODY_CONNECT_FAILURE);
        }
        this.log.info('upstream failed', { ...base, stage: STAGE_ORIGINATE, target, error: errorMessage(err), attempt });
        // The request reached the pod: a timeout or a reset is the answer, not something to retry.
        if (err instanceof UpstreamTimeoutError) return timedOut();
        Object.assign(outcome, { flags: HTTP_RESPONSE_FLAGS.upstreamConnectionTermination, details: 'upstream_reset_before_response_started{remote_reset}' });
        return finish(STATUS_SERVICE_UNAVAILABLE, BODY_CONNECT_FAILURE);
      }
      const { res: response, tunnel: upstreamTunnel } = forwarded;
      const status = response.statusCode ?? 502;
      clock.mark(STAGE_ORIGINATE, { ...originate, ...upstreamTunnel, status });
      if (retry?.codes.includes(status)) {
        if (attempt + 1 < attempts) {
          response.resume();
          this.log.info('retrying', { ...base, stage: STAGE_ORIGINATE, target, status, attempt });
          continue;
        }
        // The last try's answer is passed on; Envoy flags that the retries ran out.
        if (attempts > 1) outcome.flags = HTTP_RESPONSE_FLAGS.upstreamRetryLimitExceeded;
      }
      this.log.debug('request complete', { ...base, route: decision?.envoyRouteName ?? 'default', rbac: authz.policy ?? 'none', upstream: target, status, duration_ms: clock.elapsedMs });
      finish(status);
      if (res.destroyed) return void response.destroy();
      res.writeHead(status, endToEndResponse(response.headers));
      response.on('data', (c: Buffer) => (bytes.response += c.length));
      response.on('error', () => undefined); // seen through 'close' and `complete`
      response.once('close', () => {
        // The pod's response was cut short (its connection reset or closed mid-body). Envoy
        // resets the downstream stream then (UC): the client must see a reset, never a short
        // response that ends cleanly.
        if (response.complete || res.writableFinished) return;
        if (outcome.flags === HTTP_RESPONSE_FLAGS.none) Object.assign(outcome, { flags: HTTP_RESPONSE_FLAGS.upstreamConnectionTermination, details: 'upstream_reset_after_response_started{connection_termination}' });
        res.destroy(new UpstreamResetError(`upstream response from ${target} cut short`));
      });
      response.pipe(res);
      return;
    }
  }

  /** A codec error: the request it broke is cut and answered, or a new request's head is answered. */
  private onCodecError(err: NodeJS.ErrnoException, socket: Duplex): void {
    // Once: the parser stays failed and node:http reports every later chunk again, so a peer
    // that keeps sending garbage would otherwise queue an answer per chunk. Nothing more is read.
    if (this.failedConnections.has(socket)) return;
    this.failedConnections.add(socket);
    socket.pause();
    const answer = codecErrorAnswer(err.code);
    const tunnel = this.tunnels.get(socket);
    this.log.info('malformed HTTP request in tunnel', { error: err.code ?? err.message, status: answer.status, details: answer.details, peer: tunnel?.conn.peerSpiffeId });
    const broken = this.inTurn.incomplete(socket);
    if (broken) {
      // In the body of a request already handed over, maybe already on its way to the pod: the
      // pod's request is reset, the client answered (or reset, if its response had started),
      // and the connection closed once that is done: no request can be found after bad bytes.
      const error = new DownstreamProtocolError(answer, err.code);
      this.broken.set(broken, error);
      this.cutters.get(broken)?.(error);
      this.inTurn.whenIdle(socket, () => socket.end());
      return;
    }
    // The head of a new request: every request before it still gets its answer first, as
    // Envoy does, then this one its error, and the connection closes.
    this.inTurn.whenIdle(socket, () => {
      if (socket.writable) socket.end(`HTTP/1.1 ${answer.status} ${answer.body}\r\ncontent-length: ${answer.body.length}\r\nconnection: close\r\n\r\n${answer.body}`);
      else socket.destroy();
      if (!tunnel) return;
      const outcome: Outcome = { status: answer.status, flags: HTTP_RESPONSE_FLAGS.downstreamProtocolError, details: answer.details };
      this.report({ req: { method: '-', path: '-', protocol: 'HTTP/1.1' }, tunnel, outcome, traceId: undefined, durationMs: 0, requestBytes: 0, responseBytes: answer.body.length });
    });
  }

  /** CONNECT inside a tunnel matches no route: 404, and the connection closes. */
  private onInnerConnect(req: http.IncomingMessage, socket: Duplex): void {
    const tunnel = this.tunnels.get(socket);
    this.log.info('no route', { method: 'CONNECT', authority: req.url, status: 404, peer: tunnel?.conn.peerSpiffeId });
    const body = 'route not found';
    socket.end(`HTTP/1.1 404 Not Found\r\ncontent-type: text/plain\r\ncontent-length: ${body.length}\r\nconnection: close\r\n\r\n${body}`);
    if (tunnel) {
      const facts = { method: 'CONNECT', path: req.url ?? '-', protocol: `HTTP/${req.httpVersion}`, authority: req.url, userAgent: req.headers['user-agent'] };
      this.report({ req: facts, tunnel, outcome: { status: 404, flags: HTTP_RESPONSE_FLAGS.noRoute, details: 'route_not_found' }, traceId: undefined, durationMs: 0, requestBytes: 0, responseBytes: body.length });
    }
  }

  /** istio_requests_* and one access-log line, once the response is done. */
  private report(r: RequestReport): void {
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

  /**
   * Sends the request on a pooled upstream connection to `target` (a new CONNECT if none is idle);
   * resolves with the response head and whether the connection was new or reused. The body
   * leaves framed (framing.ts), whatever the method.
   */
  private forward(f: ForwardRequest, staleRetries = STALE_CONNECTION_RETRIES): Promise<Forwarded> {
    const { req, framing, target, headers, traceparent, deadline } = f;
    return new Promise((resolve, reject) => {
      const options: TunnelRequestOptions = { method: req.method, path: req.url, headers, agent: this.upstreams.agentFor(target), traceparent };
      const out = http.request(options);
      f.upstream.request = out;
      const timer = deadline !== undefined ? setTimeout(() => out.destroy(new UpstreamTimeoutError(BODY_TIMEOUT)), Math.max(0, deadline - performance.now())) : undefined;
      out.on('response', (res) => {
        if (timer) clearTimeout(timer);
        const tunnel = out.reusedSocket ? { upstream: UPSTREAM_REUSED, tunnel_trace: UpstreamPool.tunnelTraceOf(out.socket) ?? '' } : { upstream: UPSTREAM_NEW };
        resolve({ res, tunnel });
      });
      out.on('error', (err) => {
        if (timer) clearTimeout(timer);
        // An idle connection the pod closed just as it was picked: send again on another, as
        // Node's docs advise. Only a request without a body can be sent twice.
        const local = err instanceof UpstreamTimeoutError || err instanceof DownstreamProtocolError || err instanceof DownstreamDisconnectError;
        if (out.reusedSocket && isReplayable(framing) && staleRetries > 0 && !local) {
          this.log.debug('stale upstream connection, sending again', { target, error: err.message });
          return resolve(this.forward(f, staleRetries - 1));
        }
        reject(err);
      });
      // A request without a body may be retried, and a retry cannot re-read an ended request.
      if (isReplayable(framing)) return void out.end();
      req.on('data', (c: Buffer) => f.countBody(c.length));
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

/**
 * The request target as Envoy's HTTP/1 codec and connection manager leave it: req.url becomes
 * the normalized :path; an absolute-form target (GET http://host/path, as proxies are sent) is
 * split, never resolved by a URL parser first, and its authority replaces Host. Returns how
 * Envoy refuses the target, if it does. llhttp has already answered 400 (clientError) to what
 * Envoy's codec refuses too: spaces, controls and bytes above 0x7F; a raw "\" or "#" gets here.
 */
function normalizeTarget(req: http.IncomingMessage, type: PathNormalizationType): PathRejection | undefined {
  const verdict = normalizeRequestTarget(req.url ?? '/', type);
  if (!verdict.ok) return verdict.rejection;
  req.url = verdict.path;
  if (verdict.authority !== undefined) req.headers.host = verdict.authority;
  return undefined;
}

/**
 * Envoy's local reply to a refused target: its status, an empty body (the codec's errors say
 * "Bad Request"), no response flag. The connection closes after a codec error, and after any
 * request with a body: Envoy answers before reading it and will not wait for it.
 */
function answerRefused(req: http.IncomingMessage, res: http.ServerResponse, refused: PathRejection): void {
  const headers: http.OutgoingHttpHeaders = { 'content-length': Buffer.byteLength(refused.body) };
  if (refused.body !== '') headers['content-type'] = 'text/plain';
  if (refused.closeConnection || !isReplayable(framingOf(req))) headers.connection = 'close';
  res.writeHead(refused.status, headers).end(refused.body);
}

function header(req: http.IncomingMessage, name: string): string | undefined {
  return headerValue(req.headers[name]);
}

