// TunnelSocket stands in for net.Socket under node:http: its setTimeout must keep net.Socket's
// contract, or node:http's client leaks a listener per request on a kept-alive connection.
import t from 'tap';
import { PassThrough } from 'node:stream';
import type { Http2Stream } from 'node:http2';
import { TunnelSocket } from '../../src/waypoint/tunnel-socket';

function fakeStream(): Http2Stream {
  const s = new PassThrough() as unknown as Http2Stream & { rstCode?: number };
  (s as unknown as { close: () => void }).close = () => s.destroy();
  return s;
}

const ADDRESSES = { remoteAddress: '10.0.0.1', remotePort: 1, localAddress: '10.0.0.2', localPort: 2 };

t.test('setTimeout(0, cb) takes cb off, as net.Socket does', async (t) => {
  const socket = new TunnelSocket(fakeStream(), ADDRESSES);
  const cb = (): void => undefined;
  // What node:http's client does around each request on a pooled connection.
  for (let i = 0; i < 1000; i++) {
    socket.setTimeout(4000, cb);
    socket.setTimeout(0, cb);
  }
  t.equal(socket.listenerCount('timeout'), 0, 'no listener left behind after 1,000 requests');
  socket.destroy();
});

t.test("'timeout' fires after the idle time without traffic", async (t) => {
  const socket = new TunnelSocket(fakeStream(), ADDRESSES);
  // The idle timer is unref'd, as a socket's is: hold the event loop open while we wait.
  const hold = setTimeout(() => undefined, 5000);
  const fired = new Promise<string>((resolve) => socket.setTimeout(30, () => resolve('timeout')));
  t.equal(await fired, 'timeout');
  clearTimeout(hold);
  socket.destroy();
});

t.test("traffic keeps 'timeout' away; silence brings it, once a silence", async (t) => {
  const stream = fakeStream();
  const socket = new TunnelSocket(stream, ADDRESSES);
  socket.on('data', () => undefined);
  const hold = setTimeout(() => undefined, 5000);
  let fired = 0;
  socket.setTimeout(60, () => fired++);
  socket.on('timeout', () => fired++);
  // 200 ms of a chunk every 20 ms: the timer is re-armed each time and never fires.
  for (let i = 0; i < 10; i++) {
    stream.write(Buffer.from('x'));
    await new Promise((r) => setTimeout(r, 20));
  }
  t.equal(fired, 0, 'no timeout while chunks keep coming');
  await new Promise((r) => setTimeout(r, 150));
  t.equal(fired, 2, 'then the timeout: the once-listener and the other, one time each');
  socket.setTimeout(0);
  stream.write(Buffer.from('x'));
  await new Promise((r) => setTimeout(r, 100));
  t.equal(fired, 2, 'setTimeout(0) turns it off');
  clearTimeout(hold);
  socket.destroy();
});
