// Response helpers for the bookinfo services: compact JSON as the real services send it.
import type * as http from 'node:http';

export function json(res: http.ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

export function html(res: http.ServerResponse, status: number, body: string, headers: http.OutgoingHttpHeaders = {}): void {
  res.writeHead(status, { 'content-type': 'text/html; charset=utf-8', ...headers }).end(body);
}

export function text(res: http.ServerResponse, status: number, body: string): void {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8' }).end(body);
}

/** The path without its query string. */
export function pathOf(req: http.IncomingMessage): string {
  return (req.url ?? '/').split('?')[0];
}

/** The port a bookinfo service listens on unless the scenario says otherwise. */
export const BOOKINFO_PORT = 9080;

export function appPort(port: number): number {
  return port > 0 ? port : BOOKINFO_PORT;
}
