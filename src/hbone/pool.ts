// The HBONE client: CONNECT streams over pooled mutual-TLS HTTP/2 sessions, as ztunnel's pool
// does. One pool key is (source identity, expected destination identity, destination address,
// source IP); a key holds as many sessions as its streams need, at most 100 streams each.
import { nextSourcePort } from '../net/source-port';
import * as http2 from 'node:http2';
import * as net from 'node:net';
import * as tls from 'node:tls';
import type { ClientHttp2Session, ClientHttp2Stream, OutgoingHttpHeaders } from 'node:http2';
import { WorkloadCertificate } from '../identity/workload-cert';
import { logger, Logger } from '../telemetry/log';
import {
  PORT_HBONE,
  HTTP2_SETTINGS,
  CONNECTION_WINDOW_BYTES,
  MAX_SESSION_MEMORY_MB,
  POOL_MAX_STREAMS_PER_CONNECTION,
  POOL_UNUSED_RELEASE_TIMEOUT_MS,
  CONNECT_TIMEOUT_MS,
  STATUS_OK,
} from './constants';
import { formatAuthority } from './authority';
import { keepAlive, KeepaliveOptions } from './keepalive';
import { logKeysOfSocket } from './keylog';
import { PeerMatcher, clientTlsOptions, describeMatcher } from './tls';

/**
 * A CONNECT still unanswered after this long makes the pool check that its session is alive.
 * node:http2 over TLS can miss its peer's death (a RST that arrives while a write of the
 * session is stuck is never read; seen when a ztunnel was killed mid-transfer): the session
 * stays "open", new streams queue on it and nothing answers until the keepalive gives up
 * (20 to 30 s). A live peer acknowledges a PING in milliseconds, however slow its app is.
 */
export const PROBE_AFTER_MS = 1000;
/**
 * How long the probe's PING has to be acknowledged before the session is dropped, unless bytes
 * arrived on it meanwhile: a peer that is sending is alive, however late its PING ack (a peer,
 * or this process, starved of CPU on a loaded 2-core machine can take seconds, and dropping a
 * live session would reset every stream on it).
 */
export const PROBE_PING_TIMEOUT_MS = 2000;

export interface ConnectRequest {
  /** Who we are: the source workload's (or the waypoint's) certificate. */
  readonly source: WorkloadCertificate;
  /** Who the server must prove to be. */
  readonly expect: PeerMatcher;
  /** Where to dial: the destination pod's (or waypoint's) address, port 15008 by default. */
  readonly address: string;
  readonly port?: number;
  /** Local address to dial from: the source pod's IP. */
  readonly sourceIp?: string;
  /** The CONNECT :authority: the final ip:port, or the VIP:port when sent to a waypoint. */
  readonly authority: string;
  /** baggage, forwarded, traceparent, x-envoy-original-dst-host. */
  readonly headers?: OutgoingHttpHeaders;
}

export class HboneConnectError extends Error {
  override name = 'HboneConnectError';
  constructor(
    message: string,
    /** The CONNECT response status when the server answered, otherwise undefined. */
    readonly status?: number,
  ) {
    super(message);
  }
}

export interface HbonePoolOptions {
  readonly maxStreamsPerConnection?: number;
  readonly idleTimeoutMs?: number;
  readonly connectTimeoutMs?: number;
  /** Disable pooling: every CONNECT gets its own TLS session (for benchmarks). */
  readonly disablePooling?: boolean;
  readonly keepalive?: KeepaliveOptions;
  readonly log?: Logger;
  /** OpenSSL cipher list to offer instead of node:tls's default (the peers bench pins one TLS 1.3 suite). */
  readonly ciphers?: string;
}

/** One pooled HTTP/2 session. */
interface PooledSession {
  readonly key: string;
  readonly session: ClientHttp2Session;
  /** The TLS socket under the session: a session stuck in a write does not close it itself. */
  socket?: tls.TLSSocket;
  active: number;
  /** Set once the server sent GOAWAY or the session failed: never picked again. */
  retired: boolean;
  failure?: Error;
  idleTimer?: NodeJS.Timeout;
}

export class HbonePool {
  private readonly byKey = new Map<string, PooledSession[]>();
  private readonly log: Logger;
  private readonly maxStreams: number;
  private readonly idleTimeoutMs: number;
  /** TLS sessions opened since start: tests read it to prove reuse. */
  sessionsOpened = 0;
  private closed = false;

  constructor(private readonly options: HbonePoolOptions = {}) {
    this.log = options.log ?? logger('hbone::pool');
    this.maxStreams = options.maxStreamsPerConnection ?? POOL_MAX_STREAMS_PER_CONNECTION;
    this.idleTimeoutMs = options.idleTimeoutMs ?? POOL_UNUSED_RELEASE_TIMEOUT_MS;
  }

  /** Opens a CONNECT stream; resolves once the server answered 200, rejects with the reason otherwise. */
  connect(req: ConnectRequest): Promise<ClientHttp2Stream> {
    if (this.closed) return Promise.reject(new HboneConnectError('the HBONE pool is closed'));
    const pooled = this.pick(req);
    pooled.active++;
    if (pooled.idleTimer) {
      clearTimeout(pooled.idleTimer);
      pooled.idleTimer = undefined;
    }
    return new Promise((resolve, reject) => {
      let stream: ClientHttp2Stream;
      try {
        stream = pooled.session.request({ ...req.headers, ':method': 'CONNECT', ':authority': req.authority }, { endStream: false });
      } catch (err) {
        this.release(pooled);
        return reject(this.failureOf(pooled, err as Error));
      }
      let settled = false;
      // No answer soon: is the session itself still alive? (See PROBE_AFTER_MS.)
      const probe = setTimeout(() => probeSession(pooled.session), PROBE_AFTER_MS);
      probe.unref();
      stream.once('close', () => {
        clearTimeout(probe);
        this.release(pooled);
        if (!settled) {
          settled = true;
          reject(this.failureOf(pooled, new HboneConnectError(`CONNECT ${req.authority} closed before a response (RST_STREAM code ${stream.rstCode})`)));
        }
      });
      stream.on('error', (err) => {
        clearTimeout(probe);
        if (!settled) {
          settled = true;
          reject(this.failureOf(pooled, err));
        }
      });
      stream.once('response', (headers) => {
        clearTimeout(probe);
        const status = Number(headers[':status']);
        if (settled) return;
        settled = true;
        if (status === STATUS_OK) return resolve(stream);
        stream.close();
        reject(new HboneConnectError(`CONNECT ${req.authority} to ${describeMatcher(req.expect)} answered ${status}`, status));
      });
    });
  }

  /** Sessions currently pooled for all keys (open, not retired). */
  get openSessions(): number {
    let n = 0;
    for (const list of this.byKey.values()) n += list.filter((p) => !p.retired).length;
    return n;
  }

  /** Closes every session: GOAWAY, then a hard stop after graceMs. */
  close(graceMs = 0): Promise<void> {
    this.closed = true;
    const all = [...this.byKey.values()].flat();
    this.byKey.clear();
    return Promise.all(
      all.map(
        (p) =>
          new Promise<void>((resolve) => {
            if (p.idleTimer) clearTimeout(p.idleTimer);
            if (p.session.destroyed) return resolve();
            p.session.once('close', () => resolve());
            p.session.close();
            setTimeout(() => p.session.destroy(), graceMs).unref();
          }),
      ),
    ).then(() => undefined);
  }

  private keyOf(req: ConnectRequest): string {
    return [req.source.spiffeId, describeMatcher(req.expect), formatAuthority(req.address, req.port ?? PORT_HBONE), req.sourceIp ?? ''].join('|');
  }

  private pick(req: ConnectRequest): PooledSession {
    const key = this.keyOf(req);
    const list = this.byKey.get(key) ?? [];
    if (!this.options.disablePooling) {
      for (const p of list) if (!p.retired && !p.session.closed && !p.session.destroyed && p.active < this.streamLimit(p)) return p;
    }
    const fresh = this.open(key, req);
    list.push(fresh);
    this.byKey.set(key, list);
    return fresh;
  }

  /** Our own cap, lowered if the server announced fewer concurrent streams. */
  private streamLimit(p: PooledSession): number {
    const announced = p.session.remoteSettings?.maxConcurrentStreams;
    return announced !== undefined && announced < this.maxStreams ? announced : this.maxStreams;
  }

  private open(key: string, req: ConnectRequest): PooledSession {
    const port = req.port ?? PORT_HBONE;
    const target = formatAuthority(req.address, port);
    const timeout = this.options.connectTimeoutMs ?? CONNECT_TIMEOUT_MS;
    // The certificate is read now: after a renewal, new sessions present the new one.
    const tlsOptions = { ...clientTlsOptions(req.source.tls, req.expect), ...(this.options.ciphers !== undefined ? { ciphers: this.options.ciphers } : {}) };
    const pooled: PooledSession = { key, session: undefined as unknown as ClientHttp2Session, active: 0, retired: false };
    const session = http2.connect(`https://${target}`, {
      settings: HTTP2_SETTINGS,
      maxSessionMemory: MAX_SESSION_MEMORY_MB,
      createConnection: () => {
        // Dial from the source pod's address, as ztunnel binds outbound sockets in the pod's netns.
        // tls.connect hands these options to net.Socket#connect, localAddress included (only the
        // typings omit it). Wrapping our own net.Socket instead would leave its handle to us.
        // The local port is chosen here, not by bind(): see src/net/source-port.ts.
        const localPort = req.sourceIp ? nextSourcePort(req.sourceIp) : undefined;
        const dial: tls.ConnectionOptions & net.TcpSocketConnectOpts = { ...tlsOptions, host: req.address, port, localAddress: req.sourceIp, localPort };
        const socket = tls.connect(dial);
        pooled.socket = socket;
        logKeysOfSocket(socket);
        socket.setNoDelay(true);
        socket.setTimeout(timeout, () => {
          if (!socket.authorized) socket.destroy(new HboneConnectError(`TLS connect to ${target} timed out after ${timeout} ms`));
        });
        socket.once('secureConnect', () => socket.setTimeout(0));
        return socket;
      },
    });
    this.sessionsOpened++;
    (pooled as { session: ClientHttp2Session }).session = session;
    const fields = { dst: target, identity: describeMatcher(req.expect), src_identity: req.source.spiffeId };
    session.once('connect', () => session.setLocalWindowSize(CONNECTION_WINDOW_BYTES));
    session.on('error', (err) => {
      pooled.failure ??= err;
      this.retire(pooled);
      this.log.warn('HBONE session failed', { ...fields, error: err.message });
    });
    session.on('goaway', (code) => {
      // Streams already open finish; new ones go to a new session.
      this.retire(pooled);
      if (code !== http2.constants.NGHTTP2_NO_ERROR) {
        pooled.failure ??= new HboneConnectError(
          `${target} sent GOAWAY ${h2ErrorName(code)}${code === http2.constants.NGHTTP2_INADEQUATE_SECURITY ? ': it refused our certificate' : ''}`,
        );
      }
      this.log.debug('HBONE session received GOAWAY', { ...fields, code });
    });
    session.once('close', () => {
      this.retire(pooled);
      this.remove(pooled);
    });
    keepAlive(session, {
      ...this.options.keepalive,
      onTimeout: (ms) => {
        this.log.warn('dropping HBONE session: keepalive timeout', { ...fields, silent_ms: ms });
        pooled.socket?.destroy();
      },
    });
    return pooled;
  }

  private release(p: PooledSession): void {
    p.active--;
    if (p.active > 0) return;
    if (p.retired || this.options.disablePooling) {
      p.session.close();
      return;
    }
    p.idleTimer = setTimeout(() => {
      this.retire(p);
      p.session.close();
    }, this.idleTimeoutMs);
    p.idleTimer.unref();
  }

  private retire(p: PooledSession): void {
    p.retired = true;
    if (p.idleTimer) clearTimeout(p.idleTimer);
  }

  private remove(p: PooledSession): void {
    const list = this.byKey.get(p.key);
    if (!list) return;
    const i = list.indexOf(p);
    if (i >= 0) list.splice(i, 1);
    if (list.length === 0) this.byKey.delete(p.key);
  }

  /** A stream's error is often only "cancelled"; the session's own failure says why. */
  private failureOf(p: PooledSession, err: Error): Error {
    const cause = p.failure;
    if (!cause || cause === err) return err;
    return new HboneConnectError(cause.message);
  }
}

/** Sessions with a probe PING in flight: one probe at a time per session. */
const probing = new WeakSet<ClientHttp2Session>();

/**
 * Checks that `session` is alive: a PING that is not acknowledged within timeoutMs destroys the
 * session with an HboneConnectError, so its streams fail now and the pool (which removes a
 * session on 'close') opens a new one for the next CONNECT. Used by the pool for a CONNECT that
 * waits, and by the waypoint's upstream pool for a request that waits on a reused tunnel.
 */
export function probeSession(session: ClientHttp2Session, timeoutMs = PROBE_PING_TIMEOUT_MS): void {
  // A session still connecting has its own handshake timeout; a closing one takes no new work.
  if (session.destroyed || session.closed || session.connecting || probing.has(session)) return;
  probing.add(session);
  const started = Date.now();
  const readBefore = bytesReadOf(session);
  const timer = setTimeout(() => {
    probing.delete(session);
    if (session.destroyed) return;
    // Bytes came in while we waited: the peer is alive, only slow to answer the PING.
    if (bytesReadOf(session) > readBefore) return;
    session.destroy(new HboneConnectError(`HBONE session dropped: no PING ack and nothing received in ${Date.now() - started} ms (its peer is gone)`));
  }, timeoutMs);
  timer.unref();
  try {
    // Not sent (too many PINGs outstanding) is an answer too: the timer decides.
    session.ping((err) => {
      if (err) return; // the session is being destroyed anyway
      clearTimeout(timer);
      probing.delete(session);
    });
  } catch {
    // destroyed in between
  }
}

/** Bytes read from the session's socket so far (0 once it is gone). */
function bytesReadOf(session: ClientHttp2Session): number {
  return session.socket?.bytesRead ?? 0;
}

/** RFC 9113 section 7 error code names, as Envoy and nghttp2 print them. */
const H2_ERROR_NAMES = [
  'NO_ERROR',
  'PROTOCOL_ERROR',
  'INTERNAL_ERROR',
  'FLOW_CONTROL_ERROR',
  'SETTINGS_TIMEOUT',
  'STREAM_CLOSED',
  'FRAME_SIZE_ERROR',
  'REFUSED_STREAM',
  'CANCEL',
  'COMPRESSION_ERROR',
  'CONNECT_ERROR',
  'ENHANCE_YOUR_CALM',
  'INADEQUATE_SECURITY',
  'HTTP_1_1_REQUIRED',
];

export function h2ErrorName(code: number): string {
  return `${H2_ERROR_NAMES[code] ?? 'UNKNOWN'} (${code})`;
}
