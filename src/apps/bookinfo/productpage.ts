// productpage: the bookinfo front end. It calls details and reviews by their cluster names
// through the pod's mesh agent, forwarding the tracing and user headers, and renders whatever
// came back: a missing backend becomes an error paragraph, never a failed page (as in the
// real app, so fault injection shows up as "currently unavailable" text with a 200).
import type * as http from 'node:http';
import type { AppContext, RunningApp } from '../app';
import { listenHttp } from '../serve';
import { getJson, UpstreamResult } from '../upstream';
import { propagatedHeaders } from '../propagation';
import { PRODUCT, PRODUCT_ID, parseProductId } from './book';
import { appPort, html, json, pathOf, text } from './respond';
import { indexPage, productPage, DetailsView, ReviewsView } from './productpage-html';
import { readRequestBody } from '../../net/request-body';

const DETAILS_SERVICE = 'http://details:9080';
const REVIEWS_SERVICE = 'http://reviews:9080';
const RATINGS_SERVICE = 'http://ratings:9080';
/** The real productpage gives each backend call 3 s. */
const BACKEND_TIMEOUT_MS = 3_000;
/** ...and tries reviews twice, a quirk the fault-injection task relies on. */
const REVIEWS_ATTEMPTS = 2;
/** Who signed in; forwarded as end-user so routes can match it (end-user: jason -> reviews v2). */
const USER_COOKIE = 'user';
const MAX_LOGIN_BODY_BYTES = 4096;

const UNAVAILABLE = {
  details: 'Sorry, product details are currently unavailable for this book.',
  reviews: 'Sorry, product reviews are currently unavailable for this book.',
  ratings: 'Sorry, product ratings are currently unavailable for this book.',
};

const API_PRODUCT = /^\/api\/v1\/products\/([^/]+)(?:\/(reviews|ratings))?$/;

interface Backend {
  readonly status: number;
  readonly body: Record<string, unknown>;
}

function cookie(req: http.IncomingMessage, name: string): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return decodeURIComponent(part.slice(eq + 1).trim()) || undefined;
  }
  return undefined;
}

/** A complete 200 with a JSON object passes through; anything else becomes the real app's apology. */
function asBackend(result: UpstreamResult, apology: string): Backend {
  if (result.status === 200 && !result.error && result.body && typeof result.body === 'object')
    return { status: 200, body: result.body as Record<string, unknown> };
  // The backend's own error status when it sent one, else 500 (no answer, or a broken one).
  const status = result.status && result.status !== 200 ? result.status : 500;
  return { status, body: { error: apology } };
}

async function readBody(req: http.IncomingMessage): Promise<string> {
  return (await readRequestBody(req, MAX_LOGIN_BODY_BYTES, () => new Error('body too large'))).toString('utf8');
}

export async function startProductpage(ctx: AppContext): Promise<RunningApp> {
  const call = (url: string, headers: http.OutgoingHttpHeaders): Promise<UpstreamResult> =>
    getJson(url, { agent: ctx.meshAgent, headers, timeoutMs: BACKEND_TIMEOUT_MS });

  const details = async (id: number, headers: http.OutgoingHttpHeaders): Promise<Backend> =>
    asBackend(await call(`${DETAILS_SERVICE}/details/${id}`, headers), UNAVAILABLE.details);

  const reviews = async (id: number, headers: http.OutgoingHttpHeaders): Promise<Backend> => {
    let last: UpstreamResult = { status: 0 };
    for (let attempt = 1; attempt <= REVIEWS_ATTEMPTS; attempt++) {
      last = await call(`${REVIEWS_SERVICE}/reviews/${id}`, headers);
      if (last.status === 200 && !last.error) break;
      ctx.log.debug('reviews call failed', { attempt, status: last.status, error: last.error });
    }
    return asBackend(last, UNAVAILABLE.reviews);
  };

  const ratings = async (id: number, headers: http.OutgoingHttpHeaders): Promise<Backend> =>
    asBackend(await call(`${RATINGS_SERVICE}/ratings/${id}`, headers), UNAVAILABLE.ratings);

  /** The propagated headers, plus end-user for a signed-in user. */
  const outgoing = (req: http.IncomingMessage): http.OutgoingHttpHeaders => {
    const headers = propagatedHeaders(req);
    const user = cookie(req, USER_COOKIE);
    if (user) headers['end-user'] = user;
    return headers;
  };

  const renderProductPage = async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
    const headers = outgoing(req);
    // Sequential, as the real app does: the trace shows details, then reviews.
    const d = await details(PRODUCT_ID, headers);
    const r = await reviews(PRODUCT_ID, headers);
    const detailsView: DetailsView = { ok: d.status === 200, body: d.body };
    const reviewsView: ReviewsView =
      r.status === 200
        ? {
            ok: true,
            podname: typeof r.body.podname === 'string' ? r.body.podname : undefined,
            clustername: typeof r.body.clustername === 'string' ? r.body.clustername : undefined,
            reviews: Array.isArray(r.body.reviews) ? (r.body.reviews as ReviewsView['reviews']) : [],
          }
        : { ok: false, error: String(r.body.error), reviews: [] };
    html(res, 200, productPage(cookie(req, USER_COOKIE), detailsView, reviewsView));
  };

  const api = async (req: http.IncomingMessage, res: http.ServerResponse, path: string): Promise<void> => {
    if (path === '/api/v1/products') return json(res, 200, [PRODUCT]);
    const match = API_PRODUCT.exec(path);
    const id = match ? parseProductId(match[1]) : undefined;
    if (!match || id === undefined) return json(res, 404, { error: 'not found' });
    const backend = match[2] === 'reviews' ? reviews : match[2] === 'ratings' ? ratings : details;
    const result = await backend(id, outgoing(req));
    json(res, result.status, result.body);
  };

  const login = async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
    const user = new URLSearchParams(await readBody(req)).get('username')?.trim();
    const setCookie = user ? `${USER_COOKIE}=${encodeURIComponent(user)}; Path=/` : `${USER_COOKIE}=; Path=/; Max-Age=0`;
    res.writeHead(302, { location: '/productpage', 'set-cookie': setCookie }).end();
  };

  const services = [
    { name: DETAILS_SERVICE, endpoint: 'details', children: [] },
    { name: RATINGS_SERVICE, endpoint: 'ratings', children: [] },
    { name: REVIEWS_SERVICE, endpoint: 'reviews', children: ['ratings'] },
    { name: `http://${ctx.pod.labels.app ?? 'productpage'}:${appPort(ctx.pod.app.port)}`, endpoint: 'productpage', children: ['details', 'reviews'] },
  ];

  const route = async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
    const path = pathOf(req);
    ctx.log.debug('request', { method: req.method, path });
    if (req.method === 'POST' && path === '/login') return login(req, res);
    if (req.method !== 'GET' && req.method !== 'HEAD') return text(res, 405, 'method not allowed\n');
    if (path === '/') return html(res, 200, indexPage(services));
    if (path === '/health') return text(res, 200, 'Product page is healthy');
    if (path === '/productpage') return renderProductPage(req, res);
    if (path === '/logout') {
      res.writeHead(302, { location: '/productpage', 'set-cookie': `${USER_COOKIE}=; Path=/; Max-Age=0` }).end();
      return;
    }
    if (path.startsWith('/api/v1/products')) return api(req, res, path);
    text(res, 404, 'not found\n');
  };

  const server = await listenHttp(ctx.podHostIp, appPort(ctx.pod.app.port), (req, res) => {
    route(req, res).catch((err: Error) => {
      ctx.log.error('productpage failed', { path: pathOf(req), error: err.message });
      if (!res.headersSent) text(res, 500, `${err.message}\n`);
      else res.destroy();
    });
  });
  ctx.log.info('productpage listening', { address: `${server.address}:${server.port}` });
  return server;
}
