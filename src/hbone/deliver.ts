// The inbound end of a tunnel: an accepted CONNECT stream delivered to a TCP destination. (The
// outbound end, a captured connection carried over a pooled CONNECT, is ztunnel's outbound.ts.)
import * as net from 'node:net';
import { InboundConnect } from './server';
import { PipeResult, pipeTunnel } from './pipe';
import { CONNECT_TIMEOUT_MS, STATUS_SERVICE_UNAVAILABLE } from './constants';
import { PORT_BUSY_CODES, nextSourcePort } from '../net/source-port';

/** Local ports tried before a dial from a pinned address gives up. */
const SOURCE_PORT_ATTEMPTS = 8;

export interface TcpTarget {
  readonly host: string;
  readonly port: number;
  readonly localAddress?: string;
  readonly timeoutMs?: number;
  /** Called once the destination accepted and the tunnel answered 200. */
  readonly onConnected?: () => void;
}

/** Dials the destination, then answers 200 and pipes; 503 when it refuses or times out. */
export function deliverToTcp(conn: InboundConnect, target: TcpTarget): Promise<PipeResult | { refused: Error; clientGone?: boolean }> {
  return new Promise((resolve) => {
    const timeout = target.timeoutMs ?? CONNECT_TIMEOUT_MS;
    let portsLeft = SOURCE_PORT_ATTEMPTS;
    let settled = false;
    const settle = (result: PipeResult | { refused: Error; clientGone?: boolean } | Promise<PipeResult>): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      conn.stream.off('close', abandon);
      resolve(result);
    };
    const timer = setTimeout(() => refused(new Error(`connect to ${target.host}:${target.port} timed out after ${timeout} ms`)), timeout);
    function dial(): net.Socket {
      const localPort = target.localAddress ? nextSourcePort(target.localAddress) : undefined;
      const s = net.connect({ host: target.host, port: target.port, localAddress: target.localAddress, localPort, allowHalfOpen: true });
      s.setNoDelay(true);
      s.once('error', onError);
      s.once('connect', () => {
        if (settled) return;
        s.off('error', onError);
        const stream = conn.accept();
        target.onConnected?.();
        settle(pipeTunnel(s, stream));
      });
      return s;
    }
    function onError(err: NodeJS.ErrnoException): void {
      // That local port is still tied to this destination (TIME_WAIT): the next one will do.
      if (target.localAddress && PORT_BUSY_CODES.includes(err.code ?? '') && --portsLeft > 0 && !settled) {
        socket.destroy();
        socket = dial();
        return;
      }
      refused(err);
    }
    function refused(err: Error): void {
      socket.destroy();
      if (!conn.stream.destroyed) conn.reject(STATUS_SERVICE_UNAVAILABLE, err.message);
      settle({ refused: err });
    }
    // The client gave up while we dialled: abandon the dial; nobody is left to answer.
    function abandon(): void {
      socket.destroy();
      settle({ refused: new Error('the client went away while the app was being dialled'), clientGone: true });
    }
    let socket = dial();
    conn.stream.once('close', abandon);
  });
}
