// Listening for the apps: an HTTP or raw TCP server on the pod's address whose close() also
// drops open connections, so stopping a pod never waits on a client's keep-alive.
import type * as http from 'node:http';
import * as net from 'node:net';
import type { RunningApp } from './app';
import { serve, Serving } from '../net/listen';
import { createHttpServer } from '../net/http-server';
import { keepPodScope } from './pod-scope';

export type Listening = RunningApp & Serving;

/** An HTTP app; a client that half-closes after its request still gets its answer. */
export async function listenHttp(address: string, port: number, handler: http.RequestListener): Promise<Listening> {
  const server = createHttpServer(handler);
  return serve(server, address, port, () => server.closeAllConnections());
}

/** Raw TCP with allowHalfOpen: the client's FIN does not end our side, the handler decides. */
export async function listenTcp(address: string, port: number, onConnection: (socket: net.Socket) => void): Promise<Listening> {
  const open = new Set<net.Socket>();
  const server = net.createServer({ allowHalfOpen: true }, (socket) => {
    open.add(socket);
    socket.once('close', () => open.delete(socket));
    socket.setNoDelay(true);
    // Node runs an accepted socket's callbacks outside its server's pod scope (see pod-scope.ts).
    keepPodScope(socket);
    onConnection(socket);
  });
  return serve(server, address, port, () => {
    for (const s of open) s.destroy();
  });
}
