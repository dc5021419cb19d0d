// The HBONE server: mutual-TLS HTTP/2 on <address>:15008 that accepts CONNECT streams and hands
// each one, with the peer's SPIFFE identity, to a handler (ztunnel inbound, the waypoint).
import * as http2 from 'node:http2';
import type { TLSSocket } from 'node:tls';
import type { IncomingHttpHeaders, ServerHttp2Session, ServerHttp2Stream } from 'node:http2';
import { WorkloadCertificate } from '../identity/workload-cert';
import { SpiffeId, formatSpiffeId } from '../identity/spiffe';
import { logger, Logger } from '../telemetry/log';
import { Authority, parseAuthority } from './authority';
import {
  HBONE_PORT,
  HTTP2_SETTINGS,
  CONNECTION_WINDOW_BYTES,
  SERVER_MAX_CONCURRENT_STREAMS,
  MAX_SESSION_MEMORY_MB,
  TLS_HANDSHAKE_TIMEOUT_MS,
  STATUS_OK,
  STATUS_BAD_REQUEST,
  GOAWAY_INADEQUATE_SECURITY,
} from './constants';
import { ALPN_H2 } from './constants';
import { keepAlive, KeepaliveOptions } from './keepalive';
import { logKeysOfServer } from './keylog';
import { peerIdentity, serverSecureContextOptions } from './tls';
import { listen } from '../net/listen';

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
}

export class HboneServer {
  private readonly server: http2.Http2SecureServer;
  private readonly sessions = new Set<ServerHttp2Session>();
  /** Every accepted TCP socket, handshaking or not, so close() can end them all. */
  private readonly sockets = new Set<import('node:net').Socket>();
  private closing = false;
  private readonly peers = new WeakMap<ServerHttp2Session, SpiffeId>();
  private readonly log: Logger;
  private readonly onRenewed = (): void => this.server.setSecureContext(serverSecureContextOptions(this.options.certificate.tls));
  /** TLS sessions accepted since start: tests read it to prove pooling. */
  connectionsAccepted = 0;

  constructor(private readonly options: HboneServerOptions) {
    this.log = options.log ?? logger('hbone::server');
    this.server = http2.createSecureServer({
      ...serverSecureContextOptions(options.certificate.tls),
      ALPNProtocols: [ALPN_H2],
      allowHTTP1: false,
      requestCert: true,
      rejectUnauthorized: true,
      settings: { ...HTTP2_SETTINGS, maxConcurrentStreams: SERVER_MAX_CONCURRENT_STREAMS },
      maxSessionMemory: MAX_SESSION_MEMORY_MB,
      handshakeTimeout: TLS_HANDSHAKE_TIMEOUT_MS,
    });
    this.server.on('connection', (socket: import('node:net').Socket) => {
      this.sockets.add(socket);
      socket.once('close', () => this.sockets.delete(socket));
    });
    logKeysOfServer(this.server);
    // New certificates apply to new connections; open sessions keep the one they shook hands with.
    options.certificate.on('renewed', this.onRenewed);
    this.server.on('secureConnection', () => this.connectionsAccepted++);
    this.server.on('tlsClientError', (err, socket) =>
      this.log.warn('TLS handshake failed', { src: `${socket.remoteAddress}:${socket.remotePort}`, error: err.message }),
    );
    this.server.on('session', (session) => this.onSession(session));
    this.server.on('stream', (stream, headers) => this.onStream(stream, headers));
  }

  get endpoint(): Endpoint {
    return { address: this.options.address, port: this.options.port ?? HBONE_PORT };
  }

  get identity(): string {
    return this.options.certificate.spiffeId;
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
    let peer: SpiffeId;
    try {
      peer = peerIdentity(socket);
      const ours = this.options.certificate.id.trustDomain;
      if (peer.trustDomain !== ours) throw new Error(`peer ${formatSpiffeId(peer)} is not in trust domain ${ours}`);
    } catch (err) {
      this.log.warn('rejecting HBONE peer', { src, error: (err as Error).message });
      // destroy(undefined, code) sends GOAWAY NO_ERROR on Node 20: the code only sticks with an Error.
      session.on('error', () => undefined);
      session.destroy(err as Error, GOAWAY_INADEQUATE_SECURITY);
      return;
    }
    if (this.closing) {
      session.close();
      session.destroy();
      return;
    }
    this.peers.set(session, peer);
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

  private onStream(stream: ServerHttp2Stream, headers: IncomingHttpHeaders): void {
    stream.on('error', (err) => this.log.debug('stream error', { error: err.message }));
    const session = stream.session as ServerHttp2Session;
    const peer = this.peers.get(session);
    if (!peer) {
      stream.close(http2.constants.NGHTTP2_REFUSED_STREAM);
      return;
    }
    const socket = session.socket;
    const local = { address: socket.localAddress ?? this.endpoint.address, port: socket.localPort ?? this.endpoint.port };
    const remote = { address: socket.remoteAddress ?? '', port: socket.remotePort ?? 0 };
    const method = headers[':method'];
    const rawAuthority = headers[':authority'];
    const fields = { src: `${remote.address}:${remote.port}`, peer: formatSpiffeId(peer), method, authority: rawAuthority };
    const refuse = (status: number, reason: string): void => {
      this.log.info('refused HBONE request', { ...fields, status, reason });
      if (!stream.closed && !stream.headersSent) stream.respond({ ':status': status }, { endStream: true });
    };
    if (method !== 'CONNECT') return refuse(STATUS_BAD_REQUEST, `method ${method} is not CONNECT`);
    let authority: Authority;
    try {
      authority = parseAuthority(rawAuthority);
    } catch (err) {
      return refuse(STATUS_BAD_REQUEST, (err as Error).message);
    }
    let answered = false;
    const conn: InboundConnect = {
      peer,
      peerSpiffeId: formatSpiffeId(peer),
      authority,
      headers,
      local,
      remote,
      stream,
      accept: (extra) => {
        if (answered) throw new Error('HBONE stream already answered');
        answered = true;
        stream.respond({ ...extra, ':status': STATUS_OK });
        return stream;
      },
      reject: (status, reason) => {
        if (answered) throw new Error('HBONE stream already answered');
        answered = true;
        refuse(status, reason);
      },
    };
    try {
      this.options.handler(conn);
    } catch (err) {
      this.log.error('HBONE handler failed', { ...fields, error: (err as Error).message });
      if (!answered) refuse(503, 'handler failed');
      else stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR);
    }
  }
}
