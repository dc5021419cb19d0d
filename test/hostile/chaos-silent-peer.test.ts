// A peer that goes silent without closing (127.107.0.x):
// what node:http2 over TLS sometimes makes of a ztunnel killed mid-transfer (the reset is never
// read while a write of the session is stuck, so the session stays "open"), played here by a
// TCP relay that stops passing bytes. The pool must not keep handing that session out: a
// CONNECT, or a request on a kept-alive tunnel of the waypoint, that waits makes the pool PING
// the session, and no answer drops it, so the caller fails in seconds, not when the keepalive
// gives up (20 to 30 s), and the next one gets a new session. A live but slow peer is kept.
import t, { Test } from 'tap';
import * as http from 'node:http';
import * as net from 'node:net';
import type { ClientHttp2Stream } from 'node:http2';
import { HbonePool, PROBE_AFTER_MS, PROBE_PING_TIMEOUT_MS } from '../../src/hbone/pool';
import { PING_TIMEOUT_MS } from '../../src/hbone/constants';
import { expectIdentity } from '../../src/hbone/tls';
import { UpstreamPool } from '../../src/waypoint/upstream-pool';
import type { ConnectHandler } from '../../src/hbone/server';
import { close, forwardToAuthority, hboneServer, listen, quietLog, workload } from '../fixtures/mesh';

const SERVER = '127.107.0.1';
const RELAY = '127.107.0.2';
const APP = '127.107.0.3';
const WAYPOINT = '127.107.0.4';
const HBONE = 15008;
/** Well past the probe (PROBE_AFTER_MS + PROBE_PING_TIMEOUT_MS), well before the keepalive. */
const FAIL_WITHIN_MS = PROBE_AFTER_MS + PROBE_PING_TIMEOUT_MS + 3000;
/** A peer slower than the probe's trigger, but alive. */
const SLOW_MS = PROBE_AFTER_MS + 1000;

/** A TCP relay RELAY:15008 -> SERVER:15008 whose connections can go silent: no byte passes, none closes. */
async function silenceableRelay(t: Test): Promise<{ silence(): void; connections(): number }> {
  const pairs = new Set<{ down: net.Socket; up: net.Socket; silent: boolean }>();
  let accepted = 0;
  const relay = net.createServer((down) => {
    accepted++;
    const pair = { down, up: net.connect({ host: SERVER, port: HBONE }), silent: false };
    pairs.add(pair);
    for (const [from, to] of [
      [pair.down, pair.up],
      [pair.up, pair.down],
    ] as const) {
      from.on('data', (d: Buffer) => {
        if (!pair.silent) to.write(d);
      });
      from.on('error', () => undefined);
      from.on('close', () => {
        if (!pair.silent) to.destroy();
      });
    }
  });
  await listen(relay, RELAY, HBONE);
  t.teardown(async () => {
    for (const p of pairs) {
      p.down.destroy();
      p.up.destroy();
    }
    await close(relay);
  });
  return {
    // The connections open now go silent; new ones relay normally (the peer restarted).
    silence: () => {
      for (const p of pairs) p.silent = true;
    },
    connections: () => accepted,
  };
}

async function setup(t: Test, handler: ConnectHandler = forwardToAuthority) {
  const serverCert = await workload('default', 'productpage');
  const clientCert = await workload('default', 'waypoint');
  const server = await hboneServer(SERVER, serverCert, handler);
  const pool = new HbonePool({ log: quietLog });
  t.teardown(async () => {
    await pool.close();
    await server.close();
    serverCert.stop();
    clientCert.stop();
  });
  const connect = (authority: string): Promise<ClientHttp2Stream> =>
    pool.connect({ source: clientCert, expect: expectIdentity(serverCert.spiffeId), address: RELAY, sourceIp: WAYPOINT, authority });
  return { pool, connect };
}

/** What a promise did within ms: resolved, rejected (with the message) or nothing yet. */
async function within<T>(p: Promise<T>, ms: number): Promise<{ state: 'resolved'; value: T } | { state: 'rejected'; error: string } | { state: 'pending' }> {
  let timer: NodeJS.Timeout | undefined;
  const pending = new Promise<{ state: 'pending' }>((r) => (timer = setTimeout(() => r({ state: 'pending' }), ms)));
  const settled = p.then(
    (value) => ({ state: 'resolved' as const, value }),
    (err: Error) => ({ state: 'rejected' as const, error: err.message }),
  );
  const r = await Promise.race([settled, pending]);
  clearTimeout(timer);
  return r;
}

async function echoApp(t: Test, delayMs = 0): Promise<number> {
  const app = http.createServer((req, res) => {
    req.resume();
    setTimeout(() => res.end('hello'), delayMs);
  });
  const port = await listen(app, APP);
  t.teardown(() => {
    app.closeAllConnections();
    return close(app);
  });
  return port;
}

t.test('HbonePool: a CONNECT on a session whose peer went silent fails within seconds; the next one gets a new session', async (t) => {
  const relay = await silenceableRelay(t);
  const port = await echoApp(t);
  const { pool, connect } = await setup(t);
  const first = await connect(`${APP}:${port}`);
  first.close();
  t.equal(pool.sessionsOpened, 1);

  relay.silence();
  const stuck = await within(connect(`${APP}:${port}`), FAIL_WITHIN_MS);
  t.equal(
    stuck.state,
    'rejected',
    `the CONNECT on the silent session failed within ${FAIL_WITHIN_MS} ms (the keepalive alone takes ${PING_TIMEOUT_MS} to ${PING_TIMEOUT_MS + 10_000} ms)`,
  );
  if (stuck.state === 'rejected') t.match(stuck.error, /no PING ack/, `and says why: ${stuck.error}`);
  await new Promise((r) => setTimeout(r, 50)); // the session's own 'error' and 'close' follow its streams'
  t.equal(pool.openSessions, 0, 'the silent session left the pool');

  const again = await within(connect(`${APP}:${port}`), 5000);
  t.equal(again.state, 'resolved', 'the next CONNECT works');
  if (again.state === 'resolved') again.value.close();
  t.equal(pool.sessionsOpened, 2, 'on a new session');
  t.equal(relay.connections(), 2);
});

t.test('HbonePool: a live peer slow to answer a CONNECT keeps its session (the PING is answered)', async (t) => {
  await silenceableRelay(t);
  const port = await echoApp(t);
  const slow: ConnectHandler = (conn) => void setTimeout(() => forwardToAuthority(conn), SLOW_MS);
  const { pool, connect } = await setup(t, slow);
  (await connect(`${APP}:${port}`)).close();
  const r = await within(connect(`${APP}:${port}`), SLOW_MS + 5000);
  t.equal(r.state, 'resolved', `answered after ${SLOW_MS} ms, past the probe's ${PROBE_AFTER_MS} ms`);
  if (r.state === 'resolved') r.value.close();
  t.equal(pool.sessionsOpened, 1, 'on the same session: the probe did not drop it');
});

/** GET / through the waypoint's upstream pool; resolves with the status and whether the tunnel was reused. */
function upstreamGet(upstreams: UpstreamPool, target: string): Promise<{ status: number; reused: boolean; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        method: 'GET',
        path: '/',
        agent: upstreams.agentFor(target),
        traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
      } as http.RequestOptions,
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, reused: req.reusedSocket, body }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end();
  });
}

async function waypointUpstreams(t: Test, appDelayMs = 0) {
  const relay = await silenceableRelay(t);
  const port = await echoApp(t, appDelayMs);
  const { pool, connect } = await setup(t);
  const upstreams = new UpstreamPool((target) => connect(target), WAYPOINT);
  t.teardown(() => upstreams.close());
  return { relay, pool, upstreams, target: `${APP}:${port}` };
}

t.test("the waypoint's upstream pool: a request on a kept-alive tunnel whose session went silent fails within seconds", async (t) => {
  const { relay, pool, upstreams, target } = await waypointUpstreams(t);
  t.same(await upstreamGet(upstreams, target), { status: 200, reused: false, body: 'hello' }, 'a first request opens a tunnel');
  relay.silence();
  const stuck = await within(upstreamGet(upstreams, target), FAIL_WITHIN_MS);
  t.equal(stuck.state, 'rejected', `the request on the kept-alive tunnel failed within ${FAIL_WITHIN_MS} ms, not after the keepalive`);
  const again = await within(upstreamGet(upstreams, target), 5000);
  t.same(again, { state: 'resolved', value: { status: 200, reused: false, body: 'hello' } }, 'the next request opens a new tunnel and works');
  t.equal(pool.sessionsOpened, 2, 'on a new session');
});

t.test("the waypoint's upstream pool: a slow response on a reused tunnel is waited for", async (t) => {
  const { pool, upstreams, target } = await waypointUpstreams(t, SLOW_MS);
  t.same(await upstreamGet(upstreams, target), { status: 200, reused: false, body: 'hello' });
  const r = await within(upstreamGet(upstreams, target), SLOW_MS + 5000);
  t.same(r, { state: 'resolved', value: { status: 200, reused: true, body: 'hello' } }, `answered after ${SLOW_MS} ms on the reused tunnel`);
  t.equal(pool.sessionsOpened, 1, 'the session was kept');
});
