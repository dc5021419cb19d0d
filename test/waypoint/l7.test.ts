// The L7 path with real processes: one ztunnel per node, one process per pod and the waypoint,
// on the 10.81 block (the waypoint part of scenarios/bookinfo.yaml, with more clients; see fixtures/scenario.ts).
// Node D runs no ztunnel: this test serves the probe pod's :15008 itself, to see the CONNECT the
// waypoint originates, headers and all.
import t from 'tap';
import * as http from 'node:http';
import * as net from 'node:net';
import { createHash, randomBytes } from 'node:crypto';
import { execInPod } from '../../src/runner/exec';
import { AccessRecord, field } from '../../src/runner/access-records';
import { hostAddress } from '../../src/mesh/model';
import { parsePromText, sumSamples } from '../../src/telemetry/prom-text';
import { loadOrCreateCa } from '../../src/identity/ca-store';
import { WorkloadCertificate } from '../../src/identity/workload-cert';
import { makeSpiffeId } from '../../src/identity/spiffe';
import { HboneServer } from '../../src/hbone/server';
import { formatAuthority } from '../../src/hbone/authority';
import { logger } from '../../src/telemetry/log';
import { UPSTREAM_IDLE_TIMEOUT_MS } from '../../src/waypoint/upstream-pool';
import { PODS, waypointAddresses, waypointScenario } from './fixtures/scenario';
import { Mesh, startMesh } from '../fixtures/scenario-mesh';

const N = 81;
const A = waypointAddresses(N);
const WAYPOINT_ID = 'spiffe://cluster.local/ns/default/sa/waypoint';
const RBAC_DENIED = 'RBAC: access denied';

let mesh: Mesh;
let probeServer: HboneServer | undefined;
let probeCert: WorkloadCertificate | undefined;

/** What the stand-in for ztunnel-node-d saw of each CONNECT to the probe pod. */
interface SeenConnect {
  readonly authority: string;
  readonly peer: string;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly requestLine: string;
  readonly bodyBytes: number;
  readonly bodySha256: string;
}
const probeSeen: SeenConnect[] = [];

t.before(async () => {
  mesh = await startMesh(waypointScenario(N), 'waypoint-l7', ['ztunnel-node-d']);
  // Node D's ztunnel, reduced to what this test needs: accept every CONNECT, note its headers,
  // answer the one HTTP request inside with them as JSON.
  const ca = await loadOrCreateCa(mesh.caDir);
  probeCert = await WorkloadCertificate.obtain(makeSpiffeId('default', 'probe'), ca);
  const server = new HboneServer({
    address: hostAddress(A.pod.probe),
    certificate: probeCert,
    log: logger('test-probe', () => undefined),
    handler: (conn) => {
      const stream = conn.accept();
      // Answers once the head and any content-length body are in, with what it saw.
      let received = Buffer.alloc(0);
      let answered = false;
      stream.on('data', (chunk: Buffer) => {
        if (answered) return;
        received = Buffer.concat([received, chunk]);
        const end = received.indexOf('\r\n\r\n');
        if (end === -1) return;
        const head = received.subarray(0, end).toString('latin1');
        const length = Number(/\r\ncontent-length: *(\d+)/i.exec(head)?.[1] ?? 0);
        const body = received.subarray(end + 4);
        if (body.length < length) return;
        answered = true;
        const seen: SeenConnect = {
          authority: formatAuthority(conn.authority.host, conn.authority.port),
          peer: conn.peerSpiffeId,
          headers: { ...conn.headers },
          requestLine: head.slice(0, head.indexOf('\r\n')),
          bodyBytes: body.length,
          bodySha256: createHash('sha256').update(body).digest('hex'),
        };
        probeSeen.push(seen);
        const answer = JSON.stringify(seen);
        stream.end(`HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(answer)}\r\n\r\n${answer}`);
      });
      stream.on('error', () => undefined);
    },
  });
  await server.listen();
  probeServer = server;
});

t.teardown(async () => {
  // Each step on its own: a probe that never listened must not keep the mesh running.
  await probeServer?.close(0).catch(() => undefined);
  probeCert?.stop();
  await mesh?.stop();
});

interface Reply {
  readonly status: number;
  readonly body: string;
  readonly socket: net.Socket;
}

/** One request through a port capture on the given agent. */
function request(agent: http.Agent, port: number, path: string, headers: Record<string, string> = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: A.capture.host, port, path, headers: { host: `reviews:9080`, ...headers }, agent, timeout: 10_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8'), socket: req.socket! }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`request ${path} timed out`)));
    req.on('error', reject);
  });
}

function podnameOf(body: string): string | undefined {
  try {
    return (JSON.parse(body) as { podname?: string }).podname;
  } catch {
    return undefined;
  }
}

/** Sends raw bytes on a new TCP connection to a capture and returns everything until close. */
function raw(port: number, data: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: A.capture.host, port });
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => s.destroy(new Error('raw connection not closed after 5 s')), 5000);
    s.on('data', (c: Buffer) => chunks.push(c));
    s.on('close', () => {
      clearTimeout(timer);
      resolve(Buffer.concat(chunks).toString('latin1'));
    });
    s.on('error', (e) => {
      clearTimeout(timer);
      if (chunks.length > 0) resolve(Buffer.concat(chunks).toString('latin1'));
      else reject(e);
    });
    s.write(data);
  });
}

t.test('productpage-viewer as a matrix: who may view productpage through the waypoint', async (t) => {
  const cases = [
    { who: 'sleep (sa sleep)', ip: A.pod.sleep, status: 200 },
    { who: 'notsleep (sa notsleep)', ip: A.pod.notsleep, status: 403 },
    { who: 'details client (sa bookinfo-details)', ip: A.pod.detailsClient, status: 403 },
    { who: 'ratings client (sa bookinfo-ratings)', ip: A.pod.ratingsClient, status: 403 },
    { who: 'ingress (istio-system, sa istio-ingressgateway-service-account)', ip: A.pod.ingress, status: 200 },
  ];
  for (const c of cases) {
    // productpage.default: the ingress client lives in istio-system, where a bare name would not resolve.
    const r = await execInPod(c.ip, '/fetch', { url: 'http://productpage.default:9080/productpage' });
    t.equal(r.status, c.status, `${c.who}: ${c.status}`);
    if (c.status === 403) t.equal(r.body, RBAC_DENIED, `${c.who}: the waypoint's RBAC body`);
    else t.match(r.body ?? '', /<html/i, `${c.who}: the product page`);
    t.notOk(r.error, `${c.who}: an HTTP answer, not a cut connection`);
  }
});

t.test('end-user: jason goes to reviews-v2, every time', async (t) => {
  for (let i = 0; i < 10; i++) {
    const r = await execInPod(A.pod.sleep, '/fetch', { url: 'http://reviews:9080/reviews/0', header: 'end-user:jason' });
    t.equal(r.status, 200, `try ${i}: 200`);
    t.equal(podnameOf(r.body ?? ''), PODS.reviewsV2, `try ${i}: served by reviews-v2`);
  }
});

t.test('the 80/20 split of the default rule holds within 5 points over 2,000 requests', async (t) => {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 20 });
  t.teardown(() => agent.destroy());
  const total = 2000;
  const counts = new Map<string, number>();
  const statuses = new Map<number, number>();
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < total) {
      next++;
      const r = await request(agent, A.capture.reviews, '/reviews/0');
      statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
      const pod = podnameOf(r.body) ?? `(status ${r.status})`;
      counts.set(pod, (counts.get(pod) ?? 0) + 1);
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: 20 }, worker));
  t.comment(`${total} requests in ${(performance.now() - started).toFixed(0)} ms: ${JSON.stringify(Object.fromEntries(counts))}`);
  t.same(Object.fromEntries(statuses), { 200: total }, 'every request answered 200');
  const v1 = counts.get(PODS.reviewsV1) ?? 0;
  const v3 = counts.get(PODS.reviewsV3) ?? 0;
  t.equal(v1 + v3, total, 'only reviews-v1 and reviews-v3 served (no end-user: jason, no v2)');
  t.ok(Math.abs((100 * v1) / total - 80) <= 5, `reviews-v1 ${((100 * v1) / total).toFixed(1)}% is within 80 ± 5`);
  t.ok(Math.abs((100 * v3) / total - 20) <= 5, `reviews-v3 ${((100 * v3) / total).toFixed(1)}% is within 20 ± 5`);
});

t.test('the waypoint originates a CONNECT to the pod, as itself, with x-envoy-original-dst-host', async (t) => {
  // 1. productpage: what the destination ztunnel (node B) logs for the waypoint's CONNECT.
  const since = performance.now();
  const r = await execInPod(A.pod.sleep, '/fetch', { url: 'http://productpage:9080/productpage' });
  t.equal(r.status, 200);
  const isInbound = (x: AccessRecord) => field(x, 'direction') === 'inbound' && field(x, 'dst.workload') === PODS.productpage;
  // Records are written at close; other tests' keep-alive connections to reviews may close now too.
  const isOutbound = (x: AccessRecord) =>
    field(x, 'direction') === 'outbound' && field(x, 'src.workload') === PODS.sleep && field(x, 'dst.service') === 'productpage.default.svc.cluster.local';
  // The waypoint's upstream connection is logged by ztunnel when it closes, once idle.
  const found = await mesh.records.waitFor(since, (rs) => rs.some(isInbound) && rs.some(isOutbound), UPSTREAM_IDLE_TIMEOUT_MS + 4000);
  const inbound = found.find(isInbound);
  t.equal(inbound?.reporter, 'ztunnel-node-b', "logged by productpage's node ztunnel");
  t.equal(field(inbound, 'src.identity'), WAYPOINT_ID, "the source is the waypoint's identity, not sleep's");
  t.equal(field(inbound, 'src.workload'), PODS.waypoint);
  t.equal(field(inbound, 'dst.hbone_addr'), `${A.pod.productpage}:9080`, ':authority is the pod ip:targetPort');
  t.equal(field(inbound, 'dst.addr'), `${A.pod.productpage}:15008`);
  t.equal(field(inbound, 'error'), '', 'accepted: the authority is the dialled pod (else 400)');
  // The first hop: sleep's ztunnel sent the VIP to the waypoint.
  const outbound = found.find(isOutbound);
  t.equal(outbound?.reporter, 'ztunnel-node-a');
  t.equal(field(outbound, 'dst.addr'), `${A.pod.waypoint}:15008`, 'sleep went to the waypoint');
  t.equal(field(outbound, 'dst.hbone_addr'), `${A.vip.productpage}:9080`, 'with the VIP:port as :authority');
  t.equal(field(outbound, 'dst.identity'), WAYPOINT_ID);

  // 2. probe: the CONNECT itself, as the stand-in for node D's ztunnel received it.
  probeSeen.length = 0;
  const p = await execInPod(A.pod.sleep, '/fetch', { url: 'http://probe:8080/hello?x=1' });
  t.equal(p.status, 200, 'the probe answered through the waypoint');
  t.equal(probeSeen.length, 1, 'one CONNECT reached node D');
  const seen = probeSeen[0];
  t.equal(seen?.headers['x-envoy-original-dst-host'], `${A.pod.probe}:8080`, 'x-envoy-original-dst-host is the chosen pod ip:targetPort');
  t.equal(seen?.authority, `${A.pod.probe}:8080`, ':authority is the same pod ip:targetPort');
  t.equal(seen?.headers[':method'], 'CONNECT');
  t.equal(seen?.peer, WAYPOINT_ID, "the CONNECT is mTLS with the waypoint's certificate");
  t.match(seen?.headers.traceparent, /^00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/, 'a traceparent rides along');
  t.equal(seen?.requestLine, 'GET /hello?x=1 HTTP/1.1', 'inside the tunnel, the HTTP request as sleep sent it');
  t.match(JSON.parse(p.body ?? '{}'), { headers: { 'x-envoy-original-dst-host': `${A.pod.probe}:8080` } }, 'and sleep got the probe answer back');
});

t.test('a request body crosses the waypoint whole, and istio_request_bytes counts it', async (t) => {
  // The body used to start flowing while the waypoint was still opening its CONNECT, and was lost:
  // the pod waited for it for ever.
  const body = randomBytes(3 * 1024 * 1024 + 5);
  const sizeOf = async () => {
    const text = await new Promise<string>((resolve, reject) => {
      http
        .get(`http://${hostAddress(A.pod.waypoint)}:15020/stats/prometheus`, { agent: false }, (res) => {
          let b = '';
          res.on('data', (c: Buffer) => (b += c));
          res.on('end', () => resolve(b));
        })
        .on('error', reject);
    });
    return sumSamples(parsePromText(text), 'istio_request_bytes_sum', { reporter: 'waypoint', destination_service_name: 'probe' });
  };
  const before = await sizeOf();
  probeSeen.length = 0;
  const reply = await new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = http.request(
      {
        host: A.capture.host,
        port: A.capture.probe,
        method: 'POST',
        path: '/upload',
        agent: false,
        headers: { host: 'probe:8080', 'content-length': body.length },
        timeout: 10_000,
      },
      (res) => {
        let text = '';
        res.on('data', (c: Buffer) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      },
    );
    req.on('timeout', () => req.destroy(new Error('the POST got no answer in 10 s')));
    req.on('error', reject);
    req.write(body.subarray(0, 1000));
    setTimeout(() => req.end(body.subarray(1000)), 50);
  });
  t.equal(reply.status, 200);
  t.equal(probeSeen.length, 1);
  t.equal(probeSeen[0]?.requestLine, 'POST /upload HTTP/1.1');
  t.equal(probeSeen[0]?.bodyBytes, body.length, 'every byte of the body reached the pod');
  t.equal(probeSeen[0]?.bodySha256, createHash('sha256').update(body).digest('hex'), 'unchanged');
  // Metrics are recorded when the response closes.
  let after = before;
  for (let i = 0; i < 50 && after - before < body.length; i++) {
    await new Promise((r) => setTimeout(r, 20));
    after = await sizeOf();
  }
  t.equal(after - before, body.length, 'istio_request_bytes_sum grew by the body size');
});

t.test('1,000 requests on one keep-alive connection are routed and authorized one by one', async (t) => {
  const labels = { reporter: 'source', source_workload: 'sleep', destination_service: 'reviews.default.svc.cluster.local' };
  const openedBefore = sumSamples(await mesh.metrics('node-a'), 'istio_tcp_connections_opened_total', labels);
  // Upstream, the waypoint keeps its connections to the reviews pods open, as Envoy's pool does.
  const toReviews = { reporter: 'destination', destination_canonical_service: 'reviews' };
  const upstreamOpened = async () => {
    let n = 0;
    for (const node of ['node-a', 'node-b', 'node-c']) n += sumSamples(await mesh.metrics(node), 'istio_tcp_connections_opened_total', toReviews);
    return n;
  };
  const upstreamBefore = await upstreamOpened();
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  t.teardown(() => agent.destroy());
  const sockets = new Set<net.Socket>();
  const wrong: string[] = [];
  const kinds: Array<{ what: string; path: string; headers: Record<string, string>; ok: (r: Reply) => boolean }> = [
    {
      what: 'jason /reviews/0',
      path: '/reviews/0',
      headers: { 'end-user': 'jason' },
      ok: (r: Reply) => r.status === 200 && podnameOf(r.body) === PODS.reviewsV2,
    },
    {
      what: 'anonymous /reviews/0',
      path: '/reviews/0',
      headers: {},
      ok: (r: Reply) => r.status === 200 && [PODS.reviewsV1, PODS.reviewsV3].includes(podnameOf(r.body) as never),
    },
    { what: 'jason GET /reviews/1 (DENY)', path: '/reviews/1', headers: { 'end-user': 'jason' }, ok: (r: Reply) => r.status === 403 && r.body === RBAC_DENIED },
    {
      what: 'jason /reviews/2',
      path: '/reviews/2',
      headers: { 'end-user': 'jason' },
      ok: (r: Reply) => r.status === 200 && podnameOf(r.body) === PODS.reviewsV2,
    },
    { what: 'anonymous GET /reviews/1 (DENY)', path: '/reviews/1', headers: {}, ok: (r: Reply) => r.status === 403 && r.body === RBAC_DENIED },
  ];
  const counts = new Map<string, number>();
  const started = performance.now();
  for (let i = 0; i < 1000; i++) {
    const k = kinds[i % kinds.length];
    const r = await request(agent, A.capture.reviewsKeepAlive, k.path, k.headers);
    sockets.add(r.socket);
    counts.set(k.what, (counts.get(k.what) ?? 0) + 1);
    if (!k.ok(r) && wrong.length < 10) wrong.push(`#${i} ${k.what}: ${r.status} ${podnameOf(r.body) ?? r.body.slice(0, 60)}`);
  }
  t.comment(`1000 requests in ${(performance.now() - started).toFixed(0)} ms`);
  t.same(wrong, [], 'every request got its own route and its own RBAC verdict');
  t.equal(sockets.size, 1, 'all 1,000 went over one client socket');
  t.same(Object.fromEntries(counts), Object.fromEntries(kinds.map((k) => [k.what, 200])));
  const opened = sumSamples(await mesh.metrics('node-a'), 'istio_tcp_connections_opened_total', labels) - openedBefore;
  t.equal(opened, 1, "sleep's ztunnel opened exactly one connection to reviews for them");
  const upstream = (await upstreamOpened()) - upstreamBefore;
  t.ok(upstream >= 1 && upstream <= 6, `the waypoint reused its upstream connections: ${upstream} opened to the reviews pods for 600 forwarded requests`);
});

t.test('a malformed request in one tunnel gets 400; a keep-alive stream beside it keeps working', async (t) => {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  t.teardown(() => agent.destroy());
  const sockets = new Set<net.Socket>();
  const statuses: number[] = [];
  let garbageSent = false;
  let garbageDone = false;
  const replies: string[] = [];
  const stream = async (): Promise<void> => {
    // Keep going until the malformed requests are answered, and a little beyond.
    for (let i = 0; i < 400 && (!garbageDone || i < 40 || statuses.length < 60); i++) {
      const r = await request(agent, A.capture.reviews, '/reviews/0', { 'end-user': 'jason' });
      sockets.add(r.socket);
      statuses.push(podnameOf(r.body) === PODS.reviewsV2 ? r.status : -r.status);
      if (i === 10) garbageSent = true;
    }
  };
  const garbage = async (): Promise<void> => {
    while (!garbageSent) await new Promise((r) => setTimeout(r, 5));
    replies.push(await raw(A.capture.reviews, 'GARBAGE / HTTP/9.9\r\n\r\n'));
    replies.push(await raw(A.capture.reviews, 'GET /reviews/0 HTTP/1.1\r\nno colon here\r\n\r\n'));
    replies.push(await raw(A.capture.productpage, '\x00\x01\x02 not http at all\r\n\r\n'));
    garbageDone = true;
  };
  await Promise.all([stream(), garbage()]);
  t.match(replies[0], /^HTTP\/1\.1 400 /, `GARBAGE / HTTP/9.9: 400 (got ${JSON.stringify(replies[0].slice(0, 40))})`);
  t.match(replies[1], /^HTTP\/1\.1 400 /, 'a header line without a colon: 400');
  t.match(replies[2], /^HTTP\/1\.1 400 /, 'binary junk to productpage: 400');
  t.ok(statuses.length >= 40, `${statuses.length} well-formed requests ran alongside`);
  t.same(
    statuses.filter((s) => s !== 200),
    [],
    'every well-formed request: 200 from reviews-v2',
  );
  t.equal(sockets.size, 1, 'on one keep-alive connection, never reset');
  // And a fresh connection still works afterwards.
  const after = await execInPod(A.pod.sleep, '/fetch', { url: 'http://reviews:9080/reviews/0', header: 'end-user:jason' });
  t.equal(after.status, 200);
});

t.test('a DENY on a path holds for every spelling of that path the waypoint normalizes', async (t) => {
  probeSeen.length = 0;
  for (const target of ['/secret', '/secret?x=1', '/a/../secret', '/./secret']) {
    const reply = await raw(A.capture.probe, `GET ${target} HTTP/1.1\r\nhost: probe:8080\r\nconnection: close\r\n\r\n`);
    t.match(reply, /^HTTP\/1\.1 403 /, `GET ${target}: 403`);
    t.match(reply, /RBAC: access denied/);
  }
  t.same(probeSeen, [], 'none reached the probe pod');
  const ok = await raw(A.capture.probe, 'GET /public HTTP/1.1\r\nhost: probe:8080\r\nconnection: close\r\n\r\n');
  t.match(ok, /^HTTP\/1\.1 200 /, 'GET /public: 200');
});

// Absolute-form (RFC 9112 section 3.2.2: a server MUST accept it) is matched as Envoy's codec
// turns it into :path and :authority before any filter runs, so it cannot slip past a path DENY;
// and what goes upstream is origin-form. (Before normalizeTarget in src/waypoint/waypoint.ts the
// raw "http://probe:8080/secret" was matched and allowed.)
t.test('a DENY on a path holds for an absolute-form request-target', async (t) => {
  probeSeen.length = 0;
  const denied = await raw(A.capture.probe, 'GET http://probe:8080/secret HTTP/1.1\r\nhost: probe:8080\r\nconnection: close\r\n\r\n');
  t.match(denied, /^HTTP\/1\.1 403 /, `GET http://probe:8080/secret: 403 (got ${JSON.stringify(denied.split('\r\n')[0])})`);
  t.match(denied, /RBAC: access denied/);
  t.same(probeSeen, [], 'the denied request never reached the probe pod');
  const allowed = await raw(A.capture.probe, 'GET http://probe:8080/public?q=1 HTTP/1.1\r\nhost: probe:8080\r\nconnection: close\r\n\r\n');
  t.match(allowed, /^HTTP\/1\.1 200 /, 'GET http://probe:8080/public?q=1: 200');
  t.same(
    probeSeen.map((s) => s.requestLine),
    ['GET /public?q=1 HTTP/1.1'],
    'forwarded in origin-form',
  );
});
