// http-echo (address 127.40.6.1): bodies come back byte for byte, keep-alive holds, and an upload
// is counted without being held in memory.
import t from 'tap';
import * as http from 'node:http';
import { createHash, randomBytes } from 'node:crypto';
import { startHttpEcho, UPLOAD_PATH } from '../../src/apps/http-echo';
import { context, pod } from './fixtures/pods';

const HOST = '127.40.6.1';
const PORT = 8080;
const UNUSED_PROXY = { host: '127.40.6.99', port: 1 };
const MiB = 1024 * 1024;

function request(agent: http.Agent, method: string, path: string, body?: Buffer | ((req: http.ClientRequest) => void)) {
  return new Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }>((resolve, reject) => {
    const req = http.request({ host: HOST, port: PORT, method, path, agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    if (typeof body === 'function') body(req);
    else req.end(body);
  });
}

t.test('http-echo', async (t) => {
  const app = await startHttpEcho(context(pod('http-echo-0', 'http-echo', '10.40.6.1', PORT), UNUSED_PROXY));
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const seen = new Set<unknown>();
  t.teardown(async () => {
    agent.destroy();
    await app.close();
  });

  t.test('a POST comes back as sent, with its length, on one kept-alive connection', async (t) => {
    for (let i = 0; i < 5; i++) {
      const body = randomBytes(1024);
      const res = await request(agent, 'POST', '/echo', (req) => {
        req.once('socket', (s) => seen.add(s));
        req.setHeader('content-length', body.length);
        req.end(body);
      });
      t.equal(res.status, 200);
      t.equal(res.headers['content-length'], '1024', 'no chunking');
      t.same(res.body, body);
    }
    t.equal(seen.size, 1, 'five requests on one connection');
  });

  t.test('a GET without a body gets an empty 200', async (t) => {
    const res = await request(agent, 'GET', '/');
    t.equal(res.status, 200);
    t.equal(res.body.length, 0);
  });

  t.test('a chunked body is echoed whole', async (t) => {
    const body = randomBytes(3 * MiB + 17);
    const res = await request(agent, 'POST', '/', (req) => {
      req.write(body.subarray(0, MiB));
      req.end(body.subarray(MiB));
    });
    t.equal(createHash('sha256').update(res.body).digest('hex'), createHash('sha256').update(body).digest('hex'));
  });

  t.test('an upload is counted and dropped: 64 MiB, and the server grows far less', async (t) => {
    const total = 64 * MiB;
    const chunk = Buffer.alloc(MiB, 0x5a);
    const rssBefore = process.memoryUsage().rss;
    const res = await request(agent, 'POST', `${UPLOAD_PATH}?x=1`, (req) => {
      req.setHeader('content-length', total);
      let left = total / MiB;
      const pump = (): void => {
        while (left > 0) {
          left--;
          if (!req.write(chunk)) return void req.once('drain', pump);
        }
        req.end();
      };
      pump();
    });
    t.equal(res.status, 200);
    t.equal(res.body.toString(), String(total), 'the count of every byte');
    t.ok(process.memoryUsage().rss - rssBefore < total / 2, 'the body was not held');
  });
});
