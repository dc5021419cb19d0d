// sleep: the client pod. It serves no app port; instead it takes the simulator's stand-in for
// `kubectl exec` on <pod address>:15099 and runs the request from inside the pod:
//   GET /fetch?url=http://productpage:9080/productpage&method=GET&header=k:v   (curl)
//   GET /tcp?target=echo:9000&send=hello                                      (nc)
// Both answer JSON; a connection the mesh refused or cut is an answer, never a 500.
import type * as http from 'node:http';
import { PORT_EXEC, PORT_SOCKS5 } from '../mesh/ports';
import { startHttp, sendJson } from '../admin/http';
import type { AppContext, RunningApp } from './app';
import { DEFAULT_FETCH_TIMEOUT_MS, fetchThroughMesh } from './exec-fetch';
import { DEFAULT_TCP_TIMEOUT_MS, tcpThroughMesh } from './exec-tcp';

const STATUS_BAD_REQUEST = 400;

/** A malformed exec query (bad url, header or target): answered 400 with the reason. */
class ExecQueryError extends Error {}

function query(req: http.IncomingMessage): URLSearchParams {
  return new URL(req.url ?? '/', 'http://exec').searchParams;
}

function timeoutParam(q: URLSearchParams, fallback: number): number {
  const raw = q.get('timeoutMs');
  if (raw === null) return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0) throw new ExecQueryError(`timeoutMs must be a positive number, got '${raw}'`);
  return n;
}

/** header=k:v, repeated; the value may itself hold colons. */
function headerParams(q: URLSearchParams): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const h of q.getAll('header')) {
    const colon = h.indexOf(':');
    if (colon <= 0) throw new ExecQueryError(`header must be name:value, got '${h}'`);
    headers[h.slice(0, colon).trim().toLowerCase()] = h.slice(colon + 1).trim();
  }
  return headers;
}

function hostPort(raw: string | null): { host: string; port: number } {
  const colon = raw?.lastIndexOf(':') ?? -1;
  const port = Number(raw?.slice(colon + 1));
  if (!raw || colon <= 0 || !Number.isInteger(port) || port <= 0 || port > 0xffff) throw new ExecQueryError(`target must be host:port, got '${raw ?? ''}'`);
  return { host: raw.slice(0, colon), port };
}

export async function startSleep(ctx: AppContext): Promise<RunningApp> {
  const proxy = ctx.socksProxy ?? { host: ctx.podHostIp, port: PORT_SOCKS5 };

  const usage = (fn: (req: http.IncomingMessage, res: http.ServerResponse) => Promise<void>) => async (req: http.IncomingMessage, res: http.ServerResponse) => {
    try {
      await fn(req, res);
    } catch (err) {
      if (!(err instanceof ExecQueryError)) throw err;
      sendJson(res, { error: err.message }, STATUS_BAD_REQUEST);
    }
  };

  const server = await startHttp(ctx.podHostIp, PORT_EXEC, {
    '/fetch': usage(async (req, res) => {
      const q = query(req);
      const url = q.get('url');
      if (!url) throw new ExecQueryError('url is required');
      const result = await fetchThroughMesh(ctx.meshAgent, {
        url,
        method: (q.get('method') ?? 'GET').toUpperCase(),
        headers: headerParams(q),
        body: q.get('body') ?? undefined,
        timeoutMs: timeoutParam(q, DEFAULT_FETCH_TIMEOUT_MS),
      });
      ctx.log.info('exec fetch', { url, status: result.status, timeMs: result.timeMs.toFixed(3), error: result.error });
      sendJson(res, result);
    }),
    '/tcp': usage(async (req, res) => {
      const q = query(req);
      const target = hostPort(q.get('target'));
      const result = await tcpThroughMesh({
        proxy,
        target,
        send: q.get('send') ?? '',
        localAddress: ctx.podHostIp,
        timeoutMs: timeoutParam(q, DEFAULT_TCP_TIMEOUT_MS),
      });
      ctx.log.info('exec tcp', { target: `${target.host}:${target.port}`, bytes: result.bytes, timeMs: result.timeMs.toFixed(3), error: result.error });
      sendJson(res, result);
    }),
  });
  ctx.log.info('sleep exec listening', { address: `${server.address}:${server.port}` });
  return server;
}
