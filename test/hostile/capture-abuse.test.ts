// The capture side of ztunnel, abused: SOCKS5 garbage and stalls on a pod's :15080, and an app
// that never reads what a client sends through the mesh (backpressure end to end). Real
// processes on 10.106 (l4Scenario); the sink pod's app is left out and this test stands in for
// it on 10.106.2.2:9000 with a server that reads only when told to.
import t from 'tap';
import * as net from 'node:net';
import { randomBytes } from 'node:crypto';
import { startMesh, Mesh, l4Scenario } from '../fixtures/scenario-mesh';
import { echoFlows } from './fixtures/echo-flows';
import { watch, procStats, childPid } from './fixtures/health';

const N = 106;
const SOCKS = { host: `127.${N}.1.1`, port: 15080 }; // sleep's pod address
const IN_POD_CAPTURE = { host: `127.${N}.1.1`, port: 15001 }; // the same handshake, accepted first
const CAPTURE_SINK = { host: `127.${N}.0.1`, port: 15103 }; // sleep -> sink:9000
const CAPTURE_ECHO = { host: `127.${N}.0.1`, port: 15101 }; // sleep -> echo:8080
const SINK = { host: `127.${N}.2.2`, port: 9000 };
/** ztunnel's SOCKS5 handshake deadline (src/ztunnel/socks5-server.ts), plus a margin. */
const SOCKS_HANDSHAKE_WAIT_MS = 12_000;
/** File descriptors the baseline may hold of a connection still closing. */
const FD_JITTER = 4;

let mesh: Mesh;
/** The stand-in sink: holds every connection without reading until `reading` is set. */
const held: net.Socket[] = [];
let reading = false;
let received = 0;
let sink: net.Server;

t.before(async () => {
  mesh = await startMesh(l4Scenario(N), 'hostile-capture', ['sink']);
  sink = net.createServer({ allowHalfOpen: true }, (s) => {
    held.push(s);
    s.on('error', () => undefined);
    s.on('data', (c: Buffer) => (received += c.length));
    if (!reading) s.pause();
  });
  await new Promise<void>((r) => sink.listen(SINK.port, SINK.host, r));
});
t.teardown(async () => {
  for (const s of held) s.destroy();
  await new Promise((r) => sink?.close(r));
  await mesh?.stop();
});

/** sleep -> echo through the capture: 'hello' comes back. */
function flowing(): Promise<void> {
  return echoFlows(CAPTURE_ECHO, 'hello');
}

/** Writes `bytes` to sleep's SOCKS5 port and returns what came back before the close. */
function socks(bytes: Buffer, timeoutMs = 5000, at = SOCKS): Promise<{ reply: Buffer; ended: string }> {
  return new Promise((resolve) => {
    const s = net.connect(at);
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      s.destroy();
      resolve({ reply: Buffer.concat(chunks), ended: 'open' });
    }, timeoutMs);
    s.on('data', (c: Buffer) => chunks.push(c));
    let reset = false;
    s.on('close', () => {
      clearTimeout(timer);
      resolve({ reply: Buffer.concat(chunks), ended: reset ? 'reset' : 'closed' });
    });
    s.on('error', (e: NodeJS.ErrnoException) => (reset = e.code === 'ECONNRESET'));
    s.write(bytes);
  });
}

const GREETING = Buffer.from([5, 1, 0]);
const request = (cmd: number, atyp: number, addr: Buffer, port = 80): Buffer =>
  Buffer.concat([Buffer.from([5, cmd, 0, atyp]), addr, Buffer.from([port >> 8, port & 0xff])]);

const CASES: Array<{ what: string; bytes: Buffer; reply: number[] }> = [
  { what: 'SOCKS4 instead of SOCKS5', bytes: Buffer.from([4, 1, 0, 80, 10, 0, 0, 1, 0]), reply: [] },
  { what: 'no acceptable method (username/password only)', bytes: Buffer.from([5, 1, 2]), reply: [5, 0xff] },
  { what: 'BIND instead of CONNECT', bytes: Buffer.concat([GREETING, request(2, 1, Buffer.from([10, N, 2, 1]))]), reply: [5, 0, 5, 7] },
  { what: 'UDP ASSOCIATE', bytes: Buffer.concat([GREETING, request(3, 1, Buffer.from([10, N, 2, 1]))]), reply: [5, 0, 5, 7] },
  { what: 'an unknown address type', bytes: Buffer.concat([GREETING, Buffer.from([5, 1, 0, 9, 1, 2, 3, 4, 0, 80])]), reply: [5, 0, 5, 8] },
  { what: 'an empty domain name', bytes: Buffer.concat([GREETING, request(1, 3, Buffer.from([0]))]), reply: [5, 0, 5, 4] },
  { what: 'a domain name of control bytes', bytes: Buffer.concat([GREETING, request(1, 3, Buffer.from([4, 0, 1, 2, 3]))]), reply: [5, 0, 5, 4] },
  { what: 'a closed port outside the mesh', bytes: Buffer.concat([GREETING, request(1, 1, Buffer.from([10, N, 9, 9]), 1)]), reply: [5, 0, 5, 5] },
];

for (const c of CASES) {
  t.test(`SOCKS5: ${c.what}`, async (t) => {
    const victim = watch(mesh, 'ztunnel-node-a');
    const { reply, ended } = await socks(c.bytes);
    // The reply's first bytes: the method choice, then (if any) the request's reply code.
    t.same([...reply.subarray(0, c.reply.length)], c.reply, `answered ${JSON.stringify(c.reply)}`);
    t.not(ended, 'open', 'and closed');
    await victim.check(t, flowing);
  });
}

// The in-pod capture (:15001) reads the same handshake: garbage is refused alike, and a
// destination it cannot reach is accepted first, then reset, as after an iptables redirect.
for (const c of CASES) {
  const last = c === CASES[CASES.length - 1];
  t.test(`in-pod capture: ${c.what}`, async (t) => {
    const victim = watch(mesh, 'ztunnel-node-a');
    const { reply, ended } = await socks(c.bytes, 5000, IN_POD_CAPTURE);
    const want = last ? [5, 0, 5, 0] : c.reply;
    t.same([...reply.subarray(0, want.length)], want, `answered ${JSON.stringify(want)}`);
    if (last) t.equal(ended, 'reset', 'then reset');
    else t.not(ended, 'open', 'and closed');
    await victim.check(t, flowing);
  });
}

t.test('SOCKS5: a megabyte of random bytes', async (t) => {
  const victim = watch(mesh, 'ztunnel-node-a');
  const { reply, ended } = await socks(Buffer.concat([Buffer.from([9]), randomBytes(1024 * 1024)]));
  t.equal(reply.length, 0, 'no answer to a stream that is not SOCKS5');
  t.not(ended, 'open', 'closed at the first byte');
  await victim.check(t, flowing);
});

t.test('SOCKS5: 300 connections that stall mid-handshake are closed at the deadline; others are served meanwhile', async (t) => {
  const victim = watch(mesh, 'ztunnel-node-a');
  const stalled = await Promise.all(
    Array.from({ length: 300 }, (_, i) => {
      return new Promise<net.Socket>((resolve) => {
        const s = net.connect(SOCKS, () => {
          // Half a greeting, or a greeting and half a request: then nothing.
          s.write(i % 2 === 0 ? Buffer.from([5]) : Buffer.concat([GREETING, Buffer.from([5, 1])]));
          resolve(s);
        });
        s.on('error', () => undefined);
        s.resume(); // read the method reply, so the close is seen
      });
    }),
  );
  const closed = stalled.map((s) => new Promise<void>((r) => s.once('close', () => r())));
  await flowing();
  t.pass('sleep -> echo served while 300 handshakes stall');
  // Accepted as ztunnel gets to them: wait until it holds them all.
  // The baseline may count a connection of the case before that was still closing.
  const holding = victim.baseline.fds + 300 - FD_JITTER;
  let during = procStats(childPid(mesh, 'ztunnel-node-a'));
  for (let i = 0; i < 20 && during.fds < holding; i++) {
    await new Promise((r) => setTimeout(r, 100));
    during = procStats(childPid(mesh, 'ztunnel-node-a'));
  }
  t.ok(during.fds >= holding, `ztunnel holds them (${during.fds} fds, baseline ${victim.baseline.fds})`);
  let n = 0;
  for (const c of closed) void c.then(() => n++);
  const allClosed = await Promise.race([
    Promise.all(closed).then(() => true),
    new Promise<boolean>((r) => setTimeout(() => r(false), SOCKS_HANDSHAKE_WAIT_MS)),
  ]);
  t.ok(allClosed, `every stalled handshake closed by ztunnel at its deadline (${n} of 300)`);
  for (const s of stalled) s.destroy();
  await victim.check(t, flowing);
});

t.test('an app that never reads: the client is held back, the ztunnels buffer a bounded amount, and every byte arrives once it reads', async (t) => {
  const a = watch(mesh, 'ztunnel-node-a');
  const b = watch(mesh, 'ztunnel-node-b');
  const TOTAL = 256 * 1024 * 1024;
  const chunk = Buffer.alloc(64 * 1024, 0x61);
  let written = 0;
  const client = net.connect({ ...CAPTURE_SINK, allowHalfOpen: true });
  client.on('error', () => undefined);
  const pump = (): void => {
    while (written < TOTAL) {
      written += chunk.length;
      if (!client.write(chunk)) return void client.once('drain', pump);
    }
    client.end();
  };
  client.on('connect', pump);
  // Give the bytes every chance to pile up somewhere.
  await new Promise((r) => setTimeout(r, 3000));
  const accepted = written - client.writableLength;
  t.ok(accepted < 64 * 1024 * 1024, `the client could hand over only ${(accepted / 2 ** 20).toFixed(1)} MiB of 256: backpressure reached it`);
  for (const [name, v] of [
    ['ztunnel-node-a', a],
    ['ztunnel-node-b', b],
  ] as const) {
    const now = procStats(v.baseline.pid);
    t.ok(
      now.rssKb - v.baseline.rssKb < 48 * 1024,
      `${name} holds ${((now.rssKb - v.baseline.rssKb) / 1024).toFixed(1)} MB more while it waits: flow-control windows, not the stream`,
    );
  }
  // The app starts reading: nothing was lost.
  reading = true;
  for (const s of held) s.resume();
  const deadline = Date.now() + 60_000;
  while (received < TOTAL && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  t.equal(received, TOTAL, 'every byte arrived');
  client.destroy();
  await a.check(t, flowing);
  await b.check(t, flowing);
});
