// The waypoint's HTTP connection manager, as Envoy's HCM plays it for one service port: the
// HTTP/1.1 requests inside each accepted tunnel (downstream.ts reads them one at a time), and
// for each the stages of the waypoint's Envoy configuration after inbound_CONNECT_terminate:
//   2 inbound-vip|<port>|http|<host>  HTTPRoute picks a backend
//   3 inbound-pod|<port>||<pod ip>    the RBAC filter (AuthorizationPolicy) for the endpoint
//   4 inbound_CONNECT_originate       the request to the pod over a pooled CONNECT
// Every answer the waypoint gives itself comes from local-replies.ts; reporter.ts writes the
// request's metrics and access-log line once its response is done.
// Just over 400 lines: one method per stage, and the codec's error paths beside them, since
// they share the per-connection state (requests in turn, cutters, broken bodies).
import * as http from 'node:http';
import type { Duplex } from 'node:stream';
import type { ServerHttp2Stream } from 'node:http2';
import { principalOf } from '../identity/spiffe';
import type { InboundConnect } from '../hbone/server';
import { HboneConnectError } from '../hbone/pool';
import { formatAuthority } from '../hbone/authority';
import { childTraceparent, headerValue, traceIdOf } from '../hbone/headers';
import { HEADER_ORIGINAL_DST, HEADER_TRACEPARENT } from '../hbone/constants';
import type { Service, ServicePort, Workload } from '../mesh/model';
import { clusterAddress, serviceHost } from '../mesh/model';
import { PORT_HBONE } from '../mesh/ports';
import type { MeshState } from '../mesh/state';
import { compileAuthorizerL7, L7Authorizer } from '../policy/authz';
import { applyHeaderModifiers, ForwardDecision, route } from '../policy/httproute';
import type { PathNormalizationType } from '../mesh/path-normalization-type';
import type { Logger } from '../telemetry/log';
import { StageClock, TraceLog, TraceStage } from '../telemetry/trace';
import { HTTP_RESPONSE_FLAGS } from '../telemetry/request-metrics';
import { errorMessage } from '../error-message';
import { TunnelSocket } from './tunnel-socket';
import { ObjectIds } from './object-ids';
import type { UpstreamPool } from './upstream-pool';
import { BodyFraming, framingOf, isReplayable, withFraming } from './framing';
import { endToEndRequest, endToEndResponse } from './hop-by-hop';
import { RequestsInTurn, DownstreamProtocolError, codecErrorAnswer } from './downstream';
import { LOCAL_REPLIES, LocalReply, noBackend, rbacDenied } from './local-replies';
import { answerRefused, header, normalizeTarget } from './request-target';
import { DownstreamDisconnectError, Forwarded, forwardRequest, UpstreamCall, UpstreamResetError, UpstreamTimeoutError } from './upstream-request';
import { DownstreamContext, HttpListener, Outcome, RequestReporter, requestFacts } from './reporter';

/** Envoy keeps a downstream HTTP/1.1 connection open this long without a request. */
const DOWNSTREAM_KEEPALIVE_MS = 60_000;

export interface ConnectionManagerOptions {
  readonly state: MeshState;
  /** The proxy's own pod (a waypoint's or an ingress gateway's). */
  readonly pod: Workload;
  /** The proxy's SPIFFE identity (its certificate renews, the identity stays). */
  readonly identity: () => string;
  readonly pathNormalization: PathNormalizationType;
  readonly upstreams: UpstreamPool;
  readonly reporter: RequestReporter;
  readonly traces: TraceLog;
  readonly log: Logger;
}

/** One request on its way through the stages. */
interface InFlight {
  readonly req: http.IncomingMessage;
  readonly res: http.ServerResponse;
  readonly downstream: DownstreamContext;
  readonly clock: StageClock;
  /** Someone reads trace records now: its stages are recorded (and their details made) only then. */
  readonly traced: boolean;
  /** The traceparent the waypoint sends on, and its trace id. */
  readonly traceparent: string;
  readonly traceId: string;
  /** Log fields every line about this request carries (made when a line is written). */
  readonly fields: Readonly<Record<string, string | undefined>>;
  /** Its end-to-end headers: what routes and RBAC decide on, and the pod receives. */
  readonly headers: Record<string, string>;
  /** What the access log and istio_requests_* report once the response is done. */
  readonly outcome: Outcome;
  readonly bytes: { request: number; response: number };
  readonly upstream: UpstreamCall;
}

/** Stage 2's result: where the request goes, and how. */
interface Routed {
  readonly decision: ForwardDecision | undefined;
  /** The backend Service; none for a request addressed to a pod (it goes to that pod). */
  readonly backend: Service | undefined;
  readonly servicePort: ServicePort;
  /** The next endpoint to try. */
  readonly endpoint: () => Workload | undefined;
  readonly framing: BodyFraming;
  /** The upstream request's headers: end-to-end, route filters applied, framing set. */
  readonly headers: Record<string, string>;
}

/** One try of stages 3 and 4. */
interface Try {
  readonly attempt: number;
  readonly last: boolean;
  /** The route allows more than one try (a retry policy is in force). */
  readonly retriedBefore: boolean;
  readonly deadline?: number;
}

/** Compiled RBAC filters kept at most (one per listener, backend and pod of the configuration in force). */
const MAX_AUTHORIZERS = 4096;

/** llhttp's code for a peer's FIN inside a request (its head or its body). */
const CODEC_EOF_MID_MESSAGE = 'HPE_INVALID_EOF_STATE';

export class ConnectionManager {
  readonly server: http.Server;
  private readonly log: Logger;
  private readonly downstreams = new WeakMap<object, DownstreamContext>();
  /** Requests of one connection run in turn (downstream.ts). */
  private readonly inTurn = new RequestsInTurn();
  /** Per request in flight: cuts its upstream request when its own body turns out malformed. */
  private readonly cutters = new WeakMap<http.IncomingMessage, (err: DownstreamProtocolError) => void>();
  /** Connections whose bytes the parser failed on: answered once, then read no more. */
  private readonly failedConnections = new WeakSet<Duplex>();
  /** Requests whose body the parser failed on, before their turn came. */
  private readonly broken = new WeakMap<http.IncomingMessage, DownstreamProtocolError>();
  /** Each RBAC filter compiled once: by the policies, the listener, the backend and the pod (a push replaces all four). */
  private readonly authorizers = new Map<string, L7Authorizer>();
  private readonly ids = new ObjectIds();

  constructor(private readonly options: ConnectionManagerOptions) {
    this.log = options.log;
    // node:http's default, not createHttpServer's half-open one: Envoy's connection manager
    // takes a client's FIN as the end of the connection, so a client that half-closes after its
    // request gets no answer and the request is logged DC (envoyproxy/envoy#2066, #17160).
    this.server = http.createServer({ keepAliveTimeout: DOWNSTREAM_KEEPALIVE_MS }, (req, res) =>
      this.inTurn.run(req, res, () =>
        this.onRequest(req, res).catch((err: Error) => {
          this.log.error('request failed', { error: err.stack ?? err.message });
          if (!res.headersSent) res.writeHead(500).end();
          else res.destroy(err);
        }),
      ),
    );
    // A malformed request inside one tunnel gets its answer there; other tunnels never notice.
    this.server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => this.onCodecError(err, socket));
    // CONNECT inside a tunnel: no route of a waypoint matches it (Envoy matches CONNECT only
    // with a connect_matcher). node:http would drop the connection without a word.
    this.server.on('connect', (req: http.IncomingMessage, socket: Duplex) => this.onInnerConnect(req, socket));
  }

  /** HTTP/1.1 inside an accepted tunnel: node:http parses it request by request (stages 2 to 4). */
  accept(conn: InboundConnect, stream: ServerHttp2Stream, listener: HttpListener): void {
    const socket = new TunnelSocket(stream, {
      remoteAddress: clusterAddress(conn.remote.address),
      remotePort: conn.remote.port,
      localAddress: listener.local.address,
      localPort: listener.local.port,
    });
    this.acceptConnection(socket, {
      listener,
      remote: { address: clusterAddress(conn.remote.address), port: conn.remote.port },
      peerSpiffeId: conn.peerSpiffeId,
      peerPrincipal: principalOf(conn.peer),
      traceparent: headerValue(conn.headers[HEADER_TRACEPARENT]),
      acceptDetail: {
        listener: `${this.options.pod.ip}:${PORT_HBONE}`,
        authority: formatAuthority(listener.local.address, listener.local.port),
        ...listener.describe,
        peer: conn.peerSpiffeId,
        // The source pod's address (ztunnel keeps it, and the CONNECT's forwarded header says it).
        client: formatAuthority(clusterAddress(conn.remote.address), conn.remote.port),
      },
    });
  }

  /** HTTP/1.1 on a connection a listener accepted (a tunnel's stream, or an ingress gateway's plain socket). */
  acceptConnection(socket: Duplex, downstream: DownstreamContext): void {
    this.downstreams.set(socket, downstream);
    this.server.emit('connection', socket);
  }

  close(): void {
    this.server.close();
  }

  /** One request on the HTTP connection manager: stages 2 to 4 (stage 1 accepted its connection). */
  private async onRequest(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    // The connection manager's path normalization (meshConfig.pathNormalization) before anything
    // else, as in Envoy: routes, RBAC, the access log and the pod all see the normalized path.
    const refused = normalizeTarget(req, this.options.pathNormalization);
    const f = this.inFlight(req, res);
    const broken = this.broken.get(req);
    // Its body broke while it waited for its turn: answered as the codec answers, connection closed.
    if (broken)
      return this.answer(
        f,
        { status: broken.answer.status, flags: HTTP_RESPONSE_FLAGS.downstreamProtocolError, details: broken.answer.details, body: broken.answer.body },
        true,
      );
    if (refused) {
      if (f.traced)
        f.clock.mark(f.downstream.listener.routeStage, {
          request: `${req.method} ${req.url}`,
          route: 'none',
          status: refused.status,
          reason: refused.details,
        });
      this.log.info('request target refused', { ...f.fields, status: refused.status, details: refused.details });
      f.outcome.details = refused.details;
      f.bytes.response += Buffer.byteLength(refused.body);
      this.finish(f, refused.status);
      return answerRefused(req, res, refused);
    }
    const routed = this.routeStage(f);
    if (routed) await this.forwardStages(f, routed);
  }

  /** A request's state through the stages, and its report once the response is done. */
  private inFlight(req: http.IncomingMessage, res: http.ServerResponse): InFlight {
    const downstream = this.downstreams.get(req.socket);
    if (!downstream) throw new Error('request on an unknown connection');
    const { listener } = downstream;
    // Continue the client's trace, or the one its ztunnel started on the CONNECT.
    const traceparent = childTraceparent(header(req, HEADER_TRACEPARENT) ?? downstream.traceparent);
    const traceId = traceIdOf(traceparent)!;
    const f: InFlight = {
      req,
      res,
      downstream,
      clock: new StageClock(),
      traced: this.options.traces.enabled(),
      traceparent,
      traceId,
      get fields() {
        return { trace: traceId, method: req.method, path: req.url, peer: downstream.peerSpiffeId };
      },
      // What routes and RBAC decide on is what the pod receives: hop-by-hop headers are gone first.
      headers: endToEndRequest(req.headers),
      outcome: { status: 0, flags: HTTP_RESPONSE_FLAGS.none, details: 'via_upstream' },
      bytes: { request: 0, response: 0 },
      upstream: {},
    };
    // A codec error in this request's body cuts its upstream request (downstream.ts).
    this.cutters.set(req, (err) => {
      if (f.outcome.flags === HTTP_RESPONSE_FLAGS.none)
        Object.assign(f.outcome, { flags: HTTP_RESPONSE_FLAGS.downstreamProtocolError, details: err.answer.details });
      f.upstream.request?.destroy(err);
    });
    res.once('close', () => {
      this.cutters.delete(req);
      if (!res.writableFinished) {
        // The client went away before the whole response was sent: Envoy's DC. The upstream
        // request goes too, so the pod's connection is not left half-read in the pool.
        if (f.outcome.flags === HTTP_RESPONSE_FLAGS.none) {
          Object.assign(f.outcome, { flags: HTTP_RESPONSE_FLAGS.downstreamConnectionTermination, details: 'downstream_remote_disconnect' });
          if (!res.headersSent) f.outcome.status = 0;
        }
        f.upstream.request?.destroy(new DownstreamDisconnectError());
      }
      this.options.reporter.report({
        req: () => requestFacts(req, listener),
        downstream,
        outcome: f.outcome,
        traceId,
        durationMs: f.clock.elapsedMs,
        requestBytes: f.bytes.request,
        responseBytes: f.bytes.response,
      });
    });
    if (f.traced) f.clock.mark(listener.acceptStage, { ...downstream.acceptDetail, identity: this.options.identity() });
    return f;
  }

  /** Stage 2 (inbound-vip|<port>|http|<host>, a gateway's http.<port>): the HTTPRoutes pick a backend. */
  private routeStage(f: InFlight): Routed | undefined {
    const { listener } = f.downstream;
    const vip = listener.routeStage;
    const request = f.traced ? `${f.req.method} ${f.req.url}` : '';
    const destination = listener.originalDestination;
    if (destination) {
      // Addressed to a pod, not a Service: no HTTPRoute applies; it goes where it was sent.
      const target = formatAuthority(destination.pod.ip, destination.port);
      if (f.traced)
        f.clock.mark(vip, { request, route: 'none', backend: `${destination.pod.name} ${target} (addressed to the pod: its original destination)` });
      const framing = framingOf(f.req);
      const servicePort: ServicePort = { name: '', port: destination.port, targetPort: destination.port };
      return { decision: undefined, backend: undefined, servicePort, framing, headers: withFraming(f.headers, framing), endpoint: () => destination.pod };
    }
    const table = listener.routeTable(header(f.req, 'host'));
    const decision = route(table, { method: f.req.method ?? 'GET', path: f.req.url ?? '/', headers: f.headers });
    // No HTTPRoute: a waypoint sends the request to its own service; a gateway has nowhere to send it.
    if (!decision && !listener.defaultBackend) {
      if (f.traced) f.clock.mark(vip, { request, route: 'none', status: LOCAL_REPLIES.noRoute.status, reason: 'no HTTPRoute is attached to this listener' });
      this.log.info('no route', { ...f.fields, stage: vip, status: LOCAL_REPLIES.noRoute.status });
      return void this.answer(f, LOCAL_REPLIES.noRoute);
    }
    if (decision && decision.kind !== 'forward') {
      if (f.traced) f.clock.mark(vip, { request, route: 'none', status: decision.status, reason: decision.reason });
      this.log.info('no route', { ...f.fields, stage: vip, status: decision.status, reason: decision.reason });
      return void this.answer(f, decision.kind === 'no-route' ? LOCAL_REPLIES.noRoute : noBackend(decision.status, decision.reason));
    }
    const backend = decision
      ? this.options.state.scenario.services.find((s) => s.name === decision.backend.name && s.namespace === decision.backend.namespace)
      : listener.defaultBackend;
    const backendPort = decision ? decision.backend.port : listener.local.port;
    const servicePort = backend?.ports.find((p) => p.port === backendPort);
    if (f.traced)
      f.clock.mark(vip, {
        request,
        route: decision ? decision.envoyRouteName : 'default',
        backend: backend ? `${serviceHost(backend)}:${backendPort}` : 'none',
      });
    f.outcome.route = decision ? decision.envoyRouteName : 'default';
    if (backend) Object.assign(f.outcome, { backend, backendPort });
    if (!backend || !servicePort || this.options.state.endpointsOf(backend).length === 0) return void this.answer(f, LOCAL_REPLIES.noHealthyUpstream);
    const framing = framingOf(f.req);
    const headers = withFraming(decision ? applyHeaderModifiers(f.headers, decision.headerModifiers) : f.headers, framing);
    return { decision, backend, servicePort, framing, headers, endpoint: () => this.options.state.nextEndpointOf(backend) };
  }

  /** Stages 3 and 4 for each try: an endpoint and its RBAC filter, then the CONNECT to it. */
  private async forwardStages(f: InFlight, r: Routed): Promise<void> {
    const retry = r.decision?.retry;
    // A streamed body cannot be replayed: only a request without one is tried again.
    const attempts = isReplayable(r.framing) ? 1 + (retry?.attempts ?? 0) : 1;
    // The route timeout covers every try; a per-try timeout (backendRequest) each one.
    const deadline = r.decision?.timeoutMs ? performance.now() + r.decision.timeoutMs : undefined;
    for (let attempt = 0; attempt < attempts; attempt++) {
      const pod = r.endpoint()!;
      if (!this.rbacStage(f, r.backend, pod, r.servicePort)) return;
      if (deadline !== undefined && performance.now() >= deadline) return this.answer(f, LOCAL_REPLIES.upstreamTimeout);
      const perTry = retry?.perTryTimeoutMs !== undefined ? performance.now() + retry.perTryTimeoutMs : undefined;
      const tryDeadline = deadline === undefined ? perTry : perTry === undefined ? deadline : Math.min(deadline, perTry);
      const last = attempt + 1 === attempts;
      const next = await this.originateStage(f, r, pod, { attempt, last, retriedBefore: attempts > 1, deadline: tryDeadline });
      if (next === 'done') return;
    }
  }

  /** Stage 3 (inbound-pod|<port>||<pod ip>): the RBAC filter, as AuthorizationPolicy says. False when denied (answered). */
  private rbacStage(f: InFlight, backend: Service | undefined, pod: Workload, servicePort: ServicePort): boolean {
    const { listener, remote } = f.downstream;
    f.outcome.pod = pod;
    f.outcome.upstreamHost = formatAuthority(pod.ip, servicePort.targetPort);
    const authz = this.authorizer(
      listener,
      backend,
      pod,
    )({
      sourcePrincipal: f.downstream.peerPrincipal,
      sourceIp: remote.address,
      destinationIp: listener.local.address,
      destinationPort: listener.local.port,
      method: f.req.method ?? 'GET',
      path: f.req.url ?? '/',
      host: header(f.req, 'host') ?? formatAuthority(listener.local.address, listener.local.port),
      headers: f.headers,
    });
    const stage = (): string => listener.endpointStage(backend, servicePort, pod);
    if (f.traced)
      f.clock.mark(stage(), {
        rbac: authz.allowed ? 'allowed' : 'denied',
        policy: authz.policy ?? 'none',
        reason: authz.reason,
        endpoint: `${pod.name} ${pod.ip}`,
      });
    f.outcome.policy = authz.policy;
    // AUDIT policies never change the decision: they are logged, as Envoy's audit logging does.
    for (const rule of authz.audited ?? [])
      this.log.info('rbac audit', { ...f.fields, stage: stage(), policy: rule, decision: authz.allowed ? 'allowed' : 'denied' });
    if (authz.allowed) return true;
    this.log.info('rbac denied', { ...f.fields, stage: stage(), policy: authz.policy ?? 'none', reason: authz.reason });
    this.answer(f, rbacDenied(authz.responseCodeDetails));
    return false;
  }

  /** The RBAC filter in front of `pod` for requests to `backend` on this listener, as the policies are now. */
  private authorizer(listener: HttpListener, backend: Service | undefined, pod: Workload): L7Authorizer {
    const policies = this.options.state.scenario.policies;
    const key = `${this.ids.of(policies)}|${this.ids.of(listener)}|${this.ids.of(backend)}|${this.ids.of(pod)}`;
    let authorizer = this.authorizers.get(key);
    if (!authorizer) {
      // Keys of earlier configurations are never asked for again: start afresh rather than grow.
      if (this.authorizers.size >= MAX_AUTHORIZERS) this.authorizers.clear();
      authorizer = compileAuthorizerL7(policies, listener.rbacTarget(backend, pod));
      this.authorizers.set(key, authorizer);
    }
    return authorizer;
  }

  /** Stage 4 (inbound_CONNECT_originate): the request on a CONNECT to the pod, as the waypoint; 'retry' to try again. */
  private async originateStage(f: InFlight, r: Routed, pod: Workload, t: Try): Promise<'retry' | 'done'> {
    const retry = r.decision?.retry;
    const target = formatAuthority(pod.ip, r.servicePort.targetPort);
    // A pod outside the mesh is sent plain HTTP on its own port: no CONNECT, no mTLS.
    const detail = (): TraceStage['detail'] =>
      this.options.state.speaksHbone(pod)
        ? {
            authority: target,
            hbone: formatAuthority(pod.ip, PORT_HBONE),
            [HEADER_ORIGINAL_DST]: target,
            identity: this.options.identity(),
            expect: `spiffe://${this.options.state.trustDomain}/*`,
            attempt: t.attempt,
          }
        : { authority: target, plaintext: 'the pod is not in the mesh', attempt: t.attempt };
    const originate = f.downstream.listener.originateStage;
    const fields = () => ({ ...f.fields, stage: originate, target, attempt: t.attempt });
    let forwarded: Forwarded;
    try {
      const headers = { ...r.headers, traceparent: f.traceparent };
      forwarded = await forwardRequest(
        this.options.upstreams,
        {
          req: f.req,
          framing: r.framing,
          target,
          headers,
          traceparent: f.traceparent,
          countBody: (n) => (f.bytes.request += n),
          upstream: f.upstream,
          deadline: t.deadline,
        },
        this.log,
      );
    } catch (err) {
      if (f.traced) f.clock.mark(originate, { ...detail(), error: errorMessage(err) });
      if (err instanceof DownstreamProtocolError) {
        // The body turned out malformed on its way: the pod's request was reset; the client gets the codec's answer.
        this.log.info('malformed request body', { ...fields(), error: err.code ?? err.message });
        this.finish(f, err.answer.status, err.answer.body, true);
        return 'done';
      }
      // The client left: nobody to answer (res 'close' recorded DC).
      if (err instanceof DownstreamDisconnectError) {
        this.finish(f, f.outcome.status);
        return 'done';
      }
      if (err instanceof HboneConnectError) {
        // Only a failed connect is a connect failure: the request never reached the pod.
        this.log.info('upstream connect failed', { ...fields(), status: err.status, error: err.message });
        const retriable = retry?.onConnectFailure ?? false;
        if (retriable && !t.last) return 'retry';
        this.answer(f, retriable && t.retriedBefore ? LOCAL_REPLIES.connectFailureRetriesExhausted : LOCAL_REPLIES.connectFailure);
        return 'done';
      }
      // The request reached the pod: a timeout or a reset is the answer, not something to retry.
      this.log.info('upstream failed', { ...fields(), error: errorMessage(err) });
      this.answer(f, err instanceof UpstreamTimeoutError ? LOCAL_REPLIES.upstreamTimeout : LOCAL_REPLIES.upstreamReset);
      return 'done';
    }
    const { res: response, tunnel } = forwarded;
    const status = response.statusCode ?? 502;
    if (f.traced) f.clock.mark(originate, { ...detail(), ...tunnel, status });
    if (retry?.codes.includes(status)) {
      if (!t.last) {
        response.resume();
        this.log.info('retrying', { ...fields(), status });
        return 'retry';
      }
      // The last try's answer is passed on; Envoy flags that the retries ran out.
      if (t.retriedBefore) f.outcome.flags = HTTP_RESPONSE_FLAGS.upstreamRetryLimitExceeded;
    }
    if (this.log.enabled('debug'))
      this.log.debug('request complete', {
        ...f.fields,
        route: f.outcome.route,
        rbac: f.outcome.policy ?? 'none',
        upstream: target,
        status,
        duration_ms: f.clock.elapsedMs,
      });
    this.relayResponse(f, response, target);
    return 'done';
  }

  /** The pod's answer, streamed to the client; a response cut short resets the client. */
  private relayResponse(f: InFlight, response: http.IncomingMessage, target: string): void {
    const status = response.statusCode ?? 502;
    this.finish(f, status);
    const res = f.res;
    if (res.destroyed) return void response.destroy();
    res.writeHead(status, endToEndResponse(response.headers));
    response.on('data', (c: Buffer) => (f.bytes.response += c.length));
    response.on('error', () => undefined); // seen through 'close' and `complete`
    response.once('close', () => {
      // The pod's response was cut short (its connection reset or closed mid-body). Envoy
      // resets the downstream stream then (UC): the client must see a reset, never a short
      // response that ends cleanly.
      if (response.complete || res.writableFinished) return;
      if (f.outcome.flags === HTTP_RESPONSE_FLAGS.none)
        Object.assign(f.outcome, {
          flags: HTTP_RESPONSE_FLAGS.upstreamConnectionTermination,
          details: 'upstream_reset_after_response_started{connection_termination}',
        });
      res.destroy(new UpstreamResetError(`upstream response from ${target} cut short`));
    });
    response.pipe(res);
  }

  /** The waypoint's own answer to a request (local-replies.ts). */
  private answer(f: InFlight, reply: LocalReply, closeConnection = false): void {
    Object.assign(f.outcome, { flags: reply.flags, details: reply.details });
    this.finish(f, reply.status, reply.body, closeConnection);
  }

  /** Records the status and the request's trace; with a body, writes the waypoint's own answer. */
  private finish(f: InFlight, status: number, body?: string, closeConnection = false): void {
    f.outcome.status = status;
    if (f.traced)
      this.options.traces.write({ traceId: f.traceId, process: this.options.pod.name, stages: f.clock.stages, status, durationMs: f.clock.elapsedMs });
    if (body === undefined || f.res.destroyed) return;
    f.bytes.response += Buffer.byteLength(body);
    f.res.writeHead(status, closeConnection ? { 'content-type': 'text/plain', connection: 'close' } : { 'content-type': 'text/plain' }).end(body);
  }

  /** A codec error: the request it broke is cut and answered, or a new request's head is answered. */
  private onCodecError(err: NodeJS.ErrnoException, socket: Duplex): void {
    // Once: the parser stays failed and node:http reports every later chunk again, so a peer
    // that keeps sending garbage would otherwise queue an answer per chunk. Nothing more is read.
    if (this.failedConnections.has(socket)) return;
    this.failedConnections.add(socket);
    socket.pause();
    if (err.code === CODEC_EOF_MID_MESSAGE) {
      // The client closed its side mid-request: no protocol error, a downstream going away.
      // Envoy resets the stream of a request under way (DC, reported by the response's close)
      // and, for a head never completed, has no stream to report at all.
      this.log.info('downstream closed mid-request', { peer: this.downstreams.get(socket)?.peerSpiffeId });
      socket.destroy();
      return;
    }
    const answer = codecErrorAnswer(err.code);
    const downstream = this.downstreams.get(socket);
    this.log.info('malformed HTTP request', {
      error: err.code ?? err.message,
      status: answer.status,
      details: answer.details,
      peer: downstream?.peerSpiffeId,
    });
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
      if (socket.writable)
        socket.end(`HTTP/1.1 ${answer.status} ${answer.body}\r\ncontent-length: ${answer.body.length}\r\nconnection: close\r\n\r\n${answer.body}`);
      else socket.destroy();
      if (!downstream) return;
      const outcome: Outcome = { status: answer.status, flags: HTTP_RESPONSE_FLAGS.downstreamProtocolError, details: answer.details };
      this.options.reporter.report({
        req: { method: '-', path: '-', protocol: 'HTTP/1.1' },
        downstream,
        outcome,
        traceId: undefined,
        durationMs: 0,
        requestBytes: 0,
        responseBytes: answer.body.length,
      });
    });
  }

  /** CONNECT inside a tunnel matches no route: 404, and the connection closes. */
  private onInnerConnect(req: http.IncomingMessage, socket: Duplex): void {
    const downstream = this.downstreams.get(socket);
    this.log.info('no route', { method: 'CONNECT', authority: req.url, status: 404, peer: downstream?.peerSpiffeId });
    const body = 'route not found';
    socket.end(`HTTP/1.1 404 Not Found\r\ncontent-type: text/plain\r\ncontent-length: ${body.length}\r\nconnection: close\r\n\r\n${body}`);
    if (downstream) {
      const facts = { method: 'CONNECT', path: req.url ?? '-', protocol: `HTTP/${req.httpVersion}`, authority: req.url, userAgent: req.headers['user-agent'] };
      this.options.reporter.report({
        req: facts,
        downstream,
        outcome: { status: 404, flags: HTTP_RESPONSE_FLAGS.noRoute, details: 'route_not_found' },
        traceId: undefined,
        durationMs: 0,
        requestBytes: 0,
        responseBytes: body.length,
      });
    }
  }
}
