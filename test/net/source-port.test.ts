// Local ports for dials from a pinned address (127.31.x): odd ports handed out in turn over the
// ephemeral range, and a port still tied to the same destination is skipped rather than failing
// the dial.
import t from 'tap';
import * as net from 'node:net';
import { once } from 'node:events';
import { FIRST_PORT, LAST_PORT, nextSourcePort } from '../../src/net/source-port';
import { HbonePool } from '../../src/hbone/pool';
import { expectIdentity } from '../../src/hbone/tls';
import { deliverToTcp } from '../../src/hbone/deliver';
import { close, hboneServer, listen, quietLog, readAll, workload } from '../fixtures/mesh';

t.test('odd ports come in turn within the ephemeral range and wrap around', async (t) => {
  const address = '127.31.9.9';
  const first = nextSourcePort(address);
  t.ok(first >= FIRST_PORT && first <= LAST_PORT, `${first} is in the range`);
  t.equal(first % 2, 1, 'odd: the even ports are left to connect() without bind()');
  let prev = first;
  let wrapped = false;
  for (let i = 0; i < (LAST_PORT - FIRST_PORT) / 2 + 1; i++) {
    const p = nextSourcePort(address);
    if (prev === LAST_PORT) {
      t.equal(p, FIRST_PORT, 'after the last port comes the first');
      wrapped = true;
    } else if (p !== prev + 2) {
      t.fail(`port ${p} after ${prev}`);
      break;
    }
    prev = p;
  }
  t.ok(wrapped, 'a full cycle wraps once');
  t.equal(prev, first, 'and comes back to where it started');
  const other = nextSourcePort('127.31.9.10');
  t.ok(other >= FIRST_PORT && other <= LAST_PORT, 'another address has its own sequence');
});

t.test('an inbound dial skips a local port that is busy towards the same app', async (t) => {
  const pinned = '127.31.0.9';
  const seen: number[] = [];
  const app = net.createServer({ allowHalfOpen: true }, (s) => {
    seen.push(s.remotePort ?? 0);
    s.on('error', () => undefined);
    s.pipe(s);
  });
  const appPort = await listen(app, '127.31.0.3');
  const serverCert = await workload('default', 'echo');
  const clientCert = await workload('default', 'sleep');
  const server = await hboneServer('127.31.0.1', serverCert, (conn) => {
    void deliverToTcp(conn, { host: '127.31.0.3', port: appPort, localAddress: pinned });
  });
  const pool = new HbonePool({ log: quietLog });
  // The port the next dial from `pinned` will try, held open to the app by someone else.
  const probe = nextSourcePort(pinned);
  const busy = probe === LAST_PORT ? FIRST_PORT : probe + 2;
  const blocker = net.connect({ host: '127.31.0.3', port: appPort, localAddress: pinned, localPort: busy });
  await once(blocker, 'connect');
  t.teardown(async () => {
    blocker.destroy();
    await pool.close();
    await server.close();
    await close(app);
    serverCert.stop();
    clientCert.stop();
  });

  const stream = await pool.connect({
    source: clientCert,
    expect: expectIdentity(serverCert.spiffeId),
    address: '127.31.0.1',
    sourceIp: '127.31.0.2',
    authority: `127.31.0.3:${appPort}`,
  });
  const reply = readAll(stream as unknown as net.Socket);
  stream.end('through');
  t.equal((await reply).toString(), 'through', 'the tunnel works');
  t.equal(seen.length, 2, 'the blocker and the tunnel reached the app');
  t.equal(seen[0], busy);
  t.not(seen[1], busy, 'the tunnel left from another port');
  t.equal(seen[1], busy === LAST_PORT ? FIRST_PORT : busy + 2, 'the next one in turn');
});
