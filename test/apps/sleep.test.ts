// sleep's exec server (addresses 127.40.4.x): /fetch and /tcp through a stand-in SOCKS5 capture.
import t from 'tap';
import * as http from 'node:http';
import { PORT_EXEC } from '../../src/mesh/ports';
import { startSleep } from '../../src/apps/sleep';
import { startEcho } from '../../src/apps/echo';
import { startSink } from '../../src/apps/sink';
import { startDetails } from '../../src/apps/bookinfo/details';
import { socksServer, SocksRoute } from './fixtures/socks-server';
import { context, get, pod } from './fixtures/pods';

const SLEEP_IP = '127.40.4.1';
const PROXY_IP = '127.40.4.100';
/** A 200 ms timeout, less the timer's own granularity. */
const TIMEOUT_FLOOR_MS = 199;
const exec = (path: string) => get(`http://${SLEEP_IP}:${PORT_EXEC}${path}`);

t.test('sleep', async (t) => {
  const routes: Record<string, SocksRoute> = {
    details: { forward: { host: '127.40.4.2', port: 9080 } },
    echo: { forward: { host: '127.40.4.3', port: 9000 } },
    sink: { forward: { host: '127.40.4.4', port: 9001 } },
    '10.8.0.9': { forward: { host: '127.40.4.5', port: 9080 } },
    productpage: { resetAfterAccept: true },
    reviews: { closeAfterAccept: true },
    ratings: { reply: 0x02 },
    slow: { hang: true },
  };
  const proxy = await socksServer(PROXY_IP, 0, (host) => routes[host]);
  const endpoint = { host: PROXY_IP, port: proxy.port };
  const sleepCtx = context(pod('sleep-7656cf8794-r7zb4', 'sleep', '10.40.4.1', 0), endpoint);
  const others = [
    context(pod('details-v1-0', 'details', '10.40.4.2', 9080), endpoint),
    context(pod('echo-v1-0', 'echo', '10.40.4.3', 9000), endpoint),
    context(pod('sink-v1-0', 'sink', '10.40.4.4', 9001), endpoint),
  ];
  const headersSeen: http.IncomingHttpHeaders[] = [];
  const mirror = http.createServer((req, res) => {
    headersSeen.push(req.headers);
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => res.writeHead(201, { 'x-mirror': '1' }).end(`${req.method} ${body}`));
  });
  await new Promise<void>((r) => mirror.listen(9080, '127.40.4.5', r));
  const apps = [await startSleep(sleepCtx), await startDetails(others[0]), await startEcho(others[1]), await startSink(others[2])];
  t.teardown(async () => {
    for (const a of apps) await a.close();
    for (const c of [sleepCtx, ...others]) c.meshAgent.destroy();
    mirror.closeAllConnections();
    await new Promise((r) => mirror.close(r));
    await proxy.close();
  });

  t.test('/fetch: status, headers, body, bytes and a float timeMs', async (t) => {
    const r = await exec(`/fetch?url=${encodeURIComponent('http://details:9080/details/0')}`);
    t.equal(r.status, 200);
    const out = JSON.parse(r.body);
    t.equal(out.status, 200);
    t.equal(out.headers['content-type'], 'application/json');
    t.equal(JSON.parse(out.body).author, 'William Shakespeare');
    t.equal(out.bytes, Buffer.byteLength(out.body));
    t.type(out.timeMs, 'number');
    t.ok(out.timeMs > 0 && !Number.isInteger(out.timeMs), `high-resolution time (${out.timeMs} ms)`);
    t.notOk('error' in out);
    t.equal(proxy.seen.at(-1)!.host, 'details', 'sent by name through the pod capture');
    t.equal(proxy.seen.at(-1)!.from, SLEEP_IP, 'from the pod address');
  });

  t.test('/fetch: method, headers and body; each fetch a fresh connection', async (t) => {
    const before = proxy.connections;
    const q = new URLSearchParams({ url: 'http://10.8.0.9:9080/anything', method: 'post', body: 'hi' });
    q.append('header', 'x-request-id: abc:1');
    q.append('header', 'end-user:jason');
    const out = JSON.parse((await exec(`/fetch?${q}`)).body);
    t.equal(out.status, 201);
    t.equal(out.body, 'POST hi');
    t.equal(out.headers['x-mirror'], '1');
    t.equal(headersSeen.at(-1)!['x-request-id'], 'abc:1');
    t.equal(headersSeen.at(-1)!['end-user'], 'jason');
    await exec(`/fetch?${q}`);
    t.equal(proxy.connections - before, 2, 'like curl, no connection reuse across fetches');
    t.equal(proxy.seen.at(-1)!.atyp, 0x01, 'a VIP goes as an IPv4 address');
  });

  t.test('/fetch: a connection reset by the mesh is status 0 with the error', async (t) => {
    const r = await exec(`/fetch?url=${encodeURIComponent('http://productpage:9080/productpage')}`);
    t.equal(r.status, 200, 'the exec server itself answers 200');
    const out = JSON.parse(r.body);
    t.equal(out.status, 0);
    t.match(out.error, /ECONNRESET|socket hang up/);
    t.type(out.timeMs, 'number');
  });

  t.test('/fetch: a connection closed by the mesh after the reply is status 0, socket hang up', async (t) => {
    const out = JSON.parse((await exec(`/fetch?url=${encodeURIComponent('http://reviews:9080/reviews/0')}`)).body);
    t.equal(out.status, 0);
    t.equal(out.error, 'ECONNRESET: socket hang up');
  });

  t.test('/fetch: a SOCKS5 refusal is status 0 naming the reply', async (t) => {
    const out = JSON.parse((await exec(`/fetch?url=${encodeURIComponent('http://ratings:9080/ratings/0')}`)).body);
    t.equal(out.status, 0);
    t.match(out.error, /0x02 connection not allowed by ruleset/);
  });

  t.test('/fetch: usage errors are 400', async (t) => {
    t.equal((await exec('/fetch')).status, 400);
    t.equal((await exec('/fetch?url=http://details:9080/&header=nocolon')).status, 400);
    const https = JSON.parse((await exec(`/fetch?url=${encodeURIComponent('https://details:9080/')}`)).body);
    t.equal(https.status, 0);
    t.match(https.error, /plain http only/);
  });

  t.test('/tcp: echo returns the text, sink the count, refusals are reported', async (t) => {
    const echo = JSON.parse((await exec('/tcp?target=echo:9000&send=hello%20mesh')).body);
    t.equal(echo.received, 'hello mesh');
    t.equal(echo.bytes, 10);
    t.type(echo.timeMs, 'number');
    t.notOk('error' in echo);

    const sink = JSON.parse((await exec('/tcp?target=sink:9001&send=12345')).body);
    t.equal(sink.received, '5');

    const denied = JSON.parse((await exec('/tcp?target=ratings:9080&send=x')).body);
    t.equal(denied.bytes, 0);
    t.match(denied.error, /connection not allowed by ruleset/);

    const reset = JSON.parse((await exec('/tcp?target=productpage:9080&send=x')).body);
    t.match(reset.error, /ECONNRESET/);

    t.equal((await exec('/tcp?target=nonsense')).status, 400);
  });

  t.test('timeoutMs bounds both commands', async (t) => {
    const fetch = JSON.parse((await exec('/fetch?url=http://slow:9080/&timeoutMs=200')).body);
    t.equal(fetch.status, 0);
    t.match(fetch.error, /ETIMEDOUT/);
    // The app times from its own clock reading, a moment after the timer was set: a 200 ms timer
    // can measure 199.95 ms (seen in CI), so the floor allows a millisecond of that.
    t.ok(fetch.timeMs >= TIMEOUT_FLOOR_MS && fetch.timeMs < 2000, `gave up after ${fetch.timeMs} ms`);
    const tcp = JSON.parse((await exec('/tcp?target=slow:9000&send=x&timeoutMs=200')).body);
    t.match(tcp.error, /ETIMEDOUT/);
    t.equal((await exec('/tcp?target=echo:9000&timeoutMs=-1')).status, 400);
  });
});
