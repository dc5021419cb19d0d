// The peers suite (issue 14 §3) on its own block (10.121 at 127.121): a quick run with the real
// peers (nghttpx, the Go x/net/http2 server built at suite start) moves every byte through both
// implementations of each job, reports ratios that read above 1 = we do better, leaves no peer
// process behind, and a missing peer is skipped with its reason while the suite goes on.
// Speed is not judged: the report is for that.
import t, { type Test } from 'tap';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as net from 'node:net';
import { spawn } from 'node:child_process';
import type { BenchResults } from '../../bench/results';
import type { PeerComparison, PeersResult } from '../../bench/peers/types';
import { peerRatio } from '../../bench/peers/types';
import { behindText, figure } from '../../bench/peers/figures';
import { findNghttpx, nghttpxArgs } from '../../bench/peers/nghttpx';
import { findGo, goServerArgs } from '../../bench/peers/go-hbone';
import { findHaproxy } from '../../bench/peers/haproxy';
import { runOutboundPeer } from '../../bench/peers/outbound';
import { runInboundPeer } from '../../bench/peers/inbound';
import { TUNNEL_CONCURRENCY } from '../../bench/peers/measure';
import { peersSection } from '../../bench/report/table';
import { runFigures } from '../../bench/report/figures';
import { parseSavedResults, SavedResultsError } from '../../bench/report/saved';
import { CONNECTION_WINDOW_BYTES, STREAM_WINDOW_BYTES } from '../../src/hbone/constants';
import { RESULTS } from './fixtures/results';
import { QUICK } from '../../bench/options';

const BENCH = path.resolve(__dirname, '..', '..', 'dist', 'bench', 'bench.js');
const BLOCK = 121;
const REPS = 2;
const NOWHERE = '/nonexistent/hbone-sim-peers-test';
/** RST_STREAMs node:http2 takes on one session before its GOAWAY (src/hbone/reset-guard.ts). */
const RESETS_PER_GOAWAY = 1000;

function run(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BENCH, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, HBONE_LOG: undefined, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d));
    child.stderr.on('data', (d: Buffer) => (stderr += d));
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

async function peersRun(t: Test, env: NodeJS.ProcessEnv = {}): Promise<{ peers: PeersResult; stderr: string } | undefined> {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'hbone-peers-test-'));
  t.teardown(() => fs.rmSync(out, { recursive: true, force: true }));
  const r = await run(['--suite', 'peers', '--quick', '--reps', String(REPS), '--block', String(BLOCK), '--out', out, '--json'], env);
  if (!t.equal(r.code, 0, 'exit 0', { stderr: r.stderr.slice(-3000) })) return undefined;
  const res = JSON.parse(r.stdout) as BenchResults;
  if (!t.ok(res.peers, 'the results hold the peers suite')) return undefined;
  return { peers: res.peers!, stderr: r.stderr };
}

/** Processes of this block's peers still running: nghttpx, the Go server, the peers' sink. */
function leftovers(): string[] {
  const marks = [`127.${BLOCK}.6.1,`, `-listen=127.${BLOCK}.6.2:`, `127.${BLOCK}.2.1 9009`];
  const found: string[] = [];
  for (const pid of fs.readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    let cmd: string;
    try {
      cmd = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');
    } catch {
      continue;
    }
    if (marks.some((m) => cmd.includes(m))) found.push(`${pid}: ${cmd.slice(0, 200)}`);
  }
  return found;
}

function probe(host: string, port: number): Promise<string> {
  return new Promise((resolve) => {
    const s = net.connect({ host, port });
    s.once('connect', () => {
      s.destroy();
      resolve('connected');
    });
    s.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
  });
}

function checkComparison(t: Test, c: PeerComparison | undefined, metrics: readonly string[]): void {
  if (!t.ok(c, 'compared')) return;
  t.same(
    c!.figures.map((f) => f.metric),
    metrics,
  );
  for (const f of c!.figures) {
    t.ok(Number.isFinite(f.ours) && f.ours > 0 && Number.isFinite(f.theirs) && f.theirs > 0, `${c!.job} ${f.metric}: ours ${f.ours}, theirs ${f.theirs}`);
    const expected = f.better === 'lower' ? f.theirs / f.ours : f.ours / f.theirs;
    t.ok(Math.abs(f.ratio - expected) < 1e-9, `${c!.job} ${f.metric}: ratio ${f.ratio.toFixed(2)} reads above 1 = we do better`);
  }
  t.equal(c!.reps, REPS);
  t.ok((c!.bytesPerRep ?? 0) > 0, 'every transfer moved its volume, each acknowledged byte for byte by the sink');
  t.ok(c!.differences.length > 0, 'what differs between the two setups is said');
}

const haveNghttpx = !('missing' in findNghttpx());
const haveGo = !('missing' in findGo());
const haveHaproxy = !('reason' in findHaproxy());
// CI installs every peer: a missing one there is a broken set-up, not a reason to skip.
if (process.env.HBONE_SIM_CI && !(haveNghttpx && haveGo && haveHaproxy))
  t.fail(
    `a peer is missing (nghttpx ${haveNghttpx}, Go x/net ${haveGo}, haproxy ${haveHaproxy}): .ci/run installs nghttp2-proxy, golang-go, golang-golang-x-net-dev and haproxy`,
  );

t.test(
  'a quick peers run: both jobs compared with the real peers, every byte through, no peer left running',
  { skip: haveNghttpx && haveGo && haveHaproxy ? false : 'a peer is missing: apt-get install nghttp2-proxy golang-go golang-golang-x-net-dev haproxy' },
  async (t) => {
    const r = await peersRun(t);
    if (!r) return;
    t.same(r.peers.skipped, [], 'no peer skipped');
    const outbound = r.peers.comparisons.find((c) => c.job === 'outbound');
    const inbound = r.peers.comparisons.find((c) => c.job === 'inbound');
    checkComparison(t, outbound, ['CPU s/GiB', 'MB/s', 'tunnels/s', 'CPU ms/tunnel']);
    checkComparison(t, inbound, ['CPU s/GiB', 'MB/s']);
    t.match(outbound?.peer, /^nghttpx \d/, 'nghttpx names its version');
    t.match(inbound?.peer, /^Go \d/, 'the Go server names its toolchain');
    t.equal(outbound?.oursName, 'ztunnel-node-a');
    t.equal(inbound?.oursName, 'ztunnel-node-b');
    t.equal(outbound?.failures?.ours, 0, 'every tunnel through ztunnel-node-a crossed');
    // node:http2 answers GOAWAY after about 1,000 resets on one session, and nghttpx resets every
    // tunnel it closes: at most the streams in flight at each such GOAWAY are lost.
    const tunnel = outbound?.figures.find((f) => f.metric === 'tunnels/s');
    const goaways = Math.ceil(((tunnel?.theirs ?? 0) * QUICK.peersTunnelSeconds * REPS) / RESETS_PER_GOAWAY) + 1;
    t.ok(
      (outbound?.failures?.theirs ?? 0) <= TUNNEL_CONCURRENCY * goaways,
      `through nghttpx ${outbound?.failures?.theirs} failed: at most the streams in flight at each of ${goaways} GOAWAYs`,
    );
    t.match(inbound?.differences.join(' '), /negotiated: ztunnel-node-b TLS_AES_256_GCM_SHA384, Go TLS_AES_256_GCM_SHA384/, 'both terminated the same cipher');
    // The L7 hop: the waypoint against HAProxy, paced (a lost request throws, so a result means none was).
    const l7 = r.peers.comparisons.find((c) => c.job === 'l7');
    t.match(l7, { oursName: 'waypoint', peer: /^HAProxy \d/ }, 'HAProxy names its version');
    t.same(
      l7?.figures.map((f) => f.metric),
      ['vCPU per 1,000 rps', 'p90 added ms'],
    );
    const cpu = l7?.figures[0];
    t.ok(cpu && cpu.ours > 0 && cpu.theirs > 0 && Math.abs(cpu.ratio - cpu.theirs / cpu.ours) < 1e-9, `l7 vCPU: ours ${cpu?.ours}, HAProxy ${cpu?.theirs}`);
    t.ok(Number.isFinite(l7?.figures[1]?.ours), 'the p90 the waypoint adds is measured (a busy machine may make either side negative)');
    t.equal(await probe(`127.${BLOCK}.14.1`, 8443), 'ECONNREFUSED', 'HAProxy no longer listens');
    t.same(leftovers(), [], 'no nghttpx, Go server or peers sink left running');
    t.equal(await probe(`127.${BLOCK}.6.1`, 3128), 'ECONNREFUSED', 'nghttpx no longer listens');
    t.equal(await probe(`127.${BLOCK}.6.2`, 15008), 'ECONNREFUSED', 'the Go server no longer listens');
  },
);

t.test('a missing nghttpx is skipped with its reason, and the suite goes on', { skip: haveGo ? false : 'Go x/net missing' }, async (t) => {
  // HAProxy pointed nowhere too: the L7 job is skipped the same way, and the test stays short.
  const r = await peersRun(t, { NGHTTPX: NOWHERE, HAPROXY: NOWHERE });
  if (!r) return;
  t.same(
    r.peers.skipped.map((s) => s.job),
    ['outbound', 'l7'],
  );
  t.match(r.stderr, /peers l7: HAProxy skipped: /, 'the L7 job says why');
  t.match(r.peers.skipped[0]?.reason, `NGHTTPX=${NOWHERE} is not an executable`);
  t.match(r.stderr, /peers outbound: nghttpx skipped: NGHTTPX=/, 'said on the progress lines');
  t.same(
    r.peers.comparisons.map((c) => c.job),
    ['inbound'],
    'the inbound job still ran',
  );
  t.same(leftovers(), []);
});

t.test('Ctrl-C while nghttpx runs: exit 130, and no peer process outlives the bench', { skip: haveNghttpx ? false : 'nghttpx missing' }, async (t) => {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'hbone-peers-sigint-'));
  t.teardown(() => fs.rmSync(out, { recursive: true, force: true }));
  const child = spawn(process.execPath, [BENCH, '--suite', 'peers', '--quick', '--block', String(BLOCK), '--out', out], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, HBONE_LOG: undefined },
  });
  let stderr = '';
  const running = new Promise<void>((resolve) =>
    child.stderr.on('data', (d: Buffer) => {
      stderr += d;
      if (/peers outbound nghttpx: rep 1\//.test(stderr)) resolve();
    }),
  );
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  await Promise.race([running, exited]);
  t.ok(leftovers().length >= 2, 'nghttpx and the peers sink were running');
  child.kill('SIGINT');
  t.equal(await exited, 130, 'exit 130, as for Ctrl-C');
  // The bench kills its peers synchronously on exit; their parent-death signal backs that up.
  await new Promise((r) => setTimeout(r, 200));
  t.same(leftovers(), [], 'no nghttpx or peers sink left running');
  t.equal(await probe(`127.${BLOCK}.6.1`, 3128), 'ECONNREFUSED', 'nghttpx no longer listens');
});

t.test('each job skips itself when its peer is missing, before starting anything', async (t) => {
  const never = (): never => {
    throw new Error('nothing may start');
  };
  const endpoint = { host: '127.0.0.1', port: 1 };
  const outbound = await runOutboundPeer({
    capture: endpoint,
    oursPid: 0,
    backend: endpoint,
    frontend: endpoint,
    sinkAuthority: 'x:1',
    clientTls: { cert: '', key: '', ca: '' },
    dir: NOWHERE,
    bytes: 1,
    reps: 1,
    tunnelSeconds: 1,
    warmupSeconds: 1,
    progress: never,
    nghttpx: NOWHERE,
  });
  t.same(outbound, { job: 'outbound', peer: 'nghttpx', reason: `NGHTTPX=${NOWHERE} is not an executable` });
  const inbound = await runInboundPeer({
    ours: endpoint,
    oursPid: 0,
    theirs: endpoint,
    sinkAuthority: 'x:1',
    client: { clientIp: '127.0.0.1', serverSpiffeId: 'spiffe://x/ns/a/sa/b', clientCert: undefined as never },
    serverTls: { cert: '', key: '', ca: '' },
    dir: NOWHERE,
    bytes: 1,
    reps: 1,
    progress: never,
    go: NOWHERE,
  });
  t.same(inbound, { job: 'inbound', peer: 'Go x/net/http2', reason: `GO=${NOWHERE} is not an executable` });
  t.match(findGo(undefined, NOWHERE), { missing: /golang\.org\/x\/net\/http2 not found/ }, 'x/net missing is said too');
  t.match(findGo('/bin/false'), { missing: /version failed/ }, 'a Go that does not run is said too');
});

t.test('a peer that will not start is skipped with the reason', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hbone-peers-broken-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const endpoint = { host: `127.${BLOCK}.6.1`, port: 3128 };
  const r = await runOutboundPeer({
    capture: endpoint,
    oursPid: 0,
    backend: endpoint,
    frontend: endpoint,
    sinkAuthority: 'x:1',
    clientTls: { cert: '', key: '', ca: '' },
    dir,
    bytes: 1,
    reps: 1,
    tunnelSeconds: 1,
    warmupSeconds: 1,
    progress: () => undefined,
    nghttpx: '/bin/false',
  });
  t.match(r, { job: 'outbound', reason: /^nghttpx would not start: nghttpx exited \(1\) before it was ready/ });
});

t.test('ratios read above 1 = we do better, either way a figure is better', async (t) => {
  t.equal(peerRatio('lower', 2, 3), 1.5, 'CPU: the peer spends 3, we 2: 1.5');
  t.equal(peerRatio('higher', 300, 200), 1.5, 'MB/s: we move 300, the peer 200: 1.5');
  t.ok(peerRatio('lower', 4, 2) < 1, 'behind on CPU: under 1');
  t.ok(Number.isNaN(peerRatio('higher', 0, 1)), 'no ratio of a zero');
  const f = [figure('CPU s/GiB', 'lower', 2, 1), figure('MB/s', 'higher', 300, 200)];
  t.equal(behindText(f, { 'CPU s/GiB': 'small writes', 'MB/s': 'never shown' }), 'CPU s/GiB (0.50x): small writes', 'behind: only where the ratio is under 1');
  t.equal(behindText([figure('MB/s', 'higher', 3, 2)], { 'MB/s': 'x' }), undefined, 'nothing behind, no text');
});

t.test('both peers are set up as ours: one worker, our h2 windows', async (t) => {
  const files = { cert: 'c', key: 'k', ca: 'a', log: 'l' };
  const ng = nghttpxArgs(
    {
      binary: 'nghttpx',
      frontend: { host: 'h', port: 1 },
      backend: { host: 'b', port: 15008 },
      tls: { cert: '', key: '', ca: '' },
      dir: '/d',
      tls13Suites: 'TLS_X',
    },
    files,
  );
  for (const a of [
    '--workers=1',
    '--single-process',
    `--backend-http2-window-size=${STREAM_WINDOW_BYTES}`,
    `--backend-http2-connection-window-size=${CONNECTION_WINDOW_BYTES}`,
    '--tls13-client-ciphers=TLS_X',
    '--backend=b,15008;;proto=h2;tls',
    '--frontend=h,1;no-tls',
  ])
    t.ok(ng.includes(a), `nghttpx ${a}`);
  const go = goServerArgs({ binary: 'x', listen: { host: 'h', port: 15008 }, tls: { cert: '', key: '', ca: '' }, dir: '/d' }, files);
  for (const a of [`-stream-window=${STREAM_WINDOW_BYTES}`, `-connection-window=${CONNECTION_WINDOW_BYTES}`, '-listen=h:15008'])
    t.ok(go.includes(a), `Go ${a}`);
});

const PEERS: PeersResult = {
  comparisons: [
    {
      job: 'inbound',
      oursName: 'ztunnel-node-b',
      peer: 'Go 1.19.8 x/net/http2 0.7.0',
      figures: [figure('CPU s/GiB', 'lower', 1.2, 0.6), figure('MB/s', 'higher', 500, 800)],
      differences: ['the Go server only terminates'],
      behind: 'CPU s/GiB (0.50x): small writes',
    },
    {
      job: 'outbound',
      oursName: 'ztunnel-node-a',
      peer: 'nghttpx 1.52.0',
      figures: [figure('CPU s/GiB', 'lower', 1.1, 1.2), figure('tunnels/s', 'higher', 2500, 3000)],
      differences: ['nghttpx runs with --insecure'],
      failures: { ours: 0, theirs: 3 },
    },
  ],
  skipped: [{ job: 'l7', peer: 'HAProxy', reason: 'haproxy not found' }],
};

t.test('the report: one row per job and figure, the legend, differences and gaps, skipped peers', async (t) => {
  const s = peersSection(PEERS);
  t.same(
    s.rows.map((r) => [r[0], r[3], r[4], r[5], r[6]]),
    [
      ['outbound encapsulation', 'CPU s/GiB', '1.10', '1.20', '1.09x'],
      ['outbound encapsulation', 'tunnels/s', '2,500', '3,000', '0.83x'],
      ['inbound termination', 'CPU s/GiB', '1.20', '0.60', '0.50x'],
      ['inbound termination', 'MB/s', '500', '800', '0.63x'],
      ['L7 hop', 'skipped: haproxy not found', '-', '-', '-'],
    ],
  );
  t.match(s.note, /above 1 = we do better/);
  t.match(s.details?.join('\n'), /ztunnel-node-b is behind: CPU s\/GiB \(0\.50x\): small writes/);
  t.match(s.details?.join('\n'), /nghttpx runs with --insecure/);
  t.match(s.details?.join('\n'), /3 through nghttpx 1\.52\.0 did not cross/);
});

t.test('--compare and --render: the peers figures by job, and a saved run read back', async (t) => {
  const run = { ...RESULTS, peers: PEERS };
  const figures = runFigures(run).filter((f) => f.suite === 'peers');
  t.same(
    figures.filter((f) => f.row === 'inbound: ztunnel-node-b vs peer').map((f) => `${f.name}:${f.kind}`),
    ['ours CPU s/GiB:CPU s/GiB', 'ratio CPU s/GiB:ratio', 'ours MB/s:MB/s', 'ratio MB/s:ratio'],
    'ours and the ratio: the peer’s own figure moving says nothing of ours',
  );
  t.ok(
    figures.some((f) => f.name === 'ours tunnels/s' && f.kind === 'conns/s'),
    'tunnels/s compared as a rate',
  );
  const back = parseSavedResults(JSON.stringify(run), 'saved.json');
  t.same(back.peers, PEERS, 'a saved run keeps its peers');
  t.throws(() => parseSavedResults(JSON.stringify({ ...run, peers: { comparisons: 1 } }), 'bad.json'), SavedResultsError);
  t.throws(() => parseSavedResults(JSON.stringify({ ...run, peers: { comparisons: [{}], skipped: [] } }), 'bad.json'), SavedResultsError);
});
