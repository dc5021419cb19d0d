// The streaming core end to end: app -> capture -> HBONE -> server -> app, on loopback.
import t from 'tap';
import * as net from 'node:net';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { tunnelPath, readAll, sha256 } from '../fixtures/mesh';

const GiB = 1024 * 1024 * 1024;
const MiB = 1024 * 1024;

/** Writes `total` bytes of distinct 1 MiB blocks with backpressure; returns the sha256 sent. */
async function sendBlocks(s: net.Socket, total: number, onProgress?: (sent: number) => void): Promise<string> {
  const hash = sha256();
  const base = randomBytes(MiB);
  for (let sent = 0, i = 0; sent < total; i++) {
    const block = Buffer.from(base);
    block.writeUInt32BE(i, (i * 4096) % (MiB - 4)); // every block differs: reordering would show
    hash.update(block);
    sent += block.length;
    if (!s.write(block)) await once(s, 'drain');
    onProgress?.(sent);
  }
  s.end();
  return hash.digest('hex');
}

t.test('1 GiB byte-exact through one stream (sha256 at both ends)', async (t) => {
  let received = 0;
  let receivedHash = '';
  const done = new Promise<void>((resolve) => {
    void tunnelPath('127.22.1', (s) => {
      const h = sha256();
      s.on('data', (c: Buffer) => {
        received += c.length;
        h.update(c);
      });
      s.on('end', () => {
        receivedHash = h.digest('hex');
        s.end('ok');
        resolve();
      });
    }).then((p) => {
      t.teardown(() => p.close());
      const c = p.connect();
      const reply = readAll(c);
      void sendBlocks(c, GiB).then(async (sentHash) => {
        await done;
        t.equal(received, GiB, 'every byte arrived');
        t.equal(receivedHash, sentHash, 'sha256 matches');
        t.equal((await reply).toString(), 'ok', 'reply after EOF');
      });
    });
  });
  await done;
  await new Promise((r) => setTimeout(r, 50));
});

t.test('half-close: the client ends first and still gets the reply written after its EOF', async (t) => {
  const p = await tunnelPath('127.22.2', (s) => {
    void readAll(s).then((got) => {
      // The app saw the client's FIN (END_STREAM -> FIN) and answers after it.
      setTimeout(() => s.end(`reply to ${got.toString()} after your EOF`), 50);
    });
  });
  t.teardown(() => p.close());
  const c = p.connect();
  c.end('hello');
  t.equal((await readAll(c)).toString(), 'reply to hello after your EOF');
});

t.test('half-close: the server ends first and still gets the data written after its EOF', async (t) => {
  let serverGot: Promise<Buffer> | undefined;
  const p = await tunnelPath('127.22.3', (s) => {
    serverGot = readAll(s);
    s.end('greeting, and that is all from me');
  });
  t.teardown(() => p.close());
  const c = p.connect();
  const greeting = await readAll(c);
  t.equal(greeting.toString(), 'greeting, and that is all from me');
  // Our read side is closed; our write side is still open and must reach the app.
  c.end('answer after your EOF');
  t.equal((await serverGot!).toString(), 'answer after your EOF');
});

t.test('reset: a client reset reaches the app as ECONNRESET, not a clean EOF', async (t) => {
  let appOutcome: Promise<string> | undefined;
  const appSawData = new Promise<void>((resolve) => {
    void tunnelPath('127.22.4', (s) => {
      appOutcome = new Promise((r) => {
        s.once('data', () => resolve());
        s.on('end', () => r('clean EOF'));
        s.on('error', (e: NodeJS.ErrnoException) => r(e.code ?? e.message));
      });
    }).then((p) => {
      t.teardown(() => p.close());
      const c = p.connect();
      c.write('partial request');
      void appSawData.then(() => c.resetAndDestroy());
    });
  });
  await appSawData;
  t.equal(await appOutcome, 'ECONNRESET');
});

t.test('reset: an app reset reaches the client as ECONNRESET, not a clean EOF', async (t) => {
  const p = await tunnelPath('127.22.5', (s) => {
    s.once('data', () => {
      s.write('partial response');
      setTimeout(() => s.resetAndDestroy(), 20);
    });
  });
  t.teardown(() => p.close());
  const c = p.connect();
  c.write('request');
  const outcome = await new Promise<string>((r) => {
    c.on('end', () => r('clean EOF'));
    c.on('error', (e: NodeJS.ErrnoException) => r(e.code ?? e.message));
    c.resume();
  });
  t.equal(outcome, 'ECONNRESET');
  await new Promise((r) => setTimeout(r, 50));
  t.match(p.outbound[0], { end: 'reset-by-tunnel' }, 'the client-side pipe saw a reset, not a close');
});

t.test('1,000 concurrent streams through one pool, all byte-exact', async (t) => {
  const STREAMS = 1000;
  const HALF = 32 * 1024;
  const p = await tunnelPath('127.22.6', (s) => s.pipe(s));
  t.teardown(() => p.close());
  // A barrier: every stream sends its first half and sees an echo before any stream ends,
  // so all 1,000 are open at the same moment.
  let arrived = 0;
  let releaseAll!: () => void;
  const allOpen = new Promise<void>((r) => (releaseAll = r));
  const results = await Promise.all(
    Array.from({ length: STREAMS }, async () => {
      const payload = randomBytes(2 * HALF);
      const c = p.connect();
      const echoed = readAll(c);
      c.write(payload.subarray(0, HALF));
      await once(c, 'data');
      if (++arrived === STREAMS) releaseAll();
      await allOpen;
      c.end(payload.subarray(HALF));
      return (await echoed).equals(payload);
    }),
  );
  t.equal(results.filter(Boolean).length, STREAMS, 'every stream echoed byte-exact');
  t.equal(p.pool.sessionsOpened, STREAMS / 100, 'the pool opened one session per 100 concurrent streams');
  t.equal(p.server.connectionsAccepted, STREAMS / 100);
  t.notOk(
    p.outbound.some((r) => 'refused' in r || r.end !== 'closed'),
    'no stream was refused or reset',
  );
});

t.test('pooling: sequential connections share one TLS session; a new one opens past 100 streams', async (t) => {
  const held: net.Socket[] = [];
  const p = await tunnelPath('127.22.7', (s) => {
    held.push(s);
    s.pipe(s);
  });
  t.teardown(() => p.close());
  for (let i = 0; i < 5; i++) {
    const c = p.connect();
    const echoed = readAll(c);
    c.end(`request ${i}`);
    t.equal((await echoed).toString(), `request ${i}`);
  }
  t.equal(p.server.connectionsAccepted, 1, 'five sequential tunnels, one TLS session');
  t.equal(p.pool.sessionsOpened, 1);

  // 101 tunnels open at once: the 101st needs a second session.
  const clients = Array.from({ length: 101 }, () => p.connect());
  await Promise.all(clients.map((c) => once(c, 'connect')));
  await Promise.all(
    clients.map(async (c, i) => {
      c.write(`x${i}`);
      await once(c, 'data');
    }),
  );
  t.equal(p.pool.sessionsOpened, 2, '101 concurrent streams use two sessions');
  t.equal(p.server.connectionsAccepted, 2);
  for (const c of clients) c.end();
  await Promise.all(clients.map((c) => once(c, 'close')));
});

t.test('pooling: a session that received GOAWAY is not reused; idle sessions are closed', async (t) => {
  const p = await tunnelPath('127.22.8', (s) => s.pipe(s), { pool: { idleTimeoutMs: 300 } });
  t.teardown(() => p.close());
  const roundTrip = async (): Promise<void> => {
    const c = p.connect();
    const echoed = readAll(c);
    c.end('ping');
    t.equal((await echoed).toString(), 'ping');
  };
  await roundTrip();
  t.equal(p.pool.openSessions, 1);
  // Server-side graceful shutdown sends GOAWAY; make a fresh listener afterwards.
  await p.server.close(1000);
  await p.server.listen();
  await roundTrip();
  t.equal(p.pool.sessionsOpened, 2, 'a new session after GOAWAY');
  await new Promise((r) => setTimeout(r, 600));
  t.equal(p.pool.openSessions, 0, 'the idle session was released');
});

t.test('a paused reader bounds what the sender can push during a 1 GiB send', async (t) => {
  const BOUND = 64 * MiB;
  let appSocket: net.Socket | undefined;
  let received = 0;
  const h = sha256();
  let appDone: Promise<void> | undefined;
  const p = await tunnelPath('127.22.9', (s) => {
    appSocket = s;
    s.pause(); // the reader does not read
    appDone = new Promise((resolve) => {
      s.on('data', (c: Buffer) => {
        received += c.length;
        h.update(c);
      });
      s.on('end', () => {
        s.end();
        resolve();
      });
    });
    s.pause();
  });
  t.teardown(() => p.close());
  const before = process.memoryUsage();
  let sent = 0;
  const c = p.connect();
  c.resume();
  const sending = sendBlocks(c, GiB, (n) => (sent = n));
  // Wait until the sender stalls: no progress for 500 ms.
  let last = -1;
  while (sent !== last) {
    last = sent;
    await new Promise((r) => setTimeout(r, 500));
  }
  const during = process.memoryUsage();
  const heldOff = sent;
  t.ok(heldOff < BOUND, `the sender stalled after ${(heldOff / MiB).toFixed(1)} MiB (bound ${BOUND / MiB} MiB)`);
  const grew = during.rss - before.rss;
  t.ok(grew < 2 * BOUND, `RSS grew ${(grew / MiB).toFixed(1)} MiB while paused (bound ${(2 * BOUND) / MiB} MiB)`);
  t.equal(received, 0, 'the reader really was paused');
  appSocket!.resume();
  const sentHash = await sending;
  await appDone;
  t.equal(received, GiB, 'after resuming, all of it arrived');
  t.equal(h.digest('hex'), sentHash, 'byte-exact');
});
