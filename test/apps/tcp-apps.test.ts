// The raw TCP apps (addresses 127.40.3.x): echo keeps half-close, sink counts bytes.
import t from 'tap';
import * as net from 'node:net';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { startEcho } from '../../src/apps/echo';
import { startSink } from '../../src/apps/sink';
import { context, pod } from './fixtures/pods';

const ECHO = { host: '127.40.3.1', port: 9000 };
const SINK = { host: '127.40.3.2', port: 9001 };
const UNUSED_PROXY = { host: '127.40.3.99', port: 1 };
const MiB = 1024 * 1024;

function collect(s: net.Socket): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    s.on('data', (c: Buffer) => chunks.push(c));
    s.once('end', () => resolve(Buffer.concat(chunks)));
    s.once('error', reject);
  });
}

t.test('echo and sink', async (t) => {
  const echoCtx = context(pod('echo-v1-0', 'echo', '10.40.3.1', ECHO.port), UNUSED_PROXY);
  const sinkCtx = context(pod('sink-v1-0', 'sink', '10.40.3.2', SINK.port), UNUSED_PROXY);
  const echo = await startEcho(echoCtx);
  const sink = await startSink(sinkCtx);
  t.teardown(async () => {
    await echo.close();
    await sink.close();
  });

  t.test('echo stays open until the client half-closes, then finishes and ends', async (t) => {
    const s = net.connect({ ...ECHO, allowHalfOpen: true });
    await once(s, 'connect');
    let ended = false;
    s.once('end', () => (ended = true));
    s.write('ping');
    const [first] = (await once(s, 'data')) as [Buffer];
    t.equal(first.toString(), 'ping');
    await new Promise((r) => setTimeout(r, 50));
    t.notOk(ended, 'no FIN while the client still sends');

    // 8 MiB then FIN at once: every byte must still come back after our FIN.
    const data = randomBytes(8 * MiB);
    const rest = collect(s);
    s.end(data);
    const back = await rest;
    t.equal(back.length, data.length, 'all bytes after the half-close');
    t.equal(createHash('sha256').update(back).digest('hex'), createHash('sha256').update(data).digest('hex'));
    t.ok(s.writableEnded, 'our side was already closed when echo finished');
  });

  t.test('sink counts bytes and answers the count on FIN', async (t) => {
    const s = net.connect({ ...SINK, allowHalfOpen: true });
    const reply = collect(s);
    s.write(randomBytes(MiB));
    s.end('12345');
    t.equal((await reply).toString(), String(MiB + 5));

    const empty = net.connect({ ...SINK, allowHalfOpen: true });
    const none = collect(empty);
    empty.end();
    t.equal((await none).toString(), '0');
  });

  t.test('close drops open connections', async (t) => {
    const ctx = context(pod('echo-v1-1', 'echo', '10.40.3.3', ECHO.port), UNUSED_PROXY);
    const app = await startEcho(ctx);
    const s = net.connect({ host: '127.40.3.3', port: ECHO.port });
    s.on('error', () => undefined);
    await once(s, 'connect');
    await app.close();
    await once(s, 'close');
    t.pass('client saw the close');
  });
});
