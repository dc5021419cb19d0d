// reviews: the book's reviews, in three versions chosen by the pod's `version` label, as the
// real reviews-v1/v2/v3 Deployments are: v1 shows no stars, v2 asks ratings and shows black
// stars, v3 asks ratings and shows red stars. GET /reviews/<id>, GET /health.
import type { AppContext, RunningApp } from '../app';
import { listenHttp } from '../serve';
import { getJson } from '../upstream';
import { propagatedHeaders } from '../propagation';
import { REVIEWS } from './book';
import { appPort, json, pathOf } from './respond';

const RATINGS_SERVICE = 'http://ratings:9080';
const REVIEWS_PATH = /^\/reviews\/([^/]+)$/;
const DEFAULT_VERSION = 'v1';
/** Star colour per version; no colour means ratings are not asked for. */
const STAR_COLOR: Readonly<Record<string, string | undefined>> = { v1: undefined, v2: 'black', v3: 'red' };
/** The real app waits 10 s for ratings with black stars and 2.5 s with red ones. */
const RATINGS_TIMEOUT_MS: Readonly<Record<string, number>> = { black: 10_000, red: 2_500 };
const RATINGS_UNAVAILABLE = 'Ratings service is currently unavailable';
/** The real app reports its CLUSTER_NAME, the string "null" when unset. */
const CLUSTER_NAME = 'null';

type Rating = { stars: number; color: string } | { error: string };

export async function startReviews(ctx: AppContext): Promise<RunningApp> {
  const version = ctx.pod.labels.version ?? DEFAULT_VERSION;
  if (!(version in STAR_COLOR)) ctx.log.warn('unknown reviews version, serving as v1', { version });
  const color = STAR_COLOR[version];

  /** Stars per reviewer from the ratings service, or undefined when it could not answer. */
  const fetchRatings = async (id: string, headers: ReturnType<typeof propagatedHeaders>): Promise<Record<string, number> | undefined> => {
    const result = await getJson(`${RATINGS_SERVICE}/ratings/${id}`, { agent: ctx.meshAgent, headers, timeoutMs: RATINGS_TIMEOUT_MS[color!] });
    if (result.status !== 200 || result.error) {
      ctx.log.debug('ratings unavailable', { status: result.status, error: result.error });
      return undefined;
    }
    const ratings = (result.body as { ratings?: Record<string, number> } | undefined)?.ratings;
    return ratings && typeof ratings === 'object' ? ratings : undefined;
  };

  const server = await listenHttp(ctx.podHostIp, appPort(ctx.pod.app.port), (req, res) => {
    const path = pathOf(req);
    ctx.log.debug('request', { method: req.method, path });
    if (path === '/health') return json(res, 200, { status: 'Reviews is healthy' });
    const match = REVIEWS_PATH.exec(path);
    if (req.method !== 'GET' || !match || !/^\d+$/.test(match[1])) return json(res, 404, { error: 'not found' });
    const id = match[1];
    void (async () => {
      const ratings = color ? await fetchRatings(id, propagatedHeaders(req)) : undefined;
      const reviews = REVIEWS.map((r) => {
        if (!color) return { reviewer: r.reviewer, text: r.text };
        const stars = ratings?.[r.reviewer];
        const rating: Rating = typeof stars === 'number' ? { stars, color } : { error: RATINGS_UNAVAILABLE };
        return { reviewer: r.reviewer, text: r.text, rating };
      });
      json(res, 200, { id, podname: ctx.pod.name, clustername: CLUSTER_NAME, reviews });
    })();
  });
  ctx.log.info('reviews listening', { address: `${server.address}:${server.port}`, version });
  return server;
}
