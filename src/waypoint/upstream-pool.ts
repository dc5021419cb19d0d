// The waypoint's upstream connection pool, as Envoy keeps one per cluster host: HTTP/1.1
// connections to a pod stay open after a response and carry the next request. Each connection
// is a CONNECT tunnel through the pod's ztunnel (Envoy's internal listener connect_originate),
// so the tunnel, the destination ztunnel's TCP connection to the app, and its access-log record
// belong to a connection, not to a request: ztunnel logs a reused tunnel when it closes.
import * as http from 'node:http';
import * as net from 'node:net';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { ClientHttp2Session, ClientHttp2Stream } from 'node:http2';
import { TunnelSocket, SocketAddresses } from './tunnel-socket';
import { traceIdOf } from '../hbone/headers';
import { HboneConnectError, PROBE_AFTER_MS, probeSession } from '../hbone/pool';

/**
 * How long an idle upstream connection is kept. Below the 5 s keep-alive timeout of a Node
 * HTTP server (and Node's agent also honours a shorter `keep-alive: timeout=` hint), so the
 * pod does not close a connection the waypoint is about to reuse. Envoy's own default is 1 h.
 */
export const UPSTREAM_IDLE_TIMEOUT_MS = 4000;

/**
 * Opens one connection to `target` (pod ip:port) for the request's traceparent: a CONNECT
 * tunnel to a pod in the mesh, or a plain TCP socket to one outside it.
 */
export type OpenTunnel = (target: string, traceparent: string) => Promise<ClientHttp2Stream | Socket>;

/** Request options the pool reads: which trace opens the tunnel if a new one is needed. */
export interface TunnelRequestOptions extends http.RequestOptions {
  readonly traceparent: string;
  /**
   * '' (no TLS server name: the tunnel's TLS is the pool's business). Left out, node:http's
   * agent works one out of the Host header for every request, and tests it against an IPv6
   * regular expression, which showed in the waypoint's profile.
   */
  readonly servername?: '';
}

/** A connection's CONNECT: the trace it was opened for. */
const openedBy = new WeakMap<object, string>();

class TunnelAgent extends http.Agent {
  constructor(
    private readonly target: string,
    private readonly open: OpenTunnel,
    private readonly addresses: SocketAddresses,
  ) {
    // lifo: the most recently used connection first, so surplus ones go idle and time out.
    super({ keepAlive: true, timeout: UPSTREAM_IDLE_TIMEOUT_MS, scheduling: 'lifo' });
  }

  // node:http waits for the callback when this returns nothing: the tunnel is opened asynchronously.
  override createConnection(options: http.ClientRequestArgs, callback?: (err: Error | null, socket: Duplex) => void): undefined {
    const traceparent = (options as Partial<TunnelRequestOptions>).traceparent ?? '';
    this.open(this.target, traceparent).then(
      (stream) => {
        // Not half-open: when the pod's side ends, the connection is done and leaves the pool.
        const socket = stream instanceof net.Socket ? stream : new TunnelSocket(stream, this.addresses, { allowHalfOpen: false });
        openedBy.set(socket, traceIdOf(traceparent) ?? '');
        callback?.(null, socket);
      },
      // Whatever stopped the tunnel, the request never reached the pod: a connect failure.
      (err: Error) => callback?.(err instanceof HboneConnectError ? err : new HboneConnectError(err.message), undefined as unknown as Duplex),
    );
    return undefined;
  }

  // A kept-alive tunnel rides an HBONE session that may have died without node:http2 noticing
  // (see PROBE_AFTER_MS): a request on it still waiting for its response after a while makes
  // the pool check the session, and a dead one is dropped with its tunnels, so the request
  // fails now instead of when the keepalive gives up.
  override reuseSocket(socket: Socket, req: http.ClientRequest): void {
    super.reuseSocket(socket, req);
    if (!(socket instanceof TunnelSocket)) return;
    const session = socket.stream.session as ClientHttp2Session | undefined;
    if (!session) return;
    const probe = setTimeout(() => probeSession(session), PROBE_AFTER_MS);
    probe.unref();
    const done = (): void => clearTimeout(probe);
    req.once('response', done);
    req.once('close', done);
  }
}

export class UpstreamPool {
  private readonly agents = new Map<string, TunnelAgent>();

  constructor(
    private readonly open: OpenTunnel,
    /** The waypoint pod's address, as the local end of every upstream connection. */
    private readonly localAddress: string,
  ) {}

  /** The pool of one endpoint, pod ip:port. */
  agentFor(target: string): http.Agent {
    let agent = this.agents.get(target);
    if (!agent) {
      const cut = target.lastIndexOf(':');
      const addresses = { remoteAddress: target.slice(0, cut), remotePort: Number(target.slice(cut + 1)), localAddress: this.localAddress, localPort: 0 };
      agent = new TunnelAgent(target, this.open, addresses);
      this.agents.set(target, agent);
    }
    return agent;
  }

  /** The trace id whose request opened this connection's CONNECT. */
  static tunnelTraceOf(socket: object | null | undefined): string | undefined {
    return socket ? openedBy.get(socket) : undefined;
  }

  close(): void {
    for (const a of this.agents.values()) a.destroy();
    this.agents.clear();
  }
}
