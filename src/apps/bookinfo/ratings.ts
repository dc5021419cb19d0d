// ratings: the stars each reviewer gave. GET /ratings/<id>, GET /health.
import type { AppContext, RunningApp } from '../app';
import { listenHttp } from '../serve';
import { RATINGS, parseProductId } from './book';
import { appPort, json, pathOf } from './respond';

const RATINGS_PATH = /^\/ratings\/([^/]+)$/;

export async function startRatings(ctx: AppContext): Promise<RunningApp> {
  const server = await listenHttp(ctx.podHostIp, appPort(ctx.pod.app.port), (req, res) => {
    const path = pathOf(req);
    ctx.log.debug('request', { method: req.method, path });
    if (path === '/health') return json(res, 200, { status: 'Ratings is healthy' });
    const match = RATINGS_PATH.exec(path);
    if (req.method !== 'GET' || !match) return json(res, 404, { error: 'not found' });
    const id = parseProductId(match[1]);
    if (id === undefined) return json(res, 400, { error: 'please provide numeric product ID' });
    json(res, 200, { id, ratings: RATINGS });
  });
  ctx.log.info('ratings listening', { address: `${server.address}:${server.port}` });
  return server;
}
