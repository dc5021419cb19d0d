// HTTP/1.1 servers that answer a client which half-closed after sending its request.
import * as http from 'node:http';

/** The server's switch for it: undocumented, but set by Node's own tests (test-http-server.js). */
type HalfOpenHttpServer = http.Server & { httpAllowHalfOpen: boolean };

/**
 * http.createServer, except that a client's FIN after its request no longer ends our side
 * before the answer is written. Node's default ends the socket at the client's FIN
 * (_http_server.js socketOnEnd), so an answer that waits on anything (productpage calling
 * details and reviews) goes to a closed socket and the client sees an empty reply. The real
 * apps answer, then close; with httpAllowHalfOpen Node marks the connection's last response
 * and closes after it, pipelined responses before it included.
 */
export function createHttpServer(handler: http.RequestListener): http.Server {
  const server = http.createServer(handler) as HalfOpenHttpServer;
  server.httpAllowHalfOpen = true;
  return server;
}
