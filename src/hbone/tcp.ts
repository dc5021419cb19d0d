// Plain TCP: a connection dialled with a deadline, and two sockets joined as the mesh joins them.
import * as net from 'node:net';
import { resetTcp } from './pipe';
import { CONNECT_TIMEOUT_MS } from './constants';

export interface SocketPipeResult {
  readonly bytesFromClient: number;
  readonly bytesFromServer: number;
  readonly error?: Error;
}

export function dialTcp(host: string, port: number, localAddress?: string, timeoutMs = CONNECT_TIMEOUT_MS): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host, port, localAddress, allowHalfOpen: true });
    const timer = setTimeout(() => s.destroy(new Error(`connect to ${host}:${port} timed out after ${timeoutMs} ms`)), timeoutMs);
    s.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    s.once('connect', () => {
      clearTimeout(timer);
      s.removeAllListeners('error');
      s.setNoDelay(true);
      resolve(s);
    });
  });
}

/** Joins two TCP sockets with backpressure, half-close each way, and resets kept as resets. */
export function pipeSockets(client: net.Socket, server: net.Socket): Promise<SocketPipeResult> {
  return new Promise((resolve) => {
    let fromClient = 0;
    let fromServer = 0;
    let error: Error | undefined;
    let open = 2;
    const join = (src: net.Socket, dst: net.Socket, count: (n: number) => void): void => {
      src.on('data', (c: Buffer) => {
        count(c.length);
        if (!dst.write(c)) src.pause();
      });
      dst.on('drain', () => src.resume());
      src.on('end', () => dst.end());
      src.on('error', (err) => {
        error ??= err;
        resetTcp(dst);
      });
      src.on('close', () => {
        // Destroyed locally (ztunnel stopping) without a clean end: the far side must know.
        if (!(src.readableEnded && src.writableFinished)) resetTcp(dst);
        if (--open === 0) resolve({ bytesFromClient: fromClient, bytesFromServer: fromServer, error });
      });
      src.resume();
    };
    join(client, server, (n) => (fromClient += n));
    join(server, client, (n) => (fromServer += n));
  });
}
