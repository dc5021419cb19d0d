import t, { Test } from 'tap';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { readRequestBody } from '../../src/net/request-body';

const LIMIT = 1024;

/** A server answering with the body's length, or 413 with the error's message. */
async function server(t: Test): Promise<number> {
  const s = http.createServer((req, res) => {
    readRequestBody(req, LIMIT, () => new Error(`over ${LIMIT} bytes`)).then(
      (body) => res.end(String(body.length)),
      (err: Error) => res.writeHead(413, { connection: 'close' }).end(err.message),
    );
  });
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  t.teardown(() => s.close());
  return (s.address() as AddressInfo).port;
}

function post(port: number, chunks: readonly Buffer[]): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method: 'POST', path: '/', agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    // The server may answer and close before every chunk is written: that is the point.
    req.on('error', reject);
    for (const c of chunks) req.write(c);
    req.end();
  });
}

t.test('a body up to the limit is read whole, in any number of chunks', async (t) => {
  const port = await server(t);
  t.same(await post(port, []), { status: 200, body: '0' });
  t.same(await post(port, [Buffer.alloc(LIMIT / 2, 1), Buffer.alloc(LIMIT / 2, 2)]), { status: 200, body: String(LIMIT) });
});

t.test("one byte over the limit is refused with the caller's error", async (t) => {
  const port = await server(t);
  t.same(await post(port, [Buffer.alloc(LIMIT + 1, 1)]), { status: 413, body: `over ${LIMIT} bytes` });
  t.same(await post(port, [Buffer.alloc(LIMIT, 1), Buffer.alloc(1, 2)]), { status: 413, body: `over ${LIMIT} bytes` });
});
