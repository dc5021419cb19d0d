// HTTP/2 rapid reset (CVE-2023-44487) against the HBONE server: h2's bound on streams reset
// before they were accepted, Envoy's premature-reset rule, the GOAWAY ENHANCE_YOUR_CALM that
// answers either, the penalty on the source, and honest sessions on the same server untouched.
import t from 'tap';
import * as http2 from 'node:http2';
import { HboneServer, InboundConnect } from '../../src/hbone/server';
import { HbonePool } from '../../src/hbone/pool';
import { expectIdentity } from '../../src/hbone/tls';
import { logger } from '../../src/telemetry/log';
import { ErrorCode, FrameType, connectBlock, headersFrame, rstStreamFrame, pingFrame, Flag } from '../../bench/attack/h2-wire';
import { workload, echoApp, close, quietLog, forwardToAuthority } from '../fixtures/mesh';
import { rawH2 } from './fixtures/raw-h2';

const SERVER_IP = '127.101.2.1';
const ATTACKER_IP = '127.101.2.2';
const HONEST_IP = '127.101.2.3';
const ATTACKER_ID = 'spiffe://cluster.local/ns/default/sa/attacker';

/** HEADERS(CONNECT) then RST_STREAM(CANCEL) for streams 1, 3, 5, ... in one buffer. */
function pairs(n: number, first = 1): Buffer {
  const out: Buffer[] = [];
  for (let i = 0; i < n; i++) {
    const id = first + 2 * i;
    out.push(headersFrame(id, connectBlock(`${SERVER_IP}:9`)), rstStreamFrame(id, ErrorCode.CANCEL));
  }
  return Buffer.concat(out);
}

async function echoOnce(pool: HbonePool, source: Awaited<ReturnType<typeof workload>>, server: HboneServer, authority: string): Promise<string> {
  const stream = await pool.connect({ source, expect: expectIdentity(server.identity), address: SERVER_IP, sourceIp: HONEST_IP, authority });
  const chunks: Buffer[] = [];
  stream.on('data', (c: Buffer) => chunks.push(c));
  stream.end('ping');
  await new Promise((r) => stream.on('end', r));
  return Buffer.concat(chunks).toString();
}

t.test('streams reset with their HEADERS: GOAWAY ENHANCE_YOUR_CALM after 20, no handler work, honest traffic untouched', async (t) => {
  const serverCert = await workload('default', 'productpage');
  const attacker = await workload('default', 'attacker');
  const honest = await workload('default', 'sleep');
  const app = await echoApp(SERVER_IP);
  const lines: string[] = [];
  let handled = 0;
  const server = new HboneServer({
    address: SERVER_IP,
    certificate: serverCert,
    handler: (c) => {
      handled++;
      forwardToAuthority(c);
    },
    log: logger('hbone::server', (l) => lines.push(l)),
  });
  await server.listen();
  const pool = new HbonePool({ log: quietLog });
  t.teardown(async () => {
    await pool.close();
    await server.close();
    await close(app.server);
    for (const c of [serverCert, attacker, honest]) c.stop();
  });
  const authority = `${SERVER_IP}:${app.port}`;
  t.equal(await echoOnce(pool, honest, server, authority), 'ping', 'an honest session is up before the attack');
  const handledBefore = handled;

  const raw = await rawH2({ host: SERVER_IP, port: server.endpoint.port, tls: attacker.tls, localAddress: ATTACKER_IP });
  raw.write(pairs(100));
  const goaway = await raw.goaway();
  t.equal(goaway.code, ErrorCode.ENHANCE_YOUR_CALM, 'GOAWAY ENHANCE_YOUR_CALM');
  t.equal(goaway.debug, 'too_many_resets', "its debug data names h2's rule");
  t.ok(
    goaway.lastStreamId >= 41 && goaway.lastStreamId < 199,
    `the 21st reset stream (41) tripped it, long before the 100th (last stream ${goaway.lastStreamId})`,
  );
  await raw.closed;
  t.equal(handled, handledBefore, 'no reset stream reached the handler');
  t.equal(server.stats.downstream_cx_too_many_pending_resets, 1);
  const cut = lines.find((l) => l.includes('closing HBONE connection: rapid reset'));
  t.match(cut, `src.identity=${ATTACKER_ID}`, 'the log names who was cut off');
  t.match(cut, new RegExp(`src\\.addr=${ATTACKER_IP.replace(/\./g, '\\.')}:\\d+`), 'and from where');
  t.match(cut, 'goaway=ENHANCE_YOUR_CALM');
  t.same(server.peerStreamsOf(ATTACKER_ID), { open: 0, pending: 0 }, "the attacker's streams are all accounted for");

  // The source is refused before TLS for a while; everyone else is served.
  const again = await rawH2({ host: SERVER_IP, port: server.endpoint.port, tls: attacker.tls, localAddress: ATTACKER_IP }).then(
    () => 'handshake completed',
    (err: NodeJS.ErrnoException) => err.code ?? err.message,
  );
  t.match(again, /ECONNRESET|socket disconnected|EPIPE/, `a new connection from the attacker's address is closed before TLS (${again})`);
  t.equal(server.stats.downstream_cx_penalized, 1);
  t.equal(await echoOnce(pool, honest, server, authority), 'ping', 'the honest session kept working');
  await pool.close();
  const fresh = new HbonePool({ log: quietLog });
  t.teardown(() => fresh.close());
  t.equal(await echoOnce(fresh, honest, server, authority), 'ping', 'and a new honest session is admitted');
});

t.test("Envoy's rule: the 250th stream reset before its answer closes the connection", async (t) => {
  const serverCert = await workload('default', 'productpage');
  const attacker = await workload('default', 'attacker');
  const held: InboundConnect[] = [];
  let arrived: (() => void) | undefined;
  const server = new HboneServer({
    address: SERVER_IP,
    certificate: serverCert,
    // A handler that never answers: each stream stays pending until the peer resets it.
    handler: (c) => {
      held.push(c);
      arrived?.();
    },
    log: quietLog,
  });
  await server.listen();
  t.teardown(async () => {
    await server.close();
    serverCert.stop();
    attacker.stop();
  });
  const raw = await rawH2({ host: SERVER_IP, port: server.endpoint.port, tls: attacker.tls, localAddress: '127.101.2.4' });
  // One stream at a time, reset only once the handler has it: h2's accept-queue bound never
  // sees these; each is premature (no answer, under a second old).
  let stream = 1;
  while (!raw.frames.some((f) => f.type === FrameType.GOAWAY) && stream < 1200) {
    const handedOver = new Promise<void>((r) => (arrived = r));
    raw.write(headersFrame(stream, connectBlock(`${SERVER_IP}:9`)));
    const outcome = await Promise.race([handedOver.then(() => 'handed'), raw.next((f) => f.type === FrameType.GOAWAY).then(() => 'goaway')]);
    if (outcome === 'goaway') break;
    raw.write(rstStreamFrame(stream, ErrorCode.CANCEL));
    stream += 2;
  }
  const goaway = await raw.goaway();
  t.equal(goaway.code, ErrorCode.ENHANCE_YOUR_CALM);
  t.equal(goaway.debug, 'too_many_premature_resets', "its debug data names Envoy's rule");
  t.equal(held.length, 250, 'cut off at the 250th premature reset (half of 500), not before');
  t.equal(server.stats.downstream_rq_too_many_premature_resets, 1, 'counted as downstream_rq_too_many_premature_resets');
  t.equal(server.stats.downstream_cx_too_many_pending_resets, 0);
  await raw.closed;
});

t.test('streams answered before the peer resets them are not premature: no GOAWAY after 600', async (t) => {
  const serverCert = await workload('default', 'productpage');
  const client = await workload('default', 'sleep');
  const server = new HboneServer({ address: SERVER_IP, certificate: serverCert, handler: (c) => c.accept(), log: quietLog });
  await server.listen();
  t.teardown(async () => {
    await server.close();
    serverCert.stop();
    client.stop();
  });
  const raw = await rawH2({ host: SERVER_IP, port: server.endpoint.port, tls: client.tls, localAddress: '127.101.2.5' });
  for (let i = 0, id = 1; i < 600; i++, id += 2) {
    raw.write(headersFrame(id, connectBlock(`${SERVER_IP}:9`)));
    await raw.next((f) => f.type === FrameType.HEADERS && f.streamId === id);
    raw.write(rstStreamFrame(id, ErrorCode.CANCEL));
  }
  raw.write(pingFrame(Buffer.from('stillok!')));
  const ack = await raw.next((f) => f.type === FrameType.PING && (f.flags & Flag.ACK) !== 0);
  t.equal(ack.payload.toString(), 'stillok!', 'the connection is still served');
  t.notOk(
    raw.frames.some((f) => f.type === FrameType.GOAWAY),
    'no GOAWAY',
  );
  t.equal(server.stats.downstream_rq_too_many_premature_resets + server.stats.downstream_cx_too_many_pending_resets, 0);
  raw.close();
});

/** A CONNECT on a node:http2 client session: the status, or the RST_STREAM code that refused it. */
function connect(session: http2.ClientHttp2Session, waitMs = 3000): Promise<{ status?: number; rst?: number; stream: http2.ClientHttp2Stream }> {
  return new Promise((resolve) => {
    const stream = session.request({ ':method': 'CONNECT', ':authority': `${SERVER_IP}:9` }, { endStream: false });
    // Neither answered nor refused: the server is holding it (what a missing limit looks like).
    const timer = setTimeout(() => resolve({ stream }), waitMs);
    const done = (r: { status?: number; rst?: number }): void => {
      clearTimeout(timer);
      resolve({ ...r, stream });
    };
    stream.on('response', (h) => done({ status: Number(h[':status']) }));
    stream.on('error', () => undefined);
    stream.on('close', () => done({ rst: stream.rstCode }));
  });
}

function h2Session(cert: Awaited<ReturnType<typeof workload>>, server: HboneServer): http2.ClientHttp2Session {
  const s = http2.connect(`https://${SERVER_IP}:${server.endpoint.port}`, {
    ca: cert.tls.ca,
    cert: cert.tls.cert,
    key: cert.tls.key,
    checkServerIdentity: () => undefined,
  });
  s.on('error', () => undefined);
  return s;
}

t.test('per peer: pending streams are capped across its connections; other peers are not', async (t) => {
  const serverCert = await workload('default', 'productpage');
  const greedy = await workload('default', 'greedy');
  const other = await workload('default', 'other');
  const held: InboundConnect[] = [];
  const server = new HboneServer({
    address: SERVER_IP,
    certificate: serverCert,
    handler: (c) => held.push(c),
    log: quietLog,
    peerLimits: { maxOpen: 100, maxPending: 3 },
  });
  await server.listen();
  const sessions = [h2Session(greedy, server), h2Session(greedy, server), h2Session(other, server)];
  t.teardown(async () => {
    for (const s of sessions) s.destroy();
    await server.close();
    for (const c of [serverCert, greedy, other]) c.stop();
  });
  const [a, b, c] = sessions;
  const first = [connect(a), connect(b), connect(a)];
  await new Promise((r) => setTimeout(r, 100));
  t.equal(held.length, 3, 'three pending streams reached the handler');
  const refused = await Promise.all([connect(b), connect(a)]);
  for (const r of refused) t.equal(r.rst, http2.constants.NGHTTP2_REFUSED_STREAM, 'the fourth and fifth, on either connection: RST_STREAM REFUSED_STREAM');
  t.equal(server.stats.downstream_rq_peer_pending_limit, 2);
  const fromOther = connect(c);
  await new Promise((r) => setTimeout(r, 100));
  t.equal(held.length, 4, 'another identity is not held back');
  held[0].accept();
  t.equal((await first[0]).status, 200);
  const after = connect(b);
  await new Promise((r) => setTimeout(r, 100));
  t.equal(held.length, 5, 'an answered stream frees its place');
  t.same(server.peerStreamsOf(greedy.spiffeId), { open: 4, pending: 3 });
  for (const h of held.slice(1)) h.accept();
  t.equal((await after).status, 200);
  t.equal((await fromOther).status, 200);
});

t.test('per peer: open streams are capped; closing one frees a place', async (t) => {
  const serverCert = await workload('default', 'productpage');
  const greedy = await workload('default', 'greedy');
  const server = new HboneServer({
    address: SERVER_IP,
    certificate: serverCert,
    handler: (c) => c.accept(),
    log: quietLog,
    peerLimits: { maxOpen: 4, maxPending: 100 },
  });
  await server.listen();
  const sessions = [h2Session(greedy, server), h2Session(greedy, server)];
  t.teardown(async () => {
    for (const s of sessions) s.destroy();
    await server.close();
    serverCert.stop();
    greedy.stop();
  });
  const open = await Promise.all([connect(sessions[0]), connect(sessions[1]), connect(sessions[0]), connect(sessions[1])]);
  t.same(
    open.map((o) => o.status),
    [200, 200, 200, 200],
    'four tunnels up over two connections',
  );
  t.equal((await connect(sessions[0])).rst, http2.constants.NGHTTP2_REFUSED_STREAM, 'the fifth is refused');
  t.equal(server.stats.downstream_rq_peer_open_limit, 1);
  open[0].stream.close(http2.constants.NGHTTP2_CANCEL);
  await new Promise((r) => setTimeout(r, 100));
  t.equal((await connect(sessions[1])).status, 200, 'once one closes, a new one is accepted');
  for (const o of open) o.stream.close();
  await new Promise((r) => setTimeout(r, 100));
  t.same(server.peerStreamsOf(greedy.spiffeId), { open: 1, pending: 0 });
});
