// details: the book's edition, as JSON. GET /details/<id>, GET /health.
import type { AppContext, RunningApp } from '../app';
import { listenHttp } from '../serve';
import { bookDetails, parseProductId } from './book';
import { appPort, json, pathOf } from './respond';

const DETAILS_PATH = /^\/details\/([^/]+)$/;

export async function startDetails(ctx: AppContext): Promise<RunningApp> {
  const server = await listenHttp(ctx.podHostIp, appPort(ctx.pod.app.port), (req, res) => {
    const path = pathOf(req);
    ctx.log.debug('request', { method: req.method, path });
    if (path === '/health') return json(res, 200, { status: 'Details is healthy' });
    const match = DETAILS_PATH.exec(path);
    if (req.method !== 'GET' || !match) return json(res, 404, { error: 'not found' });
    const id = parseProductId(match[1]);
    if (id === undefined) return json(res, 400, { error: 'please provide numeric product id' });
    json(res, 200, bookDetails(id));
  });
  ctx.log.info('details listening', { address: `${server.address}:${server.port}` });
  return server;
}
