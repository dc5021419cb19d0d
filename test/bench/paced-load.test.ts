// The paced load generator against local HTTP servers on 127.0.0.1: its schedule, the
// coordinated-omission correction, and that every request is accounted for. No timing asserts
// beyond orderings that hold on any machine.
import t, { type Test } from 'tap';
import * as http from 'node:http';
import * as https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { drivePaced, intendedOffsetMs } from '../../bench/paced-load';
import { testCa, workload } from '../fixtures/mesh';

const BODY = Buffer.alloc(1024, 0x61);

type Handler = (req: http.IncomingMessage, res: http.ServerResponse, n: number) => void;

/** An echo server; `handle` may answer differently. Requests are numbered in arrival order. */
async function server(t: Test, handle?: Handler): Promise<string> {
  let n = 0;
  const s = http.createServer((req, res) => {
    const i = n++;
    if (handle) return handle(req, res, i);
    res.writeHead(200, { 'content-length': req.headers['content-length'] });
    req.pipe(res);
  });
  s.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  t.teardown(() => {
    s.closeAllConnections();
    s.close();
  });
  return `http://127.0.0.1:${(s.address() as AddressInfo).port}/echo`;
}

t.test('intended send times: one every 1/rate, the connections taking turns', async (t) => {
  t.equal(intendedOffsetMs(0, 0, 16, 1000), 0);
  t.equal(intendedOffsetMs(0, 1, 16, 1000), 1);
  t.equal(intendedOffsetMs(1, 0, 16, 1000), 16, "connection 0's second request after every connection's first");
  t.equal(intendedOffsetMs(2, 3, 4, 100), 110);
});

t.test('each connection sends on its own schedule, evenly spaced, never early', async (t) => {
  const url = await server(t);
  const C = 4;
  const RATE = 200;
  const sends: { conn: number; intended: number; written: number }[] = [];
  const run = await drivePaced({
    url,
    connections: C,
    rate: RATE,
    seconds: 0.4,
    body: BODY,
    onSend: (conn, intended, written) => sends.push({ conn, intended, written }),
  });
  t.equal(run.sent, 80);
  t.equal(run.answered, 80);
  t.equal(run.errors, 0);
  t.equal(run.non2xx, 0);
  t.equal(run.latenciesMs.length, 80);
  t.equal(run.sendLatenessMs.length, 80);
  const t0 = Math.min(...sends.map((s) => s.intended));
  for (let i = 0; i < C; i++) {
    const mine = sends.filter((s) => s.conn === i).map((s) => s.intended - t0);
    t.equal(mine.length, 20, `connection ${i}: its share`);
    mine.forEach((at, k) => t.ok(Math.abs(at - intendedOffsetMs(k, i, C, RATE)) < 1e-6, `connection ${i} request ${k} intended at ${at}`));
  }
  t.ok(
    sends.every((s) => s.written >= s.intended),
    'nothing written before its time',
  );
  t.ok(
    run.latenciesMs.every((ms, i) => ms >= run.sendLatenessMs[i]),
    'every latency includes its lateness',
  );
});

t.test('a slow answer: the requests queued behind it are timed from when they should have gone', async (t) => {
  const STALL_MS = 300;
  // The fifth request to arrive (connection 0's second) is held; the requests due on its
  // connection meanwhile wait for it.
  const url = await server(t, (req, res, n) => {
    const answer = () => {
      res.writeHead(200, { 'content-length': req.headers['content-length'] });
      req.pipe(res);
    };
    if (n === 4) setTimeout(answer, STALL_MS);
    else answer();
  });
  const sends: { conn: number; intended: number; written: number }[] = [];
  const run = await drivePaced({
    url,
    connections: 4,
    rate: 100,
    seconds: 1,
    body: BODY,
    onSend: (conn, intended, written) => sends.push({ conn, intended, written }),
  });
  t.equal(run.sent, 100);
  t.equal(run.answered, 100);
  t.equal(run.errors, 0);
  const held = sends.filter((s) => s.written - s.intended > STALL_MS / 3);
  t.ok(held.length >= 2, `requests waited for the busy connection (${held.length})`);
  const late = Array.from(run.latenciesMs).filter((ms) => ms > STALL_MS / 3);
  // Slow: the stalled request itself (sent on time) and every one queued behind it (sent late).
  t.ok(late.length > held.length, `the requests queued behind the stall count the wait (${late.length} slow, ${held.length} sent late)`);
  t.ok(Math.max(...run.latenciesMs) >= STALL_MS, 'the stall itself');
  t.ok(Math.max(...run.sendLatenessMs) > STALL_MS / 3, 'the generator says its sends went late, and why');
});

t.test('nothing lost: sent == answered + errors when the server fails some', async (t) => {
  const url = await server(t, (req, res, n) => {
    if (n % 10 === 3) return req.socket.destroy();
    if (n % 10 === 7) {
      res.writeHead(503, { 'content-length': 0 });
      return res.end();
    }
    res.writeHead(200, { 'content-length': req.headers['content-length'] });
    req.pipe(res);
  });
  const run = await drivePaced({ url, connections: 3, rate: 200, seconds: 0.5, body: BODY });
  t.equal(run.sent, 100);
  t.equal(run.sent, run.answered + run.errors);
  t.ok(run.errors >= 5, `broken connections are errors (${run.errors})`);
  t.ok(run.non2xx >= 5, `503s are non-2xx (${run.non2xx})`);
  t.equal(run.latenciesMs.length, run.answered);
});

t.test('warm-up requests are sent but not counted; chunked answers are read', async (t) => {
  let received = 0;
  const url = await server(t, (req, res) => {
    received++;
    // No content-length: node answers chunked.
    res.writeHead(200, { 'content-type': 'application/octet-stream' });
    req.pipe(res);
  });
  const run = await drivePaced({ url, connections: 2, rate: 200, seconds: 0.2, warmupSeconds: 0.1, body: BODY, headers: { host: 'http-echo' } });
  t.equal(received, 60);
  t.equal(run.sent, 40);
  t.equal(run.answered, 40);
  t.equal(run.errors, 0);
  t.ok(run.rps > 0 && run.seconds > 0.19, `rps ${run.rps}, over ${run.seconds} s`);
});

t.test('a target that refuses connections: every request an error, and it still ends', async (t) => {
  // A port that was free a moment ago, with nothing listening on it now.
  const port = await new Promise<number>((resolve) => {
    const s = http.createServer();
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as AddressInfo).port;
      s.close(() => resolve(p));
    });
  });
  const run = await drivePaced({ url: `http://127.0.0.1:${port}/echo`, connections: 2, rate: 100, seconds: 0.1, body: BODY });
  t.equal(run.sent, 10);
  t.equal(run.answered, 0);
  t.equal(run.errors, 10);
});

t.test('over mutual TLS: handshakes before the clock, the client certificate presented, every request answered', async (t) => {
  const ca = await testCa('cluster.local');
  const serverCert = await workload('bench', 'waypoint', { ca });
  const clientCert = await workload('bench', 'client', { ca });
  t.teardown(() => (serverCert.stop(), clientCert.stop()));
  const peers = new Set<string | undefined>();
  // Every handshake takes a second (the server picks its certificate late): a request whose clock
  // started before its connection's handshake ended would take longer than that.
  const SLOW_HANDSHAKE_MS = 1000;
  const options: https.ServerOptions = {
    ...serverCert.tls,
    requestCert: true,
    rejectUnauthorized: true,
    minVersion: 'TLSv1.3',
    SNICallback: (_name, done) => setTimeout(() => done(null), SLOW_HANDSHAKE_MS),
  };
  const s = https.createServer(options, (req, res) => {
    peers.add((req.socket as TLSSocket).getPeerCertificate().subjectaltname);
    res.writeHead(200, { 'content-length': req.headers['content-length'] });
    req.pipe(res);
  });
  s.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  t.teardown(() => {
    s.closeAllConnections();
    s.close();
  });
  const url = `https://127.0.0.1:${(s.address() as AddressInfo).port}/echo`;
  // The server's certificate names a SPIFFE identity, not 127.0.0.1: the chain is what is checked here.
  const tls = { ...clientCert.tls, servername: 'waypoint', checkServerIdentity: () => undefined };
  const run = await drivePaced({ url, tls, connections: 4, rate: 200, seconds: 0.2, body: BODY });
  t.equal(run.answered, 40);
  t.equal(run.errors, 0);
  t.equal(run.non2xx, 0);
  const slowest = run.latenciesMs.reduce((a, b) => Math.max(a, b), 0);
  t.ok(slowest < SLOW_HANDSHAKE_MS, `no counted request waited for a handshake (slowest ${slowest.toFixed(1)} ms)`);
  t.same([...peers], [`URI:${clientCert.spiffeId}`], 'the client certificate was presented');

  const noCert = await drivePaced({
    url,
    tls: { ca: clientCert.tls.ca, servername: 'waypoint', checkServerIdentity: () => undefined },
    connections: 1,
    rate: 100,
    seconds: 0.05,
    body: BODY,
  });
  t.equal(noCert.answered, 0, 'without a client certificate nothing is answered');
  t.equal(noCert.errors, 5);
  await t.rejects(drivePaced({ url, connections: 1, rate: 100, seconds: 0.05, body: BODY }), /tls options/);
  await t.rejects(drivePaced({ url: url.replace('https:', 'http:'), tls, connections: 1, rate: 100, seconds: 0.05, body: BODY }), /tls options/);
});
