// Request smuggling through the waypoint (issue 9, section 1): a body the waypoint forwarded
// must reach the pod framed, so what the pod parses is exactly the requests the waypoint routed
// and authorized, one for one. The pod here is a stand-in with a real HTTP/1.1 parser that
// records every request it parsed; the probe Service has a DENY rule for /secret.
import t from 'tap';
import { startMesh, Mesh } from '../fixtures/scenario-mesh';
import { waypointAddresses, waypointScenario, PODS } from '../waypoint/fixtures/scenario';
import { standInPod, StandInPod } from './fixtures/stand-in-pod';
import * as net from 'node:net';
import { exchange, chunked, parseResponses } from './fixtures/raw-http';
import { watch } from './fixtures/health';
import { PATH_SLOW, PATH_TRUNCATE } from './fixtures/stand-in-pod';
import { hostAddress } from '../../src/mesh/model';
import { parsePromText, sumSamples } from '../../src/telemetry/prom-text';

const N = 105;
const A = waypointAddresses(N);
const CAPTURE = { host: A.capture.host, port: A.capture.probe };
const HOST = 'probe:8080';
const INNER = `GET /secret HTTP/1.1\r\nhost: ${HOST}\r\n\r\n`;
const METHODS = ['GET', 'HEAD', 'DELETE', 'OPTIONS', 'POST', 'PUT', 'PATCH'] as const;

let mesh: Mesh;
let pod: StandInPod;

t.before(async () => {
  mesh = await startMesh(waypointScenario(N), 'hostile-framing', ['ztunnel-node-d']);
  pod = await standInPod({ caDir: mesh.caDir, ip: A.pod.probe, namespace: 'default', serviceAccount: 'probe' });
});
t.teardown(async () => {
  await pod?.close().catch(() => undefined);
  await mesh?.stop();
});

/** A chunked request whose body is a whole second request. */
function smuggling(method: string, path = '/health'): string {
  return `${method} ${path} HTTP/1.1\r\nhost: ${HOST}\r\ntransfer-encoding: chunked\r\n\r\n${chunked(INNER)}`;
}

async function flowing(): Promise<void> {
  const r = await exchange(`GET /ok HTTP/1.1\r\nhost: ${HOST}\r\n\r\n`, { ...CAPTURE, expect: 1 });
  if (r.responses[0]?.status !== 200) throw new Error(`other traffic stopped: ${JSON.stringify(r)}`);
}

t.test('the inner request alone is denied by the waypoint', async (t) => {
  const victim = watch(mesh, PODS.waypoint);
  pod.reset();
  const r = await exchange(INNER, { ...CAPTURE, expect: 1 });
  t.equal(r.responses[0]?.status, 403, 'GET /secret: 403');
  t.equal(pod.seen.length, 0, 'the pod saw nothing');
  await victim.check(t, flowing);
});

for (const method of METHODS) {
  t.test(`${method} with a chunked body holding a request: the pod sees one ${method}, the inner request only as body`, async (t) => {
    const victim = watch(mesh, PODS.waypoint);
    pod.reset();
    const r = await exchange(smuggling(method), { ...CAPTURE, expect: 1, headOnly: () => method === 'HEAD' });
    t.equal(r.responses[0]?.status, 200, `${method} answered 200`);
    await new Promise((res) => setTimeout(res, 100));
    t.same(
      pod.seen.map((s) => ({ method: s.method, url: s.url, body: s.body })),
      [{ method, url: '/health', body: INNER }],
      'exactly the authorized request, its body intact',
    );
    await victim.check(t, flowing);
  });
}

t.test('100 pipelined smuggling requests: the pod parses exactly 100, in order', async (t) => {
  const victim = watch(mesh, PODS.waypoint);
  pod.reset();
  const sent: Array<{ method: string; url: string }> = [];
  let bytes = '';
  for (let i = 0; i < 100; i++) {
    const method = METHODS[i % METHODS.length];
    sent.push({ method, url: `/health/${i}` });
    bytes += smuggling(method, `/health/${i}`);
  }
  const r = await exchange(bytes, { ...CAPTURE, expect: 100, headOnly: (i) => sent[i].method === 'HEAD', timeoutMs: 30_000 });
  t.equal(r.responses.length, 100, '100 responses');
  t.ok(
    r.responses.every((x) => x.status === 200),
    'every one 200',
  );
  await new Promise((res) => setTimeout(res, 100));
  t.equal(pod.seen.length, 100, 'the pod parsed exactly 100 requests');
  t.same(
    pod.seen.map((s) => ({ method: s.method, url: s.url })),
    sent,
    'the same requests the waypoint authorized, in order (one at a time, as Envoy reads them)',
  );
  t.ok(
    pod.seen.every((s) => s.body === INNER),
    'each inner request arrived as a body',
  );
  await victim.check(t, flowing);
});

/** What the waypoint's istio_requests_total says, summed over every label but these. */
async function requestsBy(flags: string, code: string): Promise<number> {
  const samples = parsePromText((await mesh.get(`http://${hostAddress(A.pod.waypoint)}:15020/metrics`)).body);
  return sumSamples(samples, 'istio_requests_total', { response_flags: flags, response_code: code });
}

const BAD_CHUNKS: Array<[string, string]> = [
  ['an invalid chunk size', 'zz\r\nhello\r\n0\r\n\r\n'],
  ['an overflowing chunk size', 'ffffffffffffffffffff\r\nhello\r\n0\r\n\r\n'],
  ['a chunk size with a bare LF', '5\nhello\r\n0\r\n\r\n'],
];
for (const [what, body] of BAD_CHUNKS) {
  t.test(`${what}: 400 at once, the connection closed, the pod's request reset`, async (t) => {
    const victim = watch(mesh, PODS.waypoint);
    pod.reset();
    const dpeBefore = await requestsBy('DPE', '400');
    const openBefore = pod.tunnels.open;
    // A first chunk that is fine, so the request is on its way to the pod before the bad one.
    const head = `POST /upload HTTP/1.1\r\nhost: ${HOST}\r\ntransfer-encoding: chunked\r\n\r\n4\r\nabcd\r\n`;
    const r = await exchange(head + body, { ...CAPTURE, timeoutMs: 10_000 });
    t.equal(r.responses[0]?.status, 400, '400 Bad Request');
    t.equal(r.responses[0]?.headers.connection, 'close', 'connection: close');
    t.equal(r.ended, 'closed', 'then the connection closes (not held open)');
    t.equal(pod.seen.length, 0, 'the pod never saw a complete request');
    // The pod's half-read request went with its connection, not left waiting for more body.
    for (let i = 0; i < 50 && pod.tunnels.open > openBefore; i++) await new Promise((res) => setTimeout(res, 100));
    t.ok(pod.tunnels.open <= openBefore, `the upstream connection was closed (${pod.tunnels.open} open, ${openBefore} before)`);
    t.equal((await requestsBy('DPE', '400')) - dpeBefore, 1, 'counted once as 400 DPE');
    await victim.check(t, flowing);
  });
}

const REFUSED_HEADS: Array<[string, string]> = [
  ['content-length with transfer-encoding', `POST /x HTTP/1.1\r\nhost: ${HOST}\r\ncontent-length: 4\r\ntransfer-encoding: chunked\r\n\r\n0\r\n\r\n`],
  ['two content-lengths', `POST /x HTTP/1.1\r\nhost: ${HOST}\r\ncontent-length: 4\r\ncontent-length: 40\r\n\r\nabcd`],
  ['an obs-fold header', `GET /x HTTP/1.1\r\nhost: ${HOST}\r\nx-a: 1\r\n  folded\r\n\r\n`],
  ['a bare LF line end', `GET /x HTTP/1.1\nhost: ${HOST}\n\n`],
  ['transfer-encoding not ending in chunked', `POST /x HTTP/1.1\r\nhost: ${HOST}\r\ntransfer-encoding: chunked, identity\r\n\r\n0\r\n\r\n`],
  ['a space before the colon', `POST /x HTTP/1.1\r\nhost: ${HOST}\r\ntransfer-encoding : chunked\r\n\r\n0\r\n\r\n`],
  ['a CR inside a header value', `GET /x HTTP/1.1\r\nhost: ${HOST}\r\nx-a: 1\rGET /secret HTTP/1.1\r\n\r\n`],
];
for (const [what, bytes] of REFUSED_HEADS) {
  t.test(`${what}: 400, nothing reaches the pod`, async (t) => {
    const victim = watch(mesh, PODS.waypoint);
    pod.reset();
    const r = await exchange(bytes + INNER, { ...CAPTURE });
    t.equal(r.responses[0]?.status, 400, '400');
    t.equal(r.responses.length, 1, 'one answer only: nothing after the bad bytes was read as a request');
    t.equal(r.ended, 'closed', 'the connection closes');
    t.equal(pod.seen.length, 0, 'the pod saw nothing');
    await victim.check(t, flowing);
  });
}

t.test('a good request, then garbage: the good one is answered first, then 400, and nothing after', async (t) => {
  const victim = watch(mesh, PODS.waypoint);
  pod.reset();
  const r = await exchange(`GET /first HTTP/1.1\r\nhost: ${HOST}\r\n\r\nNOT HTTP AT ALL\r\n\r\n${INNER}`, { ...CAPTURE });
  t.same(
    r.responses.map((x) => x.status),
    [200, 400],
    '200, then 400',
  );
  t.same(
    pod.seen.map((s) => s.url),
    ['/first'],
    'the pod saw the first request only',
  );
  await victim.check(t, flowing);
});

t.test('a bad chunk in the second of two pipelined requests: the first answered, the second 400', async (t) => {
  const victim = watch(mesh, PODS.waypoint);
  pod.reset();
  const good = `POST /one HTTP/1.1\r\nhost: ${HOST}\r\ntransfer-encoding: chunked\r\n\r\n${chunked('one')}`;
  const bad = `POST /two HTTP/1.1\r\nhost: ${HOST}\r\ntransfer-encoding: chunked\r\n\r\nzz\r\n`;
  const r = await exchange(good + bad + INNER, { ...CAPTURE });
  t.same(
    r.responses.map((x) => x.status),
    [200, 400],
    '200, then 400',
  );
  t.equal(r.ended, 'closed', 'the connection closes');
  t.same(
    pod.seen.map((s) => s.url),
    ['/one'],
    'the pod completed the first request only',
  );
  await victim.check(t, flowing);
});

t.test('absolute-form target with another Host: RBAC and the pod see the same path and host', async (t) => {
  const victim = watch(mesh, PODS.waypoint);
  pod.reset();
  const r = await exchange(`GET http://${HOST}/secret HTTP/1.1\r\nhost: elsewhere\r\n\r\n`, { ...CAPTURE, expect: 1 });
  t.equal(r.responses[0]?.status, 403, 'http://probe:8080/secret is /secret: denied');
  const ok = await exchange(`GET http://${HOST}/fine?q=1 HTTP/1.1\r\nhost: elsewhere\r\n\r\n`, { ...CAPTURE, expect: 1 });
  t.equal(ok.responses[0]?.status, 200, 'an allowed absolute-form request');
  t.same(
    pod.seen.map((s) => [s.url, s.headers.host]),
    [['/fine?q=1', HOST]],
    'the pod got the origin form and the authority the waypoint matched',
  );
  await victim.check(t, flowing);
});

t.test('CONNECT inside the tunnel: 404, connection closed, nothing upstream', async (t) => {
  const victim = watch(mesh, PODS.waypoint);
  pod.reset();
  const r = await exchange(`CONNECT 10.0.0.1:22 HTTP/1.1\r\nhost: 10.0.0.1:22\r\n\r\n${INNER}`, { ...CAPTURE });
  t.equal(r.responses[0]?.status, 404, '404 route not found');
  t.equal(r.ended, 'closed', 'the connection closes');
  t.equal(pod.seen.length, 0, 'the pod saw nothing');
  await victim.check(t, flowing);
});

t.test('Upgrade: h2c is not passed on: the pod sees a plain request, no upgrade', async (t) => {
  const victim = watch(mesh, PODS.waypoint);
  pod.reset();
  const r = await exchange(
    `GET /up HTTP/1.1\r\nhost: ${HOST}\r\nconnection: Upgrade, HTTP2-Settings\r\nupgrade: h2c\r\nhttp2-settings: AAMAAABkAAQAoAAAAAIAAAAA\r\n\r\n`,
    { ...CAPTURE, expect: 1 },
  );
  t.equal(r.responses[0]?.status, 200, 'answered as a plain request');
  t.equal(pod.seen.length, 1, 'one request');
  t.notOk(pod.seen[0]?.headers.upgrade, 'no upgrade header reached the pod');
  t.notOk(pod.seen[0]?.headers['http2-settings'], 'no http2-settings header reached the pod (listed in Connection)');
  await victim.check(t, flowing);
});

t.test('a response the pod cuts short: the client sees a reset, never a clean short end (UC)', async (t) => {
  const victim = watch(mesh, PODS.waypoint);
  const before = await requestsBy('UC', '200');
  const r = await exchange(`GET ${PATH_TRUNCATE} HTTP/1.1\r\nhost: ${HOST}\r\n\r\n`, { ...CAPTURE });
  t.equal(r.responses.length, 0, 'no complete response');
  t.match(r.rest, /^HTTP\/1\.1 200/, 'the response had started');
  t.equal(r.ended, 'ECONNRESET', 'the client connection was reset');
  t.equal((await requestsBy('UC', '200')) - before, 1, 'counted as 200 UC');
  await victim.check(t, flowing);
});

t.test('the client goes away before the response: DC, response_code 0, the pod connection not leaked', async (t) => {
  const victim = watch(mesh, PODS.waypoint);
  const before = await requestsBy('DC', '0');
  const openBefore = pod.tunnels.open;
  const r = await exchange(`GET ${PATH_SLOW}1500 HTTP/1.1\r\nhost: ${HOST}\r\n\r\n`, { ...CAPTURE, timeoutMs: 300 });
  t.equal(r.responses.length, 0, 'left before the answer');
  let dc = 0;
  for (let i = 0; i < 50 && dc === 0; i++) {
    await new Promise((res) => setTimeout(res, 100));
    dc = (await requestsBy('DC', '0')) - before;
  }
  t.equal(dc, 1, 'counted as response_code 0, DC');
  for (let i = 0; i < 50 && pod.tunnels.open > openBefore; i++) await new Promise((res) => setTimeout(res, 100));
  t.ok(pod.tunnels.open <= openBefore, 'the upstream request was cut with it (its connection closed)');
  await victim.check(t, flowing);
});

t.test("a client that half-closes after its request: Envoy's answer, the FIN ends the connection (DC)", async (t) => {
  const victim = watch(mesh, PODS.waypoint);
  pod.reset();
  const before = await requestsBy('DC', '0');
  const r = await exchange(`GET ${PATH_SLOW}300 HTTP/1.1\r\nhost: ${HOST}\r\n\r\n`, { ...CAPTURE, end: true });
  t.equal(r.responses.length, 0, 'no answer: the connection manager took the FIN as the client leaving (envoyproxy/envoy#2066)');
  t.equal(r.ended, 'closed', 'and closed the connection');
  let dc = 0;
  for (let i = 0; i < 30 && dc === 0; i++) {
    await new Promise((res) => setTimeout(res, 100));
    dc = (await requestsBy('DC', '0')) - before;
  }
  t.equal(dc, 1, 'logged as response_code 0, DC');
  await victim.check(t, flowing);
});

t.test('a FIN inside a request is the client leaving, not a protocol error: no 400 counted', async (t) => {
  const victim = watch(mesh, PODS.waypoint);
  pod.reset();
  const dpeBefore = await requestsBy('DPE', '400');
  const dcBefore = await requestsBy('DC', '0');
  // A head cut short: Envoy has no stream yet, so nothing is answered or counted.
  const head = await exchange(`GET /ok HTTP/1.1\r\nhost: ${HOST}\r\nx-a: 1`, { ...CAPTURE, end: true });
  t.equal(head.responses.length, 0, 'a head cut short: no answer');
  t.equal(head.ended, 'closed');
  // A body cut short: the request under way is reset, as Envoy reports a downstream that left.
  const body = await exchange(`POST /ok HTTP/1.1\r\nhost: ${HOST}\r\ncontent-length: 100\r\n\r\nabc`, { ...CAPTURE, end: true });
  t.equal(body.responses.length, 0, 'a body cut short: no answer');
  let dc = 0;
  for (let i = 0; i < 30 && dc === 0; i++) {
    await new Promise((res) => setTimeout(res, 100));
    dc = (await requestsBy('DC', '0')) - dcBefore;
  }
  t.equal(dc, 1, 'the cut body: response_code 0, DC');
  t.equal((await requestsBy('DPE', '400')) - dpeBefore, 0, 'no 400 DPE for either (autocannon closing its connections showed as 400s on the live page)');
  t.equal(pod.seen.filter((r) => r.method === 'GET').length, 0, 'the cut head reached no pod');
  await victim.check(t, flowing);
});

t.test('garbage keeps coming while a response is pending: one 400 after the answer, the waypoint stays responsive', async (t) => {
  const victim = watch(mesh, PODS.waypoint);
  pod.reset();
  const s = net.connect({ host: CAPTURE.host, port: CAPTURE.port });
  let data = '';
  s.on('data', (c: Buffer) => (data += c.toString('latin1')));
  s.on('error', () => undefined);
  const closed = new Promise<void>((r) => s.on('close', () => r()));
  s.write(`GET ${PATH_SLOW}800 HTTP/1.1\r\nhost: ${HOST}\r\n\r\n`);
  // 2,000 chunks of garbage while the first request waits for its slow answer.
  for (let i = 0; i < 2000 && !s.destroyed; i++) {
    s.write(`garbage ${i} \x00\x01\r\n`);
    if (i % 100 === 0) {
      await new Promise((r) => setTimeout(r, 20));
      // Other traffic is served meanwhile: the waypoint is not wedged on this connection.
      if (i === 1000) await flowing();
    }
  }
  await Promise.race([closed, new Promise((r) => setTimeout(r, 10_000))]);
  s.destroy();
  const { responses } = parseResponses(data);
  t.same(
    responses.map((x) => x.status),
    [200, 400],
    'the pending request answered, then one 400',
  );
  t.same(
    pod.seen.map((x) => x.url).filter((u) => u !== '/ok'),
    [`${PATH_SLOW}800`],
    'nothing of the garbage reached the pod',
  );
  await victim.check(t, flowing);
});
