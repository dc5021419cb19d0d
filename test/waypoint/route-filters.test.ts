// HTTPRoute filters, timeouts and retries at the waypoint, with real processes on the 10.85
// block: sleep's port capture -> ztunnel-node-a -> waypoint -> the probe pod. Node D runs no
// ztunnel: this test serves the probe pod's :15008 itself (as l7.test.ts does), so it sees each
// CONNECT the waypoint originates and the HTTP request inside, and answers as each test needs:
// late, with 503, or by refusing the CONNECT. The route is in fixtures/route-filters-scenario.ts.
import t from 'tap';
import * as http from 'node:http';
import { hostAddress } from '../../src/mesh/model';
import { loadOrCreateCa } from '../../src/identity/ca-store';
import { WorkloadCertificate } from '../../src/identity/workload-cert';
import { makeSpiffeId } from '../../src/identity/spiffe';
import { HboneServer } from '../../src/hbone/server';
import { formatAuthority } from '../../src/hbone/authority';
import { logger } from '../../src/telemetry/log';
import { parsePromText, sumSamples } from '../../src/telemetry/prom-text';
import { Mesh, startMesh } from '../fixtures/scenario-mesh';
import { ROUTE_PATHS, ROUTE_TIMEOUT_MS, routeFiltersAddresses, routeFiltersScenario } from './fixtures/route-filters-scenario';

const N = 85;
const A = routeFiltersAddresses(N);
const BODY_TIMEOUT = 'upstream request timeout';
const BODY_CONNECT_FAILURE = 'upstream connect error or disconnect/reset before headers. reset reason: connection failure';
/** How late the probe answers /slow: far beyond the route's 300 ms. */
const SLOW_ANSWER_MS = 2000;

let mesh: Mesh | undefined;
let probeServer: HboneServer | undefined;
let probeCert: WorkloadCertificate | undefined;

/** The HTTP request the probe read inside one tunnel. */
interface ProbeRequest {
  readonly method: string;
  readonly path: string;
  /** Lower-case names; every line of a repeated header. */
  readonly headers: Readonly<Record<string, readonly string[]>>;
}

/** What the stand-in for ztunnel-node-d saw of one CONNECT to the probe pod. */
interface SeenConnect {
  readonly authority: string;
  readonly rejected: boolean;
  request?: ProbeRequest;
  /** The waypoint closed the stream after sending a request and before the probe answered it. */
  cut?: boolean;
}

interface Answer {
  readonly status: number;
  readonly body?: string;
  readonly delayMs?: number;
}

interface ProbePlan {
  /** Per CONNECT, counted from 0 since the last resetProbe. */
  connect(index: number): 'accept' | 'reject';
  /** Per HTTP request, counted from 0 since the last resetProbe. */
  answer(request: ProbeRequest, index: number): Answer;
}

const DEFAULT_PLAN: ProbePlan = {
  connect: () => 'accept',
  answer: (request) => ({ status: 200, body: JSON.stringify(request) }),
};

let plan: ProbePlan = DEFAULT_PLAN;
const seen: SeenConnect[] = [];
const timers = new Set<NodeJS.Timeout>();

function resetProbe(p: Partial<ProbePlan> = {}): void {
  seen.length = 0;
  plan = { ...DEFAULT_PLAN, ...p };
}

const requestsSeen = (): ProbeRequest[] => seen.flatMap((s) => (s.request ? [s.request] : []));

function parseHead(head: string): ProbeRequest {
  const lines = head.slice(0, head.indexOf('\r\n\r\n')).split('\r\n');
  const [method = '', path = ''] = (lines[0] ?? '').split(' ');
  const headers: Record<string, string[]> = {};
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    (headers[name] ??= []).push(line.slice(colon + 1).trim());
  }
  return { method, path, headers };
}

/** A header's values as a list: repeated lines and comma-joined values alike. */
function values(request: ProbeRequest | undefined, name: string): string[] | undefined {
  const v = request?.headers[name];
  return v?.flatMap((x) => x.split(',').map((s) => s.trim()));
}

t.before(async () => {
  mesh = await startMesh(routeFiltersScenario(N), 'waypoint-route-filters', ['ztunnel-node-d']);
  const ca = await loadOrCreateCa(mesh.caDir);
  probeCert = await WorkloadCertificate.obtain(makeSpiffeId('default', 'probe'), ca);
  const server = new HboneServer({
    address: hostAddress(A.pod.probe),
    certificate: probeCert,
    log: logger('test-probe', () => undefined),
    handler: (conn) => {
      const index = seen.length;
      const rejected = plan.connect(index) === 'reject';
      const s: SeenConnect = { authority: formatAuthority(conn.authority.host, conn.authority.port), rejected };
      seen.push(s);
      if (rejected) return conn.reject(503, 'test: the probe refuses this CONNECT');
      const stream = conn.accept();
      let head = '';
      let answered = false;
      let timer: NodeJS.Timeout | undefined;
      stream.on('error', () => undefined);
      stream.on('close', () => {
        if (s.request && !answered) s.cut = true;
        if (timer) {
          clearTimeout(timer);
          timers.delete(timer);
        }
      });
      stream.on('data', (chunk: Buffer) => {
        if (s.request) return;
        head += chunk.toString('latin1');
        if (!head.includes('\r\n\r\n')) return;
        const request = parseHead(head);
        s.request = request;
        const answer = plan.answer(request, requestsSeen().length - 1);
        const send = (): void => {
          answered = true;
          if (stream.destroyed || stream.closed) return;
          const body = answer.body ?? '';
          stream.end(
            `HTTP/1.1 ${answer.status} ${http.STATUS_CODES[answer.status] ?? 'Unknown'}\r\ncontent-type: text/plain\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
          );
        };
        if (!answer.delayMs) return send();
        const tm = setTimeout(() => {
          timers.delete(tm);
          send();
        }, answer.delayMs);
        timer = tm;
        timers.add(tm);
      });
    },
  });
  await server.listen();
  probeServer = server;
});

t.teardown(async () => {
  // Each step on its own: a probe that never listened must not keep the mesh running.
  for (const tm of timers) clearTimeout(tm);
  timers.clear();
  await probeServer?.close(0).catch(() => undefined);
  probeCert?.stop();
  await mesh?.stop();
});

interface Reply {
  readonly status: number;
  readonly body: string;
  readonly ms: number;
}

/** One request on a fresh connection to sleep's capture of probe:8080. */
function get(path: string, headers: Record<string, string> = {}): Promise<Reply> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const req = http.get(
      { host: A.capture.host, port: A.capture.probe, path, headers: { host: 'probe:8080', ...headers }, agent: false, timeout: 10_000 },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8'), ms: performance.now() - started }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`GET ${path} not answered in 10 s`)));
    req.on('error', reject);
  });
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** istio_requests_total of the waypoint for the probe, by response_flags and code. */
async function requestsFlagged(flags: string, code: string): Promise<number> {
  const text = await new Promise<string>((resolve, reject) => {
    http
      .get({ host: hostAddress(A.pod.waypoint), port: 15020, path: '/metrics', agent: false }, (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c));
        res.on('end', () => resolve(body));
      })
      .on('error', reject);
  });
  return sumSamples(parsePromText(text), 'istio_requests_total', { response_flags: flags, response_code: code });
}

/** Waits up to `ms` for a condition on what the probe saw. */
async function until(cond: () => boolean, ms: number): Promise<boolean> {
  const end = performance.now() + ms;
  while (!cond() && performance.now() < end) await sleep(10);
  return cond();
}

t.test('RequestHeaderModifier: set, add and remove reach the pod as the rule says', async (t) => {
  resetProbe();
  const r = await get(`${ROUTE_PATHS.headers}/a`, { 'x-set': 'from-client', 'x-remove': 'from-client', 'x-keep': 'kept' });
  t.equal(r.status, 200, 'answered by the probe through the waypoint');
  t.equal(seen.length, 1, 'one CONNECT reached node D');
  const req = seen[0]?.request;
  t.equal(seen[0]?.authority, `${A.pod.probe}:8080`, 'to the probe pod ip:targetPort');
  t.equal(req?.path, `${ROUTE_PATHS.headers}/a`);
  t.same(req?.headers['x-set'], ['one'], 'x-set: set replaces the value the client sent');
  t.same(req?.headers['x-add'], ['two'], 'x-add: added');
  t.notOk('x-remove' in (req?.headers ?? {}), 'x-remove: removed, although the client sent it');
  t.same(req?.headers['x-keep'], ['kept'], 'a header the filter does not name passes unchanged');
  t.same(req?.headers.host, ['probe:8080'], 'the Host header is kept');

  // add appends to a value the client sent (one header line or two: the same list).
  resetProbe();
  const appended = await get(ROUTE_PATHS.headers, { 'x-add': 'first' });
  t.equal(appended.status, 200);
  t.same(values(seen[0]?.request, 'x-add'), ['first', 'two'], "add keeps the client's x-add and appends two");
  t.same(seen[0]?.request?.headers['x-set'], ['one'], 'x-set set when the client sent none');

  // The filter belongs to its rule: a request the catch-all rule routes is not modified.
  resetProbe();
  const other = await get('/plain', { 'x-remove': 'from-client' });
  t.equal(other.status, 200);
  const plain = seen[0]?.request;
  t.equal(plain?.path, '/plain');
  t.same(plain?.headers['x-remove'], ['from-client'], 'x-remove passes on a rule without the filter');
  t.notOk('x-set' in (plain?.headers ?? {}), 'no x-set on a rule without the filter');
  t.notOk('x-add' in (plain?.headers ?? {}), 'no x-add on a rule without the filter');
});

t.test('timeouts.request: a late upstream gets 504 upstream request timeout, once', async (t) => {
  resetProbe({ answer: () => ({ status: 200, body: 'too late', delayMs: SLOW_ANSWER_MS }) });
  const r = await get(ROUTE_PATHS.slow);
  t.equal(r.status, 504, '504 from the waypoint');
  t.equal(r.body, BODY_TIMEOUT, "Envoy's body");
  // A hang bound, not a speed target: the answer must not wait for the probe's 2 s.
  t.ok(r.ms < 1500, `answered in ${r.ms.toFixed(0)} ms, well before the probe's ${SLOW_ANSWER_MS} ms`);
  t.ok(r.ms >= ROUTE_TIMEOUT_MS - 20, `not before the ${ROUTE_TIMEOUT_MS} ms timeout (${r.ms.toFixed(0)} ms)`);
  // The route timeout covers the whole request, retries included: once it fires Envoy answers
  // 504 and tries no more, even under Istio's default retry policy (this rule has no stanza).
  await sleep(200);
  t.equal(requestsSeen().length, 1, `the probe saw one request (saw ${requestsSeen().length}: ${seen.length} CONNECTs)`);
  t.ok(await until(() => seen[0]?.cut === true, 1000), 'the waypoint reset the upstream stream when the timeout fired');
});

t.test('retry {attempts: 2, codes: [503]}: two 503s then 200 -> 200 after 3 tries', async (t) => {
  resetProbe({ answer: (_r, i) => (i < 2 ? { status: 503, body: `503 number ${i + 1}` } : { status: 200, body: 'third time lucky' }) });
  const r = await get(ROUTE_PATHS.flaky);
  t.equal(r.status, 200, 'the client sees the 200');
  t.equal(r.body, 'third time lucky', 'with the body of the third answer');
  await sleep(100);
  t.same(
    requestsSeen().map((q) => `${q.method} ${q.path}`),
    [`GET ${ROUTE_PATHS.flaky}`, `GET ${ROUTE_PATHS.flaky}`, `GET ${ROUTE_PATHS.flaky}`],
    'the probe saw 3 requests, each its own CONNECT',
  );
  t.equal(seen.length, 3);
});

t.test('retry {attempts: 1, codes: [503]}: two 503s -> 503 after 2 tries', async (t) => {
  resetProbe({ answer: (_r, i) => (i < 2 ? { status: 503, body: `503 number ${i + 1}` } : { status: 200, body: 'never asked' }) });
  const urxBefore = await requestsFlagged('URX', '503');
  const r = await get(ROUTE_PATHS.flakyOnce);
  t.equal((await requestsFlagged('URX', '503')) - urxBefore, 1, "counted with Envoy's URX: the retries ran out");
  t.equal(r.status, 503, 'the client sees the last 503');
  t.equal(r.body, '503 number 2', "it is the probe's second answer, passed through");
  await sleep(200);
  t.equal(requestsSeen().length, 2, 'the probe saw 2 requests, no third');
});

t.test("Istio's default retry (no retry stanza): 503 answers are retried twice", async (t) => {
  resetProbe({ answer: (_r, i) => ({ status: 503, body: `503 number ${i + 1}` }) });
  const r = await get('/always-503');
  t.equal(r.status, 503);
  t.equal(r.body, '503 number 3', 'the third answer is passed through');
  await sleep(200);
  t.equal(requestsSeen().length, 3, 'one try and 2 retries');
});

t.test("Istio's default retry (no retry stanza): a refused CONNECT is retried", async (t) => {
  resetProbe({ connect: (i) => (i === 0 ? 'reject' : 'accept') });
  const r = await get('/connect-retry');
  t.equal(r.status, 200, 'the client gets 200');
  t.equal(seen.length, 2, 'the probe saw 2 CONNECTs');
  t.equal(seen[0]?.rejected, true, 'the first refused with 503');
  t.equal(seen[0]?.request, undefined, 'no request went into the refused one');
  t.equal(seen[1]?.request?.path, '/connect-retry', 'the request went into the second');

  // Every CONNECT refused: 3 tries, then the connect-failure 503.
  resetProbe({ connect: () => 'reject' });
  const ufBefore = await requestsFlagged('UF,URX', '503');
  const failed = await get('/connect-retry');
  t.equal((await requestsFlagged('UF,URX', '503')) - ufBefore, 1, 'counted as UF,URX: connect failures until the retries ran out');
  t.equal(failed.status, 503);
  t.equal(failed.body, BODY_CONNECT_FAILURE, "Envoy's connect-failure body");
  await sleep(100);
  t.equal(seen.length, 3, 'one try and 2 retries, then no more');
});

t.test('a retry stanza retries a refused CONNECT too (Gateway API: connection errors are retried)', async (t) => {
  resetProbe({ connect: (i) => (i < 2 ? 'reject' : 'accept') });
  const r = await get(ROUTE_PATHS.flaky);
  t.equal(r.status, 200);
  t.same(
    seen.map((s) => s.rejected),
    [true, true, false],
    'two refused, the third accepted',
  );
});
