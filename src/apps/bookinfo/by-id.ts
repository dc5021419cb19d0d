// details and ratings are the same kind of service: GET /<name>/<product id> answers one JSON
// document about the book, GET /health says the service is healthy, anything else is 404.
import type { AppContext, RunningApp } from '../app';
import { listenHttp } from '../serve';
import { parseProductId } from './book';
import { appPort, json, pathOf } from './respond';

export interface ByIdService {
  /** The path's first segment and the log's name: details, ratings. */
  readonly name: string;
  /** /health's status line, as the real service words it. */
  readonly healthy: string;
  /** The 400 error for an id that is not a number, as the real service words it. */
  readonly badId: string;
  answer(id: number): unknown;
}

export async function startByIdService(ctx: AppContext, service: ByIdService): Promise<RunningApp> {
  const pathRe = new RegExp(`^/${service.name}/([^/]+)$`);
  const server = await listenHttp(ctx.podHostIp, appPort(ctx.pod.app.port), (req, res) => {
    const path = pathOf(req);
    ctx.log.debug('request', { method: req.method, path });
    if (path === '/health') return json(res, 200, { status: service.healthy });
    const match = pathRe.exec(path);
    if (req.method !== 'GET' || !match) return json(res, 404, { error: 'not found' });
    const id = parseProductId(match[1]);
    if (id === undefined) return json(res, 400, { error: service.badId });
    json(res, 200, service.answer(id));
  });
  ctx.log.info(`${service.name} listening`, { address: `${server.address}:${server.port}` });
  return server;
}
