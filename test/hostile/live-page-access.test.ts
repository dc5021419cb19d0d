// Who may read the live page and apply YAML through it: only a client with the token `up`
// printed. Each way around it is refused with 403 and applies nothing: no token, a wrong one,
// one of another length, the token in the query for apply (a form could carry it), another
// Host (a rebinding name), a GET to the apply route. The page serves nothing from elsewhere.
import t from 'tap';
import * as http from 'node:http';
import { loadScenario } from '../../src/mesh/load';
import { AccessRecords } from '../../src/runner/access-records';
import { startLivePage, LivePage, MAX_STREAMS, TOKEN_HEADER } from '../../src/console/page-server';
import { logger } from '../../src/telemetry/log';

const scenario = loadScenario('bookinfo-ambient');
const applied: string[] = [];
let page: LivePage;
let token = '';

t.before(async () => {
  page = await startLivePage(
    {
      scenario: () => scenario,
      records: new AccessRecords(),
      // The gate is under test here; the browser test applies through the real API server.
      apply: async (files) => {
        applied.push(files[0].text);
        return { lines: ['applied'] };
      },
      status: async () => ({ proxies: [] }),
      configDump: async (proxy) => ({ proxy }),
      log: logger('live-page', () => undefined),
    },
    0,
  );
  token = new URL(page.url).searchParams.get('token')!;
});
t.teardown(() => page?.stop());

function request(
  path: string,
  opts: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<{ status: number; body: string; headers: http.IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: '127.0.0.1', port: page.port, path, method: opts.method ?? 'GET', headers: { host: `127.0.0.1:${page.port}`, ...opts.headers }, agent: false },
      (res) => {
        let body = '';
        res.setEncoding('utf8').on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
      },
    );
    req.on('error', reject);
    req.end(opts.body);
  });
}

const YAML = 'apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: { name: deny-all, namespace: default }\nspec: {}\n';

t.test('the page and its API need the token', async (t) => {
  t.equal(page.url.startsWith('http://127.0.0.1:'), true, 'loopback only');
  t.match(token, /^[0-9a-f]{48}$/, '24 random bytes');
  for (const path of ['/', '/api/topology', '/api/graph', '/api/events', '/api/status', '/api/edge?from=a&to=b', '/favicon.ico']) {
    const r = await request(path);
    t.equal(r.status, 403, `${path} without the token`);
    t.notMatch(r.body, /productpage/, 'and says nothing of the mesh');
  }
  t.equal((await request(`/api/topology?token=${token.slice(0, -1)}0`)).status, 403, 'a wrong token');
  t.equal((await request(`/api/topology?token=${token}00`)).status, 403, 'a longer one');
  t.equal((await request('/api/topology', { headers: { authorization: `token ${token.slice(1)}` } })).status, 403, 'a shorter one');
  t.equal((await request('/api/topology', { headers: { cookie: `token=${token}` } })).status, 403, 'a cookie is no key: the page sets none');
  const ok = await request(`/?token=${token}`);
  t.equal(ok.status, 200);
  t.match(ok.headers['content-security-policy'], /default-src 'none'/, 'the page fetches nothing from elsewhere');
  t.notMatch(ok.body, /<script[^>]+src=|<link[^>]+href="http/, 'no script or style from a CDN');
  t.equal((await request('/api/topology', { headers: { authorization: `token ${token}` } })).status, 200, "Jupyter's Authorization: token");
});

t.test('another Host is refused, token or not (a rebinding name that resolves to loopback)', async (t) => {
  const r = await request(`/api/topology?token=${token}`, { headers: { host: `evil.example:${page.port}` } });
  t.equal(r.status, 403);
  t.equal((await request(`/api/topology?token=${token}`, { headers: { host: `localhost:${page.port}` } })).status, 200, 'localhost is the same origin');
});

t.test('apply needs the token in its header: the query (or nothing) applies nothing', async (t) => {
  t.equal((await request(`/api/apply?token=${token}`, { method: 'POST', body: YAML })).status, 403, 'token in the query: a form could send that');
  t.equal((await request('/api/apply', { method: 'POST', body: YAML })).status, 403, 'no token');
  t.equal((await request(`/api/apply?token=${token}`, { method: 'GET' })).status, 404, 'GET does not apply');
  t.same(applied, [], 'nothing applied');
  const r = await request('/api/apply', { method: 'POST', headers: { [TOKEN_HEADER]: token }, body: YAML });
  t.equal(r.status, 200);
  t.same(applied, [YAML], 'the page itself applies');
  t.equal((await request('/api/apply', { method: 'POST', headers: { [TOKEN_HEADER]: token }, body: '  \n' })).status, 400, 'nothing to apply');
  const big = 'x'.repeat(2 << 20);
  t.equal(
    (await request('/api/apply', { method: 'POST', headers: { [TOKEN_HEADER]: token }, body: big }).catch(() => ({ status: 413 }))).status,
    413,
    'bounded',
  );
});

t.test('the topology in the page cannot close its script element', async (t) => {
  const r = await request(`/?token=${token}`);
  const json = /<script type="application\/json" id="initial-topology">([\s\S]*?)<\/script>/.exec(r.body)?.[1] ?? '';
  t.notMatch(json, /</, 'every < escaped');
  t.equal(JSON.parse(json).nodes.length, 3);
});

t.test(`at most ${MAX_STREAMS} event streams at once`, async (t) => {
  const open: http.ClientRequest[] = [];
  const opened = await Promise.all(
    Array.from(
      { length: MAX_STREAMS + 1 },
      () =>
        new Promise<number>((resolve) => {
          const req = http.get(
            { host: '127.0.0.1', port: page.port, path: `/api/events?token=${token}`, headers: { host: `127.0.0.1:${page.port}` }, agent: false },
            (res) => resolve(res.statusCode ?? 0),
          );
          req.on('error', () => resolve(0));
          open.push(req);
        }),
    ),
  );
  t.equal(opened.filter((s) => s === 200).length, MAX_STREAMS);
  t.equal(opened.filter((s) => s === 503).length, 1);
  for (const r of open) r.destroy();
});
