// A client that half-closes after its request (curl does not, but `printf ... | nc` and many
// load tools do) gets its whole answer from every HTTP app the simulator runs, as from the
// real bookinfo apps (addresses 127.77.1.x; the mesh case is in block 10.77).
import t from 'tap';
import * as net from 'node:net';
import type { RunningApp } from '../../src/apps/app';
import { startProductpage } from '../../src/apps/bookinfo/productpage';
import { startDetails } from '../../src/apps/bookinfo/details';
import { startReviews } from '../../src/apps/bookinfo/reviews';
import { startRatings } from '../../src/apps/bookinfo/ratings';
import { startHttpEcho } from '../../src/apps/http-echo';
import { startSleep } from '../../src/apps/sleep';
import { PORT_EXEC } from '../../src/mesh/ports';
import { socksServer, SocksRoute } from './fixtures/socks-server';
import { context, pod } from './fixtures/pods';
import { startMesh } from '../fixtures/scenario-mesh';

const PROXY_IP = '127.77.1.100';
const PORT = 9080;

const pods = {
  productpage: pod('productpage-v1-6b746f74dc-9stvs', 'productpage', '10.77.1.1', PORT, { version: 'v1' }),
  details: pod('details-v1-79f774bdb9-k2bqx', 'details', '10.77.1.2', PORT, { version: 'v1' }),
  reviews: pod('reviews-v2-7bf8c9648f-2dwpl', 'reviews', '10.77.1.3', PORT, { version: 'v2' }),
  ratings: pod('ratings-v1-567b6b5c94-tcxvm', 'ratings', '10.77.1.4', PORT, { version: 'v1' }),
  httpEcho: pod('http-echo-0', 'http-echo', '10.77.1.5', 8080),
  sleep: pod('sleep-0', 'sleep', '10.77.1.6', 80),
};
const host = (ip: string): string => ip.replace(/^10\./, '127.');
const routes: Record<string, SocksRoute> = {
  details: { forward: { host: host(pods.details.ip), port: PORT } },
  reviews: { forward: { host: host(pods.reviews.ip), port: PORT } },
  ratings: { forward: { host: host(pods.ratings.ip), port: PORT } },
};

interface RawReply {
  readonly text: string;
  /** The status line and body of each response, in order. */
  readonly responses: Array<{ status: number; body: string }>;
}

/** Writes `request` (one or more, pipelined), then ends our side; reads until the server's FIN. */
function halfClosed(address: string, port: number, request: string): Promise<RawReply> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: address, port, allowHalfOpen: true });
    const chunks: Buffer[] = [];
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', reject);
    socket.on('end', () => {
      socket.end();
      const text = Buffer.concat(chunks).toString('latin1');
      resolve({ text, responses: parseResponses(text) });
    });
    socket.write(request);
    socket.end();
  });
}

/** HTTP/1.1 responses framed by content-length or chunked encoding, as sent back to back. */
function parseResponses(text: string): Array<{ status: number; body: string }> {
  const out: Array<{ status: number; body: string }> = [];
  let rest = text;
  while (rest.length > 0) {
    const headEnd = rest.indexOf('\r\n\r\n');
    if (headEnd < 0) throw new Error(`an incomplete response head: ${JSON.stringify(rest.slice(0, 200))}`);
    const head = rest.slice(0, headEnd);
    const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1]);
    rest = rest.slice(headEnd + 4);
    const length = /\r\ncontent-length: *(\d+)/i.exec(head);
    let body = '';
    if (length) {
      body = rest.slice(0, Number(length[1]));
      if (body.length < Number(length[1])) throw new Error(`a body cut short: ${body.length} of ${length[1]} bytes`);
      rest = rest.slice(body.length);
    } else if (/\r\ntransfer-encoding: *chunked/i.test(head)) {
      for (;;) {
        const lineEnd = rest.indexOf('\r\n');
        const size = parseInt(rest.slice(0, lineEnd), 16);
        if (lineEnd < 0 || Number.isNaN(size)) throw new Error('a chunked body cut short');
        rest = rest.slice(lineEnd + 2);
        if (size === 0) {
          rest = rest.slice(rest.indexOf('\r\n') + 2);
          break;
        }
        body += rest.slice(0, size);
        rest = rest.slice(size + 2);
      }
    }
    out.push({ status, body });
  }
  return out;
}

const get = (path: string, extra = ''): string => `GET ${path} HTTP/1.1\r\nHost: test\r\n${extra}\r\n`;

t.test('apps answer a client that half-closed after its request', async (t) => {
  const proxy = await socksServer(PROXY_IP, 0, (name) => routes[name]);
  const endpoint = { host: PROXY_IP, port: proxy.port };
  const contexts = Object.values(pods).map((p) => context(p, endpoint));
  const starters = {
    productpage: startProductpage,
    details: startDetails,
    reviews: startReviews,
    ratings: startRatings,
    'http-echo': startHttpEcho,
    sleep: startSleep,
  } as const;
  const running: RunningApp[] = [];
  for (const ctx of contexts) running.push(await starters[ctx.pod.app.kind as keyof typeof starters](ctx));
  t.teardown(async () => {
    for (const r of running) await r.close();
    for (const c of contexts) c.meshAgent.destroy();
    await proxy.close();
  });

  t.test('productpage: the whole page, after its calls to details and reviews', async (t) => {
    const reply = await halfClosed(host(pods.productpage.ip), PORT, get('/productpage'));
    t.equal(reply.responses.length, 1);
    t.equal(reply.responses[0].status, 200);
    t.match(reply.responses[0].body, /<\/html>\s*$/, 'the page to its end');
    t.match(reply.responses[0].body, /Reviewer1/, 'with the reviews it fetched');
  });

  t.test('the bookinfo services and http-echo', async (t) => {
    const cases: Array<[string, string, number, string, RegExp]> = [
      ['details', host(pods.details.ip), PORT, '/details/0', /"author"/],
      ['reviews', host(pods.reviews.ip), PORT, '/reviews/0', /"reviews"/],
      ['ratings', host(pods.ratings.ip), PORT, '/ratings/0', /"ratings"/],
    ];
    for (const [name, address, port, path, body] of cases) {
      const reply = await halfClosed(address, port, get(path));
      t.equal(reply.responses.length, 1, `${name}: one response`);
      t.equal(reply.responses[0]?.status, 200, `${name}: 200`);
      t.match(reply.responses[0]?.body, body, `${name}: its body`);
    }
    // A body of 4 MiB, then FIN: the FIN arrives while the body is still being echoed.
    const body = 'x'.repeat(4 * 1024 * 1024);
    const post = await halfClosed(host(pods.httpEcho.ip), 8080, `POST /echo HTTP/1.1\r\nHost: test\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
    t.equal(post.responses.length, 1, 'http-echo: one response');
    t.equal(post.responses[0]?.status, 200, 'http-echo: 200');
    t.ok(post.responses[0]?.body === body, `http-echo: the 4 MiB body echoed whole (${post.responses[0]?.body.length} bytes)`);
  });

  t.test("sleep's exec port (kubectl exec's stand-in), which waits on the mesh before it answers", async (t) => {
    const reply = await halfClosed(host(pods.sleep.ip), PORT_EXEC, get(`/fetch?url=${encodeURIComponent(`http://details:${PORT}/details/1`)}`));
    t.equal(reply.responses.length, 1);
    t.equal(reply.responses[0].status, 200);
    t.match(JSON.parse(reply.responses[0].body), { status: 200 });
  });

  t.test('pipelined requests then FIN: every response, in order, then the server closes', async (t) => {
    const reply = await halfClosed(host(pods.productpage.ip), PORT, get('/health') + get('/api/v1/products/0/reviews') + get('/productpage'));
    t.same(
      reply.responses.map((r) => r.status),
      [200, 200, 200],
    );
    t.match(reply.responses[2].body, /<\/html>\s*$/);
  });
});

t.test('through the mesh: a port capture, ztunnel to ztunnel, to productpage', async (t) => {
  const mesh = await startMesh(
    `name: half-close
nodes:
  - { name: node-a, ip: 10.77.0.1 }
  - { name: node-b, ip: 10.77.0.2 }
workloads:
  - { name: sleep, namespace: default, serviceAccount: sleep, node: node-a, ip: 10.77.2.1, labels: { app: sleep }, run: { app: sleep, port: 80 } }
  - { name: productpage, namespace: default, serviceAccount: bookinfo-productpage, node: node-b, ip: 10.77.2.2, labels: { app: productpage }, run: { app: productpage, port: 9080 } }
  - { name: details, namespace: default, serviceAccount: bookinfo-details, node: node-a, ip: 10.77.2.3, labels: { app: details }, run: { app: details, port: 9080 } }
  - { name: reviews, namespace: default, serviceAccount: bookinfo-reviews, node: node-b, ip: 10.77.2.4, labels: { app: reviews, version: v1 }, run: { app: reviews, port: 9080 } }
services:
  - { name: productpage, namespace: default, vip: 10.77.8.1, selector: { app: productpage }, ports: [ { name: http, port: 9080 } ] }
  - { name: details, namespace: default, vip: 10.77.8.2, selector: { app: details }, ports: [ { name: http, port: 9080 } ] }
  - { name: reviews, namespace: default, vip: 10.77.8.3, selector: { app: reviews }, ports: [ { name: http, port: 9080 } ] }
captures:
  - { listen: 127.77.0.1:15101, source: sleep, target: productpage:9080 }
`,
    'half-close',
  );
  t.teardown(() => mesh.stop());
  const reply = await halfClosed('127.77.0.1', 15101, get('/productpage'));
  t.equal(reply.responses.length, 1);
  t.equal(reply.responses[0].status, 200);
  t.match(reply.responses[0].body, /<\/html>\s*$/, 'the page to its end, through HBONE both ways');
});
