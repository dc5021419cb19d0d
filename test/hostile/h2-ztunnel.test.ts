// Abuse of HTTP/2 against a real ztunnel's :15008 (ztunnel-node-b, the echo pod's listener), by
// an authenticated mesh peer: it holds a workload certificate from the mesh CA. Each case checks
// the protocol's answer, that ztunnel-node-b survived, that sleep -> echo kept working, and that
// the victim's memory and file descriptors came back.
import t from 'tap';
import { startMesh, l4Scenario, Mesh } from '../fixtures/scenario-mesh';
import { echoFlows } from './fixtures/echo-flows';
import { watch, procStats } from './fixtures/health';
import { loadOrCreateCa } from '../../src/identity/ca-store';
import { WorkloadCertificate } from '../../src/identity/workload-cert';
import { makeSpiffeId } from '../../src/identity/spiffe';
import { rapidReset } from '../../bench/attack/rapid-reset';
import {
  ErrorCode,
  Flag,
  FrameType,
  Setting,
  connectBlock,
  continuationFrame,
  dataFrame,
  headerBlock,
  headersFrame,
  pingFrame,
  rstStreamFrame,
  settingsFrame,
  windowUpdateFrame,
  errorName,
  responseStatus,
} from '../../bench/attack/h2-wire';
import { rawH2, reconnectOutcome, RawH2 } from '../hbone/fixtures/raw-h2';
import type { Frame } from '../../bench/attack/h2-wire';

const N = 102;
const VICTIM = 'ztunnel-node-b';
/** The echo pod's HBONE listener on node B, and what a CONNECT to its app names. */
const ECHO_HBONE = { host: `127.${N}.2.1`, port: 15008 };
const ECHO_AUTHORITY = `10.${N}.2.1:8080`;
const CAPTURE = { host: `127.${N}.0.1`, port: 15101 };
/** Attackers dial from addresses of their own: a cut-off source is refused for a while. */
let nextAttacker = 1;
const attackerAddress = (): string => `127.${N}.9.${nextAttacker++}`;

let mesh: Mesh;
let attacker: WorkloadCertificate;
let sleep: WorkloadCertificate;

t.before(async () => {
  mesh = await startMesh(l4Scenario(N), 'h2-ztunnel');
  const ca = await loadOrCreateCa(mesh.caDir);
  attacker = await WorkloadCertificate.obtain(makeSpiffeId('default', 'attacker'), ca);
  // The echo pod only admits sleep (its AuthorizationPolicy): the flow-control case speaks as it.
  sleep = await WorkloadCertificate.obtain(makeSpiffeId('default', 'sleep'), ca);
});
t.teardown(async () => {
  attacker?.stop();
  sleep?.stop();
  await mesh?.stop();
});

/** Other traffic: sleep -> echo through node A's capture, byte-exact. */
function flowing(): Promise<void> {
  return echoFlows(CAPTURE);
}

/** A raw HTTP/2 connection, once the server's SETTINGS are acknowledged (its writes settled). */
async function settled(cert = attacker): Promise<RawH2> {
  const raw = await rawH2({ ...ECHO_HBONE, tls: cert.tls, localAddress: attackerAddress() });
  await raw.next((f) => f.type === FrameType.SETTINGS && (f.flags & Flag.ACK) !== 0);
  return raw;
}

const isGoaway = (f: Frame) => f.type === FrameType.GOAWAY;
const goawayCodeOf = (f: Frame) => f.payload.readUInt32BE(4);
const rstOf = (raw: RawH2, stream: number) => raw.next((f) => f.type === FrameType.RST_STREAM && f.streamId === stream);
const statusOf = async (raw: RawH2, stream: number): Promise<number | string> => {
  const f = await raw.next((x) => (x.type === FrameType.HEADERS || x.type === FrameType.RST_STREAM) && x.streamId === stream);
  if (f.type === FrameType.RST_STREAM) return `RST_STREAM ${errorName(f.payload.readUInt32BE(0))}`;
  return responseStatus(f.payload) ?? `HEADERS ${f.payload.toString('hex')}`;
};

t.test('rapid reset, HEADERS and RST_STREAM together: GOAWAY ENHANCE_YOUR_CALM, and the source is refused before TLS', async (t) => {
  const victim = watch(mesh, VICTIM);
  const from = attackerAddress();
  const raw = await rawH2({ ...ECHO_HBONE, tls: attacker.tls, localAddress: from });
  const batch: Buffer[] = [];
  for (let i = 0, id = 1; i < 200; i++, id += 2) batch.push(headersFrame(id, connectBlock(ECHO_AUTHORITY)), rstStreamFrame(id, ErrorCode.CANCEL));
  raw.write(Buffer.concat(batch));
  const goaway = await raw.goaway();
  t.equal(goaway.code, ErrorCode.ENHANCE_YOUR_CALM, 'GOAWAY ENHANCE_YOUR_CALM');
  t.equal(goaway.debug, 'too_many_resets');
  t.ok(goaway.lastStreamId < 399, `cut off before the 200th stream (last stream ${goaway.lastStreamId})`);
  await raw.closed;
  const again = await reconnectOutcome({ ...ECHO_HBONE, tls: attacker.tls, localAddress: from });
  t.not(again, 'handshake completed', `the same source reconnecting is refused at accept (${again})`);
  await victim.check(t, flowing);
});

t.test('rapid reset, sustained: two seconds of the bench attacker over 4 connections', async (t) => {
  const victim = watch(mesh, VICTIM);
  let served = 0;
  let failed = 0;
  let attacking = true;
  const others = (async () => {
    while (attacking) {
      await flowing().then(
        () => served++,
        () => failed++,
      );
    }
  })();
  const result = await rapidReset({ ...ECHO_HBONE, tls: attacker.tls, authority: ECHO_AUTHORITY, connections: 4, durationMs: 2000 });
  attacking = false;
  await others;
  t.ok(result.connections >= 1, `the attacker got ${result.connections} connections through, ${result.failures} refused`);
  t.same(Object.keys(result.goaways), ['ENHANCE_YOUR_CALM'], 'every connection it got was answered GOAWAY ENHANCE_YOUR_CALM');
  t.ok(result.failures > 0, 'its reconnects were refused');
  t.ok(served > 0 && failed === 0, `sleep -> echo kept working during the attack (${served} served, ${failed} failed)`);
  await victim.check(t, flowing);
});

t.test('CONTINUATION flood: a header block that never ends gets GOAWAY past 8 CONTINUATIONs (nghttp2 >= 1.61)', async (t) => {
  const victim = watch(mesh, VICTIM);
  const raw = await settled();
  raw.write(headersFrame(1, connectBlock(ECHO_AUTHORITY), 0));
  const more = continuationFrame(1, headerBlock([['x-flood', 'a'.repeat(64)]]), false);
  raw.write(Buffer.concat(Array.from({ length: 5000 }, () => more)));
  const goaway = await raw.next(isGoaway);
  t.equal(goawayCodeOf(goaway), ErrorCode.INTERNAL_ERROR, "GOAWAY (node:http2 reports nghttp2's refusal as INTERNAL_ERROR)");
  await raw.closed;
  t.pass('the connection was closed');
  await victim.check(t, flowing);
});

t.test('header flood: 1,000 fields in one HEADERS is refused on that stream, the connection lives', async (t) => {
  const victim = watch(mesh, VICTIM);
  const raw = await settled();
  const fields: Array<[string, string]> = [
    [':method', 'CONNECT'],
    [':authority', ECHO_AUTHORITY],
  ];
  for (let i = 0; i < 1000; i++) fields.push([`x-h${i}`, 'v']);
  raw.write(headersFrame(1, headerBlock(fields)));
  const rst = await rstOf(raw, 1);
  t.equal(rst.payload.readUInt32BE(0), ErrorCode.ENHANCE_YOUR_CALM, 'RST_STREAM ENHANCE_YOUR_CALM (over 128 header pairs)');
  raw.write(pingFrame(Buffer.from('pingpong')));
  await raw.next((f) => f.type === FrameType.PING && (f.flags & Flag.ACK) !== 0);
  t.pass('the connection still answers PING');
  raw.close();
  await victim.check(t, flowing);
});

t.test('HPACK bomb: a 4 KB table entry referenced 3,000 times is refused on that stream', async (t) => {
  const victim = watch(mesh, VICTIM);
  const raw = await settled();
  // Literal with incremental indexing (0x40), new name "x-big", a 4,000-byte value: 4,037 bytes of
  // the 4,096-byte dynamic table. Then index 62 (0xbe), that entry, 3,000 times: 12 MB decoded
  // from 3 KB sent.
  const value = Buffer.alloc(4000, 0x61);
  const entry = Buffer.concat([Buffer.from([0x40, 5]), Buffer.from('x-big'), Buffer.from([0x7f, ((4000 - 127) & 0x7f) | 0x80, (4000 - 127) >> 7]), value]);
  raw.write(headersFrame(1, Buffer.concat([connectBlock(ECHO_AUTHORITY), entry, Buffer.alloc(3000, 0xbe)])));
  const rst = await rstOf(raw, 1);
  t.equal(rst.payload.readUInt32BE(0), ErrorCode.ENHANCE_YOUR_CALM, 'RST_STREAM ENHANCE_YOUR_CALM');
  raw.close();
  await victim.check(t, flowing);
});

t.test("a header list over 64 KB (ztunnel's limit) is refused on its stream", async (t) => {
  const victim = watch(mesh, VICTIM);
  const raw = await settled();
  const fields: Array<[string, string]> = [
    [':method', 'CONNECT'],
    [':authority', ECHO_AUTHORITY],
  ];
  for (let i = 0; i < 20; i++) fields.push([`x-h${i}`, 'v'.repeat(4000)]);
  const block = headerBlock(fields);
  // 80 KB in a HEADERS and 5 CONTINUATIONs (nghttp2 allows 8).
  const frames = [headersFrame(1, block.subarray(0, 16000), 0)];
  for (let off = 16000; off < block.length; off += 16000) frames.push(continuationFrame(1, block.subarray(off, off + 16000), off + 16000 >= block.length));
  raw.write(Buffer.concat(frames));
  t.equal(await statusOf(raw, 1), 'RST_STREAM ENHANCE_YOUR_CALM', 'RST_STREAM ENHANCE_YOUR_CALM (h2 in ztunnel answers 431)');
  raw.write(pingFrame(Buffer.from('pingpong')));
  await raw.next((f) => f.type === FrameType.PING && (f.flags & Flag.ACK) !== 0);
  t.pass('the connection still answers PING');
  raw.close();
  await victim.check(t, flowing);
});

t.test('malformed CONNECT authorities: PROTOCOL_ERROR where HTTP/2 forbids them, 400 from ztunnel otherwise', async (t) => {
  const victim = watch(mesh, VICTIM);
  const raw = await settled();
  const cases: Array<[string, Buffer, number | string]> = [
    [
      'empty',
      headerBlock([
        [':method', 'CONNECT'],
        [':authority', ''],
      ]),
      'RST_STREAM PROTOCOL_ERROR',
    ],
    ['missing', headerBlock([[':method', 'CONNECT']]), 'RST_STREAM PROTOCOL_ERROR'],
    [
      'with a space',
      headerBlock([
        [':method', 'CONNECT'],
        [':authority', 'a b:80'],
      ]),
      'RST_STREAM PROTOCOL_ERROR',
    ],
    [
      'with a path',
      headerBlock([
        [':method', 'CONNECT'],
        [':authority', `${ECHO_AUTHORITY}/x`],
      ]),
      'RST_STREAM PROTOCOL_ERROR',
    ],
    [
      'CONNECT with :scheme and :path',
      headerBlock([
        [':method', 'CONNECT'],
        [':authority', ECHO_AUTHORITY],
        [':scheme', 'https'],
        [':path', '/'],
      ]),
      'RST_STREAM PROTOCOL_ERROR',
    ],
    ['a name, not an address', connectBlock('echo:8080'), 400],
    ['no port', connectBlock(`10.${N}.2.1`), 400],
    ['port 0', connectBlock(`10.${N}.2.1:0`), 400],
    ['port 99999', connectBlock(`10.${N}.2.1:99999`), 400],
    ['an unclosed IPv6 bracket', connectBlock('[::1:8080'), 400],
    ['8 KB long', connectBlock(`${'9'.repeat(8192)}:8080`), 400],
    ['another pod than the one dialled', connectBlock(`10.${N}.2.2:9000`), 400],
  ];
  let id = 1;
  for (const [what, block, want] of cases) {
    raw.write(headersFrame(id, block));
    t.equal(await statusOf(raw, id), want, `${what}: ${want}`);
    id += 2;
  }
  raw.close();
  await victim.check(t, flowing);
});

t.test('methods other than CONNECT are answered 400', async (t) => {
  const victim = watch(mesh, VICTIM);
  const raw = await settled();
  let id = 1;
  for (const method of ['GET', 'POST', 'DELETE', 'OPTIONS', 'PUT']) {
    raw.write(
      headersFrame(
        id,
        headerBlock([
          [':method', method],
          [':scheme', 'https'],
          [':path', '/'],
          [':authority', ECHO_AUTHORITY],
        ]),
        Flag.END_HEADERS | Flag.END_STREAM,
      ),
    );
    t.equal(await statusOf(raw, id), 400, `${method} -> 400`);
    id += 2;
  }
  raw.close();
  await victim.check(t, flowing);
});

t.test('a client that never reads: flow control stops the victim at the client window, memory stays bounded', async (t) => {
  const victim = watch(mesh, VICTIM);
  const raw = await settled(sleep);
  const STREAMS = 8;
  const CLIENT_WINDOW = 65_535; // our initial connection and stream windows, never updated
  const chunk = Buffer.alloc(16_000, 0x62);
  for (let s = 0, id = 1; s < STREAMS; s++, id += 2) {
    raw.write(headersFrame(id, connectBlock(ECHO_AUTHORITY)));
    t.equal(await statusOf(raw, id), 200, `tunnel ${id} up`);
    // 1 MB each: the server's stream window (1 MiB) allows it; the echo app sends it all back.
    raw.write(Buffer.concat(Array.from({ length: 64 }, () => dataFrame(id, chunk))));
  }
  await new Promise((r) => setTimeout(r, 1500));
  const sent = raw.frames.filter((f) => f.type === FrameType.DATA).reduce((n, f) => n + f.payload.length, 0);
  t.ok(sent > 0 && sent <= CLIENT_WINDOW, `the victim sent ${sent} bytes, no more than our connection window (${CLIENT_WINDOW})`);
  t.notOk(raw.frames.some(isGoaway), 'no GOAWAY: a slow reader is not an error');
  const held = procStats(victim.baseline.pid).rssKb - victim.baseline.rssKb;
  t.ok(held < 32 * 1024, `while the reader stalls, the victim holds ${(held / 1024).toFixed(1)} MB more, not the 8 MB pushed at it and more`);
  // Reading now opens the windows: everything the app echoed arrives.
  for (let s = 0, id = 1; s < STREAMS; s++, id += 2) raw.write(windowUpdateFrame(id, 2 ** 24));
  raw.write(Buffer.concat([windowUpdateFrame(0, 2 ** 26), settingsFrame([[Setting.INITIAL_WINDOW_SIZE, 2 ** 24]])]));
  const deadline = Date.now() + 5000;
  const total = () => raw.frames.filter((f) => f.type === FrameType.DATA).reduce((n, f) => n + f.payload.length, 0);
  while (total() < STREAMS * 64 * chunk.length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  t.equal(total(), STREAMS * 64 * chunk.length, 'once read, every byte came back');
  raw.close();
  await victim.check(t, flowing);
});

t.test('SETTINGS flood from a peer that does not read: GOAWAY and a close', async (t) => {
  const victim = watch(mesh, VICTIM);
  const raw = await settled();
  raw.socket.pause();
  raw.write(Buffer.concat(Array.from({ length: 20_000 }, () => settingsFrame([[Setting.INITIAL_WINDOW_SIZE, 65_535]]))));
  await new Promise((r) => setTimeout(r, 500));
  raw.socket.resume();
  t.equal(goawayCodeOf(await raw.next(isGoaway)), ErrorCode.INTERNAL_ERROR, 'GOAWAY once its unread SETTINGS ACKs pile up');
  await raw.closed;
  await victim.check(t, flowing);
});

t.test('PING flood from a peer that does not read: the connection is closed', async (t) => {
  const victim = watch(mesh, VICTIM);
  const raw = await settled();
  raw.socket.pause();
  raw.write(Buffer.concat(Array.from({ length: 20_000 }, () => pingFrame())));
  await new Promise((r) => setTimeout(r, 500));
  raw.socket.resume();
  await raw.closed;
  const acks = raw.frames.filter((f) => f.type === FrameType.PING && (f.flags & Flag.ACK) !== 0).length;
  t.ok(acks < 20_000, `closed after ${acks} PING ACKs, not 20,000`);
  await victim.check(t, flowing);
});
