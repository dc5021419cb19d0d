// A session whose PINGs go unanswered is dropped, and its streams end as resets.
import t from 'tap';
import * as net from 'node:net';
import { HbonePool } from '../../src/hbone/pool';
import { expectIdentity } from '../../src/hbone/tls';
import { hboneServer, workload, echoApp, close, listen, quietLog } from '../fixtures/mesh';

const SERVER_IP = '127.24.0.1';
const RELAY_IP = '127.24.0.2';

/** A TCP relay that can start swallowing bytes, as a dead path or a frozen peer would. */
async function blackholeRelay(target: { host: string; port: number }) {
  let swallowing = false;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((a) => {
    const b = net.connect(target);
    for (const s of [a, b]) {
      sockets.add(s);
      s.on('error', () => undefined);
      s.on('close', () => sockets.delete(s));
    }
    a.on('data', (d) => swallowing || b.write(d));
    b.on('data', (d) => swallowing || a.write(d));
  });
  const port = await listen(server, RELAY_IP);
  return {
    port,
    swallow: () => (swallowing = true),
    close: async () => {
      for (const s of sockets) s.destroy();
      await close(server);
    },
  };
}

t.test('an unanswered PING drops the session and resets its streams', async (t) => {
  const serverCert = await workload('default', 'productpage');
  const clientCert = await workload('default', 'sleep');
  const app = await echoApp(SERVER_IP);
  const server = await hboneServer(SERVER_IP, serverCert);
  const relay = await blackholeRelay({ host: SERVER_IP, port: 15008 });
  const pool = new HbonePool({ log: quietLog, keepalive: { intervalMs: 100, timeoutMs: 300 } });
  t.teardown(async () => {
    await pool.close();
    await relay.close();
    await server.close();
    await close(app.server);
  });
  const stream = await pool.connect({
    source: clientCert,
    expect: expectIdentity(serverCert.spiffeId),
    address: RELAY_IP,
    port: relay.port,
    authority: `${SERVER_IP}:${app.port}`,
  });
  stream.write('hello');
  await new Promise((r) => stream.once('data', r));
  t.equal(pool.openSessions, 1);

  // Healthy: several keepalive rounds pass without dropping anything.
  await new Promise((r) => setTimeout(r, 600));
  t.equal(pool.openSessions, 1, 'answered PINGs keep the session');

  relay.swallow();
  const started = Date.now();
  await new Promise<void>((r) => stream.once('close', () => r()));
  const took = Date.now() - started;
  t.ok(took >= 300 && took < 2000, `the session was dropped ${took} ms after the path went silent`);
  t.equal(stream.readableEnded, false, 'the stream ended as a reset, not a clean EOF');
  await new Promise((r) => setTimeout(r, 50));
  t.equal(pool.openSessions, 0, 'the dead session left the pool');
});
