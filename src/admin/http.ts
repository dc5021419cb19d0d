// Small HTTP servers for the admin ports: readiness (15021), metrics (15020) and the admin
// API (15000). Each route answers GET; anything else is 404/405.
import type * as http from 'node:http';
import { serve, Serving } from '../net/listen';
import { createHttpServer } from '../net/http-server';

export type AdminHandler = (req: http.IncomingMessage, res: http.ServerResponse) => void | Promise<void>;

export type AdminServer = Serving;

export async function startHttp(address: string, port: number, routes: Record<string, AdminHandler>): Promise<AdminServer> {
  // Half-close kept: sleep's exec port is served here too, and answers only after its fetch.
  const server = createHttpServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const route = routes[path];
    if (!route) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end(`no route ${path}\n`);
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET' }).end();
      return;
    }
    Promise.resolve(route(req, res)).catch((err: Error) => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(`${err.message}\n`);
    });
  });
  // Admin clients (curl, Prometheus) should not hold a shutting-down process open.
  server.keepAliveTimeout = 1000;
  return serve(server, address, port, () => server.closeAllConnections());
}

/** Readiness as Istio's proxies report it: GET /healthz/ready -> 200 "ready" once ready, 503 before. */
export function readinessRoutes(isReady: () => boolean): Record<string, AdminHandler> {
  return {
    '/healthz/ready': (_req, res) => {
      const ready = isReady();
      res.writeHead(ready ? 200 : 503, { 'content-type': 'text/plain' }).end(ready ? 'ready\n' : 'not ready\n');
    },
  };
}

export function sendJson(res: http.ServerResponse, body: unknown, status = 200): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body, null, 2) + '\n');
}
