// The HBONE server: mutual-TLS HTTP/2 on <address>:15008 that accepts CONNECT streams and hands
// each one, with the peer's SPIFFE identity, to a handler (ztunnel inbound, the waypoint).
// Just over 400 lines: the server's life cycle and its stream admission are one piece; the
// defences it wires together each live in a file of their own (listed below).
//
// Defences against a peer that holds a mesh certificate but means harm:
//  - its certificate is judged when the handshake completes; a refused one gets the TLS alert
//    rustls would send, naming why (peer-admission.ts);
//  - a connection whose streams are reset as fast as they open (rapid reset, CVE-2023-44487)
//    is closed with GOAWAY ENHANCE_YOUR_CALM by Envoy's and h2's rules (reset-guard.ts,
//    session-cutoff.ts), and its source is refused at accept for a while (abuse-penalty.ts);
//  - one identity's open and pending streams are capped across its connections
//    (peer-limits.ts), and a header list over 64 KB is refused, as ztunnel refuses it;
//  - a stream is handed to the handler on the next turn of the event loop, not from inside
//    nghttp2's frame processing: a stream reset in the same read as its HEADERS leaves the
//    queue before any handler work (no app dial, no tunnel), which is most of what a rapid
//    reset attacker sends.
import * as http2 from 'node:http2';
import type { TLSSocket } from 'node:tls';
import type { IncomingHttpHeaders, ServerHttp2Session, ServerHttp2Stream } from 'node:http2';
import { WorkloadCertificate } from '../identity/workload-cert';
import { SpiffeId, formatSpiffeId } from '../identity/spiffe';
import { logger, Logger } from '../telemetry/log';
import { Authority, parseAuthority } from './authority';
import {
  PORT_HBONE,
  HTTP2_SETTINGS,
  CONNECTION_WINDOW_BYTES,
  SERVER_MAX_CONCURRENT_STREAMS,
  SERVER_MAX_HEADER_LIST_BYTES,
  MAX_SESSION_MEMORY_MB,
  MAX_SESSION_INVALID_FRAMES,
  MAX_SESSION_REJECTED_STREAMS,
  TLS_HANDSHAKE_TIMEOUT_MS,
  STATUS_OK,
  STATUS_BAD_REQUEST,
  GOAWAY_ENHANCE_YOUR_CALM,
  RST_REFUSED_STREAM,
} from './constants';
import { ALPN_H2 } from './constants';
import { keepAlive, KeepaliveOptions } from './keepalive';
import { logKeysOfServer } from './keylog';
import { serverSecureContextOptions } from './tls';
import { PeerAdmission, RefusalCounts } from './peer-admission';
import { AbuseReason, DEFAULT_RESET_LIMITS, ResetGuard, ResetLimits } from './reset-guard';
import { DEFAULT_PEER_LIMITS, PeerStreamLimits, PeerStreams } from './peer-limits';
import { AbusePenalty } from './abuse-penalty';
import { cutOffSession } from './session-cutoff';
import { listen } from '../net/listen';
import { errorMessage } from '../error-message';

export interface Endpoint {
  readonly address: string;
  readonly port: number;
}

/** One CONNECT stream, as the handler sees it. */
export interface InboundConnect {
  readonly peer: SpiffeId;
  readonly peerSpiffeId: string;
  readonly authority: Authority;
  readonly headers: IncomingHttpHeaders;
  /** The address the peer dialled (ours) and the peer's address. */
  readonly local: Endpoint;
  readonly remote: Endpoint;
  readonly stream: ServerHttp2Stream;
  /** Answers 200; from then on the handler owns the byte stream. */
  accept(headers?: http2.OutgoingHttpHeaders): ServerHttp2Stream;
  /** Answers 400, 401 or 503 and ends the stream. */
  reject(status: number, reason: string): void;
}

export type ConnectHandler = (conn: InboundConnect) => void;

export interface HboneServerOptions {
  readonly address: string;
  readonly port?: number;
  readonly certificate: WorkloadCertificate;
  readonly handler: ConnectHandler;
  readonly keepalive?: KeepaliveOptions;
  readonly log?: Logger;
  /** Rapid reset rules; Envoy's and h2's defaults unless a test narrows them. */
  readonly resetLimits?: ResetLimits;
  readonly peerLimits?: PeerStreamLimits;
}

/** What the server counts, in Envoy's stat names where Envoy has one. */
export interface HboneServerStats {
  /** Connections closed by Envoy's premature-reset rule. */
  downstream_rq_too_many_premature_resets: number;
  /** Connections closed by h2's bound on streams reset before they were accepted. */
  downstream_cx_too_many_pending_resets: number;
  /** Streams refused because their peer was at its open or pending streams limit. */
  downstream_rq_peer_open_limit: number;
  downstream_rq_peer_pending_limit: number;
  /** TCP connections closed at accept: their source is serving a penalty for rapid reset. */
  downstream_cx_penalized: number;
}

/** One admitted connection. */
interface SessionState {
  readonly session: ServerHttp2Session;
  /** The TLS socket under the session (session.socket is a Proxy that refuses writes). */
  readonly socket: TLSSocket;
  readonly peer: SpiffeId;
  readonly peerId: string;
  readonly src: string;
  readonly dst: string;
  readonly guard: ResetGuard;
  /** Streams waiting for the next turn of the event loop (h2's accept queue). */
  queue: StreamEntry[];
  scheduled: boolean;
  cutOff: boolean;
}

/** One stream, from its HEADERS to its close. */
interface StreamEntry {
  readonly state: SessionState;
  readonly stream: ServerHttp2Stream;
  readonly headers: IncomingHttpHeaders;
  readonly openedAt: number;
  dispatched: boolean;
  /** Counted against the peer's pending limit: handed to the handler, not yet answered. */
  pending: boolean;
  answered: boolean;
  /** We reset it ourselves (a limit): not the peer's reset. */
  refused: boolean;
}

export class HboneServer {
  private readonly server: http2.Http2SecureServer;
  private readonly sessions = new Set<ServerHttp2Session>();
  /** Every accepted TCP socket, handshaking or not, so close() can end them all. */
  private readonly sockets = new Set<import('node:net').Socket>();
  private closing = false;
  private readonly states = new WeakMap<ServerHttp2Session, SessionState>();
  private readonly admission: PeerAdmission;
  private readonly peerStreams: PeerStreams;
  private readonly resetLimits: ResetLimits;
  private readonly penalty = new AbusePenalty();
  private readonly log: Logger;
  private readonly onRenewed = (): void => this.server.setSecureContext(serverSecureContextOptions(this.options.certificate.tls));
  private readonly onStreamError = (err: Error): void => this.log.debug('stream error', { error: err.message });
  private readonly drain = (state: SessionState): void => this.drainQueue(state);
  /** TLS sessions admitted since start: tests read it to prove pooling. */
  connectionsAccepted = 0;
  readonly stats: HboneServerStats = {
    downstream_rq_too_many_premature_resets: 0,
    downstream_cx_too_many_pending_resets: 0,
    downstream_rq_peer_open_limit: 0,
    downstream_rq_peer_pending_limit: 0,
    downstream_cx_penalized: 0,
  };

  constructor(private readonly options: HboneServerOptions) {
    this.log = options.log ?? logger('hbone::server');
    this.resetLimits = options.resetLimits ?? DEFAULT_RESET_LIMITS;
    this.peerStreams = new PeerStreams(options.peerLimits ?? DEFAULT_PEER_LIMITS);
    this.server = http2.createSecureServer({
      ...serverSecureContextOptions(options.certificate.tls),
      ALPNProtocols: [ALPN_H2],
      allowHTTP1: false,
      requestCert: true,
      // The certificate is judged by PeerAdmission once the handshake is done, so that a refusal
      // carries the TLS alert naming why (Node's own rejection is a bare TCP close).
      rejectUnauthorized: false,
      settings: { ...HTTP2_SETTINGS, maxConcurrentStreams: SERVER_MAX_CONCURRENT_STREAMS, maxHeaderListSize: SERVER_MAX_HEADER_LIST_BYTES },
      maxSessionMemory: MAX_SESSION_MEMORY_MB,
      maxSessionInvalidFrames: MAX_SESSION_INVALID_FRAMES,
      maxSessionRejectedStreams: MAX_SESSION_REJECTED_STREAMS,
      handshakeTimeout: TLS_HANDSHAKE_TIMEOUT_MS,
    });
    this.server.on('connection', (socket: import('node:net').Socket) => {
      // tls.Server's own listener has wrapped the socket already, but nothing was read yet.
      if (this.penalty.refuses(socket.remoteAddress)) {
        this.stats.downstream_cx_penalized++;
        socket.destroy();
        return;
      }
      this.sockets.add(socket);
      socket.once('close', () => this.sockets.delete(socket));
    });
    logKeysOfServer(this.server);
    this.admission = new PeerAdmission(this.server, { trustDomain: () => options.certificate.id.trustDomain, log: this.log });
    // New certificates apply to new connections; open sessions keep the one they shook hands with.
    options.certificate.on('renewed', this.onRenewed);
    this.server.on('tlsClientError', (err, socket) =>
      this.log.warn('TLS handshake failed', { src: `${socket.remoteAddress}:${socket.remotePort}`, error: err.message }),
    );
    this.server.on('session', (session) => this.onSession(session));
    this.server.on('stream', (stream, headers) => this.onStream(stream, headers));
  }

  get endpoint(): Endpoint {
    return { address: this.options.address, port: this.options.port ?? PORT_HBONE };
  }

  get identity(): string {
    return this.options.certificate.spiffeId;
  }

  /** Handshakes refused with a TLS alert, by alert name. */
  get refusedHandshakes(): RefusalCounts {
    return this.admission.refused;
  }

  /** Streams a peer identity holds here now. */
  peerStreamsOf(spiffeId: string): { open: number; pending: number } {
    return this.peerStreams.of(spiffeId);
  }

  listen(): Promise<void> {
    this.closing = false;
    return listen(this.server, this.endpoint.address, this.endpoint.port).then(() => undefined);
  }

  /** Stops accepting, sends GOAWAY on every session, and waits for open streams up to graceMs. */
  close(graceMs = 0): Promise<void> {
    this.options.certificate.off('renewed', this.onRenewed);
    this.closing = true;
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const s of this.sessions) s.close();
    // After the grace period, end what is left: sessions and sockets still in their handshake.
    const timer = setTimeout(() => {
      for (const s of this.sessions) s.destroy();
      for (const s of this.sockets) s.destroy();
    }, graceMs);
    return closed.finally(() => clearTimeout(timer));
  }

  get openSessions(): number {
    return this.sessions.size;
  }

  private onSession(session: ServerHttp2Session): void {
    const socket = session.socket as TLSSocket;
    const src = `${socket.remoteAddress}:${socket.remotePort}`;
    const admitted = this.admission.admitted(socket);
    if (!admitted || this.closing) {
      session.close();
      session.destroy();
      return;
    }
    this.connectionsAccepted++;
    const state: SessionState = {
      session,
      socket: admitted.socket,
      peer: admitted.peer,
      peerId: formatSpiffeId(admitted.peer),
      src,
      dst: `${socket.localAddress}:${socket.localPort}`,
      guard: new ResetGuard(this.resetLimits),
      queue: [],
      scheduled: false,
      cutOff: false,
    };
    this.states.set(session, state);
    this.sessions.add(session);
    session.on('connect', () => session.setLocalWindowSize(CONNECTION_WINDOW_BYTES));
    if (!socket.connecting) session.setLocalWindowSize(CONNECTION_WINDOW_BYTES);
    session.on('error', (err) => this.log.debug('session error', { src, error: err.message }));
    session.once('close', () => this.sessions.delete(session));
    keepAlive(session, {
      ...this.options.keepalive,
      onTimeout: (ms) => {
        this.log.warn('dropping HBONE session: keepalive timeout', { src, silent_ms: ms });
        // A session stuck in a write does not close its socket on destroy(): close it here.
        for (const s of this.sockets) if (`${s.remoteAddress}:${s.remotePort}` === src) s.destroy();
      },
    });
  }

  /** Inside nghttp2's frame processing: the least work possible, then queue the stream. */
  private onStream(stream: ServerHttp2Stream, headers: IncomingHttpHeaders): void {
    stream.on('error', this.onStreamError);
    const state = this.states.get(stream.session as ServerHttp2Session);
    if (!state) {
      stream.close(RST_REFUSED_STREAM);
      return;
    }
    // Past a GOAWAY the session is about to go; its streams go with it, at no cost here.
    if (state.cutOff) return;
    if (!this.peerStreams.tryOpen(state.peerId)) {
      this.stats.downstream_rq_peer_open_limit++;
      this.log.debug('refusing HBONE stream: peer at its open streams limit', {
        src: state.src,
        'src.identity': state.peerId,
        limit: this.peerStreams.limits.maxOpen,
      });
      stream.close(RST_REFUSED_STREAM);
      return;
    }
    const entry: StreamEntry = { state, stream, headers, openedAt: performance.now(), dispatched: false, pending: false, answered: false, refused: false };
    stream.once('close', () => this.streamClosed(entry));
    state.queue.push(entry);
    if (!state.scheduled) {
      state.scheduled = true;
      setImmediate(this.drain, state);
    }
  }

  private streamClosed(entry: StreamEntry): void {
    const { state } = entry;
    this.settlePending(entry);
    this.peerStreams.closed(state.peerId);
    if (entry.refused || state.cutOff) return;
    const abuse =
      (entry.dispatched ? undefined : state.guard.resetWhilePending()) ?? state.guard.streamClosed(performance.now() - entry.openedAt, entry.answered);
    if (abuse) this.cutOff(state, abuse);
  }

  private settlePending(entry: StreamEntry): void {
    if (!entry.pending) return;
    entry.pending = false;
    this.peerStreams.answered(entry.state.peerId);
  }

  /** The next turn of the event loop: hand the streams still open to the handler. */
  private drainQueue(state: SessionState): void {
    const queue = state.queue;
    state.queue = [];
    state.scheduled = false;
    state.guard.acceptQueueDrained();
    for (const entry of queue) {
      if (entry.stream.closed || entry.stream.destroyed || state.cutOff) continue;
      entry.dispatched = true;
      if (!this.peerStreams.tryPend(state.peerId)) {
        this.stats.downstream_rq_peer_pending_limit++;
        this.log.debug('refusing HBONE stream: peer at its pending streams limit', {
          src: state.src,
          'src.identity': state.peerId,
          limit: this.peerStreams.limits.maxPending,
        });
        entry.refused = true;
        entry.stream.close(RST_REFUSED_STREAM);
        continue;
      }
      entry.pending = true;
      this.dispatch(entry);
    }
  }

  /** GOAWAY ENHANCE_YOUR_CALM and close: the connection is an attack, not traffic. */
  private cutOff(state: SessionState, reason: AbuseReason): void {
    state.cutOff = true;
    if (reason === 'too_many_premature_resets') this.stats.downstream_rq_too_many_premature_resets++;
    else this.stats.downstream_cx_too_many_pending_resets++;
    this.log.warn('closing HBONE connection: rapid reset', {
      'src.addr': state.src,
      'dst.addr': state.dst,
      'src.identity': state.peerId,
      direction: 'inbound',
      goaway: 'ENHANCE_YOUR_CALM',
      reason,
      closed_streams: state.guard.closed,
      premature_resets: state.guard.premature,
    });
    const source = state.socket.remoteAddress;
    if (source) {
      const ms = this.penalty.strike(source);
      this.log.warn('refusing new HBONE connections from a rapid reset source', { 'src.addr': source, 'src.identity': state.peerId, penalty_ms: ms });
    }
    // The GOAWAY's debug data names the rule, as h2's does ("too_many_resets").
    cutOffSession(state.session, state.socket, GOAWAY_ENHANCE_YOUR_CALM, reason, new Error(`HBONE peer ${state.peerId} at ${state.src}: ${reason}`));
  }

  private dispatch(entry: StreamEntry): void {
    const { state, stream, headers } = entry;
    const socket = state.session.socket;
    const local = { address: socket.localAddress ?? this.endpoint.address, port: socket.localPort ?? this.endpoint.port };
    const remote = { address: socket.remoteAddress ?? '', port: socket.remotePort ?? 0 };
    const method = headers[':method'];
    const rawAuthority = headers[':authority'];
    const fields = { src: `${remote.address}:${remote.port}`, peer: state.peerId, method, authority: rawAuthority };
    const refuse = (status: number, reason: string): void => {
      this.log.info('refused HBONE request', { ...fields, status, reason });
      entry.answered = true;
      this.settlePending(entry);
      if (!stream.closed && !stream.headersSent) stream.respond({ ':status': status }, { endStream: true });
    };
    if (method !== 'CONNECT') return refuse(STATUS_BAD_REQUEST, `method ${method} is not CONNECT`);
    let authority: Authority;
    try {
      authority = parseAuthority(rawAuthority);
    } catch (err) {
      return refuse(STATUS_BAD_REQUEST, errorMessage(err));
    }
    const conn: InboundConnect = {
      peer: state.peer,
      peerSpiffeId: state.peerId,
      authority,
      headers,
      local,
      remote,
      stream,
      accept: (extra) => {
        if (entry.answered) throw new Error('HBONE stream already answered');
        entry.answered = true;
        this.settlePending(entry);
        stream.respond({ ...extra, ':status': STATUS_OK });
        return stream;
      },
      reject: (status, reason) => {
        if (entry.answered) throw new Error('HBONE stream already answered');
        refuse(status, reason);
      },
    };
    try {
      this.options.handler(conn);
    } catch (err) {
      this.log.error('HBONE handler failed', { ...fields, error: errorMessage(err) });
      if (!entry.answered) refuse(503, 'handler failed');
      else stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR);
    }
  }
}
