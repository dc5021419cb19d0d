// Bookinfo through a stand-in SOCKS5 capture (addresses 127.40.2.x): the services, the
// product page, header propagation and graceful degradation.
import t from 'tap';
import * as http from 'node:http';
import type { RunningApp } from '../../src/apps/app';
import { startProductpage } from '../../src/apps/bookinfo/productpage';
import { startDetails } from '../../src/apps/bookinfo/details';
import { startReviews } from '../../src/apps/bookinfo/reviews';
import { startRatings } from '../../src/apps/bookinfo/ratings';
import { socksServer, SocksRoute } from './fixtures/socks-server';
import { context, get, pod } from './fixtures/pods';

const PROXY_IP = '127.40.2.100';
const SPY_IP = '127.40.2.7';
const PORT = 9080;

const pods = {
  productpage: pod('productpage-v1-6b746f74dc-9stvs', 'productpage', '10.40.2.1', PORT, { version: 'v1' }),
  details: pod('details-v1-79f774bdb9-k2bqx', 'details', '10.40.2.2', PORT, { version: 'v1' }),
  reviewsV1: pod('reviews-v1-545db77b95-8xzrs', 'reviews', '10.40.2.3', PORT, { version: 'v1' }),
  reviewsV2: pod('reviews-v2-7bf8c9648f-2dwpl', 'reviews', '10.40.2.4', PORT, { version: 'v2' }),
  reviewsV3: pod('reviews-v3-84779c7bbc-r95gg', 'reviews', '10.40.2.5', PORT, { version: 'v3' }),
  ratings: pod('ratings-v1-567b6b5c94-tcxvm', 'ratings', '10.40.2.6', PORT, { version: 'v1' }),
};
const at = (ip: string) => ({ forward: { host: ip.replace(/^10\./, '127.'), port: PORT } });

const defaultRoutes = (): Record<string, SocksRoute> => ({
  details: at(pods.details.ip),
  reviews: at(pods.reviewsV2.ip),
  ratings: at(pods.ratings.ip),
});
let routes = defaultRoutes();

const productpage = `http://127.40.2.1:${PORT}`;

t.test('bookinfo', async (t) => {
  const proxy = await socksServer(PROXY_IP, 0, (host) => routes[host]);
  const endpoint = { host: PROXY_IP, port: proxy.port };
  const running: RunningApp[] = [];
  const contexts = Object.values(pods).map((p) => context(p, endpoint));
  const starters = { productpage: startProductpage, details: startDetails, reviews: startReviews, ratings: startRatings } as const;
  for (const ctx of contexts) running.push(await starters[ctx.pod.app.kind as keyof typeof starters](ctx));

  // A spy standing in for details and ratings: records the headers each call carried.
  const spied: Array<{ path: string; headers: http.IncomingHttpHeaders }> = [];
  const spy = http.createServer((req, res) => {
    spied.push({ path: req.url ?? '', headers: req.headers });
    res.setHeader('content-type', 'application/json');
    if (req.url?.startsWith('/ratings/')) res.end(JSON.stringify({ id: 0, ratings: { Reviewer1: 1, Reviewer2: 2 } }));
    else res.end(JSON.stringify({ id: 0, type: 'spyback', pages: 1 }));
  });
  await new Promise<void>((r) => spy.listen(PORT, SPY_IP, r));

  t.teardown(async () => {
    for (const r of running) await r.close();
    for (const c of contexts) c.meshAgent.destroy();
    spy.closeAllConnections();
    await new Promise((r) => spy.close(r));
    await proxy.close();
  });
  t.beforeEach(() => {
    routes = defaultRoutes();
  });

  t.test('details answers the real JSON', async (t) => {
    const r = await get(`http://127.40.2.2:${PORT}/details/0`);
    t.equal(r.status, 200);
    t.equal(r.headers['content-type'], 'application/json');
    t.same(JSON.parse(r.body), {
      id: 0,
      author: 'William Shakespeare',
      year: 1595,
      type: 'paperback',
      pages: 200,
      publisher: 'PublisherA',
      language: 'English',
      'ISBN-10': '1234567890',
      'ISBN-13': '123-1234567890',
    });
    t.equal((await get(`http://127.40.2.2:${PORT}/details/abc`)).status, 400);
    t.same(JSON.parse((await get(`http://127.40.2.2:${PORT}/health`)).body), { status: 'Details is healthy' });
  });

  t.test('ratings answers the real JSON', async (t) => {
    const r = await get(`http://127.40.2.6:${PORT}/ratings/0`);
    t.equal(r.status, 200);
    t.equal(r.body, '{"id":0,"ratings":{"Reviewer1":5,"Reviewer2":4}}');
    t.equal((await get(`http://127.40.2.6:${PORT}/health`)).status, 200);
  });

  t.test('reviews v1, v2, v3', async (t) => {
    const v1 = JSON.parse((await get(`http://127.40.2.3:${PORT}/reviews/0`)).body);
    t.same(Object.keys(v1), ['id', 'podname', 'clustername', 'reviews']);
    t.equal(v1.id, '0');
    t.equal(v1.podname, pods.reviewsV1.name);
    t.equal(v1.clustername, 'null');
    t.equal(v1.reviews.length, 2);
    t.notOk('rating' in v1.reviews[0], 'v1 has no ratings');

    const v2 = JSON.parse((await get(`http://127.40.2.4:${PORT}/reviews/0`)).body);
    t.equal(v2.podname, pods.reviewsV2.name);
    t.same(
      v2.reviews.map((r: { rating: unknown }) => r.rating),
      [
        { stars: 5, color: 'black' },
        { stars: 4, color: 'black' },
      ],
    );

    const v3 = JSON.parse((await get(`http://127.40.2.5:${PORT}/reviews/0`)).body);
    t.same(
      v3.reviews.map((r: { rating: unknown }) => r.rating),
      [
        { stars: 5, color: 'red' },
        { stars: 4, color: 'red' },
      ],
    );
    const ratingsCalls = proxy.seen.filter((s) => s.host === 'ratings');
    t.equal(ratingsCalls.length >= 1, true, 'ratings reached by name through SOCKS5');

    routes.ratings = { reply: 0x02 };
    const down = JSON.parse((await get(`http://127.40.2.4:${PORT}/reviews/0`)).body);
    t.same(down.reviews[0].rating, { error: 'Ratings service is currently unavailable' }, 'ratings denied: the review says so');
    t.same(JSON.parse((await get(`http://127.40.2.5:${PORT}/health`)).body), { status: 'Reviews is healthy' });
  });

  t.test('productpage renders details and reviews v2 through the mesh agent', async (t) => {
    const r = await get(`${productpage}/productpage`);
    t.equal(r.status, 200);
    t.match(r.headers['content-type'], /text\/html/);
    t.match(r.body, '<title>Simple Bookstore App</title>');
    t.match(r.body, 'The Comedy of Errors');
    t.match(r.body, 'Book Details');
    t.match(r.body, '<dt>Type:</dt><dd>paperback</dd>');
    t.match(r.body, '<dt>ISBN-13:</dt><dd>123-1234567890</dd>');
    t.match(r.body, 'Book Reviews');
    t.match(r.body, 'An extremely entertaining play by Shakespeare.');
    t.match(r.body, 'style="color: black" title="5 stars">★★★★★</span>');
    t.match(r.body, '★★★★☆');
    t.match(r.body, `Reviews served by:</dt><dd><u class="podname">${pods.reviewsV2.name}</u>`);

    routes.reviews = at(pods.reviewsV3.ip);
    const v3 = await get(`${productpage}/productpage`);
    t.match(v3.body, 'style="color: red"');
    t.match(v3.body, pods.reviewsV3.name);

    routes.reviews = at(pods.reviewsV1.ip);
    const v1 = await get(`${productpage}/productpage`);
    t.notMatch(v1.body, 'class="stars"', 'v1: no stars');
    t.match(v1.body, pods.reviewsV1.name);
  });

  t.test('productpage forwards tracing and user headers, and only those', async (t) => {
    routes.details = { forward: { host: SPY_IP, port: PORT } };
    routes.ratings = { forward: { host: SPY_IP, port: PORT } };
    spied.length = 0;
    const sent = {
      'x-request-id': 'b1c3a6e2-0000-4000-8000-000000000001',
      traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
      tracestate: 'sim=1',
      baggage: 'k8s.namespace.name=default',
      'x-b3-traceid': '4bf92f3577b34da6a3ce929d0e0e4736',
      'x-b3-spanid': '00f067aa0ba902b7',
      'x-b3-sampled': '1',
      'user-agent': 'curl/8.5.0',
      cookie: 'user=jason',
      'x-not-propagated': 'secret',
    };
    const r = await get(`${productpage}/productpage`, { headers: sent });
    t.equal(r.status, 200);
    t.match(r.body, 'spyback', 'details came from the spy');
    t.match(r.body, 'signed in as jason');
    const details = spied.find((s) => s.path === '/details/0');
    const ratings = spied.find((s) => s.path === '/ratings/0');
    t.ok(details && ratings, 'productpage -> details and reviews -> ratings both seen');
    for (const seen of [details!, ratings!]) {
      for (const [k, v] of Object.entries(sent)) {
        if (k === 'x-not-propagated') t.notOk(k in seen.headers, `${seen.path}: ${k} not forwarded`);
        else t.equal(seen.headers[k], v, `${seen.path}: ${k}`);
      }
      t.equal(seen.headers['end-user'], 'jason', `${seen.path}: end-user from the signed-in user`);
    }
    t.match(r.body, 'title="1 stars">★☆☆☆☆', 'the stars are the ratings the spy gave');
  });

  t.test('productpage degrades gracefully when a backend is down', async (t) => {
    routes.details = { reply: 0x05 };
    const noDetails = await get(`${productpage}/productpage`);
    t.equal(noDetails.status, 200, 'the page still renders');
    t.match(noDetails.body, 'Error fetching product details!');
    t.match(noDetails.body, 'Sorry, product details are currently unavailable for this book.');
    t.match(noDetails.body, 'Book Reviews', 'reviews still shown');

    routes = defaultRoutes();
    routes.reviews = { resetAfterAccept: true };
    const before = proxy.seen.filter((s) => s.host === 'reviews').length;
    const noReviews = await get(`${productpage}/productpage`);
    t.equal(noReviews.status, 200);
    t.match(noReviews.body, 'Book Details');
    t.match(noReviews.body, 'Error fetching product reviews!');
    t.match(noReviews.body, 'Sorry, product reviews are currently unavailable for this book.');
    t.equal(proxy.seen.filter((s) => s.host === 'reviews').length - before, 2, 'reviews tried twice, as the real productpage does');

    routes = defaultRoutes();
    routes.details = { hang: true };
    const started = Date.now();
    const slow = await get(`${productpage}/productpage`);
    t.equal(slow.status, 200);
    t.match(slow.body, 'Sorry, product details are currently unavailable for this book.');
    t.ok(Date.now() - started < 3_000 + 1_000, 'gave up on details after its 3 s timeout');

    routes = defaultRoutes();
    routes.reviews = { resetAfterAccept: true };
    const api = await get(`${productpage}/api/v1/products/0/reviews`);
    t.equal(api.status, 500);
    t.same(JSON.parse(api.body), { error: 'Sorry, product reviews are currently unavailable for this book.' });
  });

  t.test('productpage API, index, health, login', async (t) => {
    const products = JSON.parse((await get(`${productpage}/api/v1/products`)).body);
    t.equal(products[0].id, 0);
    t.equal(products[0].title, 'The Comedy of Errors');
    t.match(products[0].descriptionHtml, 'Wikipedia Summary');
    t.equal(JSON.parse((await get(`${productpage}/api/v1/products/0`)).body).publisher, 'PublisherA');
    t.equal(JSON.parse((await get(`${productpage}/api/v1/products/0/reviews`)).body).podname, pods.reviewsV2.name);
    t.same(JSON.parse((await get(`${productpage}/api/v1/products/0/ratings`)).body), { id: 0, ratings: { Reviewer1: 5, Reviewer2: 4 } });
    t.equal((await get(`${productpage}/api/v1/products/x`)).status, 404);

    const index = await get(`${productpage}/`);
    t.equal(index.status, 200);
    t.match(index.body, 'simple bookstore application');
    t.match(index.body, 'href="/productpage?u=normal"');
    const health = await get(`${productpage}/health`);
    t.equal(health.status, 200);
    t.equal(health.body, 'Product page is healthy');

    const login = await new Promise<http.IncomingMessage>((resolve, reject) => {
      const req = http.request(
        `${productpage}/login`,
        { method: 'POST', agent: false, headers: { 'content-type': 'application/x-www-form-urlencoded' } },
        resolve,
      );
      req.on('error', reject);
      req.end('username=jason&passwd=');
    });
    login.resume();
    t.equal(login.statusCode, 302);
    t.match(String(login.headers['set-cookie']), 'user=jason');
  });
});
