// `npm run bench -- --quick` end to end on its own block (10.94 at 127.94): every suite runs
// against real mesh processes, nothing is lost on any path, and the results JSON, REPORT.md and
// its chart are written where --out says. Figures are not judged here: speed belongs in the report.
import t from 'tap';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as net from 'node:net';
import { spawn } from 'node:child_process';
import type { BenchResults } from '../../bench/results';

const BENCH = path.resolve(__dirname, '..', '..', 'dist', 'bench', 'bench.js');
const BLOCK = 94;

function run(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BENCH, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, HBONE_LOG: undefined } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d));
    child.stderr.on('data', (d: Buffer) => (stderr += d));
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

t.test('a quick run of every suite writes the results, the report and the chart', async (t) => {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'hbone-bench-test-'));
  t.teardown(() => fs.rmSync(out, { recursive: true, force: true }));
  const r = await run(['--quick', '--reps', '1', '--block', String(BLOCK), '--out', out, '--publish']);
  t.equal(r.code, 0, 'exit 0', { stderr: r.stderr.slice(-2000) });

  const files = fs.readdirSync(path.join(out, 'results'));
  t.equal(files.length, 1, 'one results file');
  t.match(files[0], /^\d{8}T\d{6}Z\.json$/, 'named by its start time');
  const res = JSON.parse(fs.readFileSync(path.join(out, 'results', files[0]), 'utf8')) as BenchResults;

  t.same(
    res.throughput.map((x) => `${x.path}x${x.connections}`),
    ['tcpx1', 'tcpx8', 'tlsx1', 'tlsx8', 'hbonex1', 'hbonex8', 'l4x1', 'l4x8', 'l7x1', 'l7x8'],
    'every path with 1 and 8 connections (each transfer checks the receiver counted every byte)',
  );
  for (const x of res.throughput) t.ok(x.mbPerS > 0, `${x.path} x${x.connections}: ${x.mbPerS.toFixed(0)} MB/s`);
  t.same(Object.keys(res.throughput.find((x) => x.path === 'l7')!.cpuSPerGiB).sort(), [
    'bench-client',
    'http-echo',
    'waypoint',
    'ztunnel-node-a',
    'ztunnel-node-b',
  ]);

  t.same(
    res.latency.map((x) => `${x.path} ${x.generator}`),
    ['direct paced', 'direct autocannon', 'l4 paced', 'l4 autocannon', 'l7 paced', 'l7 autocannon'],
  );
  for (const x of res.latency) {
    t.equal(x.errors + x.non2xx, 0, `${x.path} ${x.generator}: no errors and no non-2xx at 1,000 rps`);
    t.ok(x.requests > 0 && x.ms.p50 > 0 && x.ms.p50 <= x.ms.p90 && x.ms.p90 <= x.ms.p99, `${x.path} ${x.generator}: percentiles in order`);
    t.equal(x.sendLatenessMs !== undefined, x.generator === 'paced', `${x.path} ${x.generator}: send lateness for paced runs only`);
  }
  t.ok(res.latency.find((x) => x.path === 'l7')!.cost.waypoint.vcpu > 0, 'the waypoint was measured');
  t.same(
    res.maxRps.map((x) => x.path),
    ['direct', 'l4', 'l7'],
  );
  for (const x of res.maxRps) t.equal(x.errors + x.non2xx, 0, `${x.path}: no errors at 100 connections`);
  t.same(
    res.connections.map((c) => c.mode),
    ['pooled', 'unpooled'],
  );
  for (const c of res.connections) t.equal(c.failures, 0, `${c.mode}: every connection answered`);
  t.same(
    res.scale.map((s) => s.connections),
    [1000],
  );
  t.same(
    res.hostile.map((h) => `${h.victim}:${h.legitPath}`),
    ['ztunnel:l4', 'waypoint:l7'],
    'rapid reset against both :15008 servers',
  );
  for (const h of res.hostile) {
    t.ok(h.survived, `${h.process} survived the attack`);
    t.same(
      Object.keys(h.goaways),
      h.attackerConnections > 0 ? ['ENHANCE_YOUR_CALM'] : [],
      `${h.process}: every attacker connection it took got GOAWAY ENHANCE_YOUR_CALM`,
    );
    t.ok(h.legitRequests.during > 0, `${h.process}: legitimate requests were timed during the attack`);
  }
  t.equal(res.targets.length, 19, "seventeen targets and two info rows (autocannon's p90 added)");
  t.match(res.push, { pushes: 10, nacks: 0, timedOut: 0 }, 'push: ten changes, each ACKed by every proxy');
  t.match(res.push, { proxies: 7, processes: 12 }, 'push: a mesh of 12 processes, 7 proxies (4 ztunnels, 3 waypoints) answered each apply');
  t.ok((res.push?.applyMaxMs ?? 0) >= (res.push?.applyP50Ms ?? NaN), 'apply times measured');
  // The page suite drives chromium; without one it is skipped and its two targets go unmeasured.
  const chromium = fs.existsSync(process.env.CHROMIUM ?? '/usr/bin/chromium');
  const unmeasured = ['soak-flat', 'pods-ready', 'pods-rss', ...(chromium ? [] : ['page-first-paint', 'page-weight'])];
  t.ok(
    res.targets.filter((x) => !unmeasured.includes(x.id)).every((x) => x.met !== null),
    `every target measured but ${unmeasured.join(', ')} (the soak runs only when asked for; --quick stops the pods at 100)`,
  );
  t.same(
    res.pods?.map((p) => `${p.pods}:${p.unanswered}`),
    ['10:0', '100:0'],
    'pods: 10 and 100 pods held, every Service answered',
  );
  if (chromium) {
    t.ok(res.page && res.page.repsMs.length === 1 && res.page.htmlBytes > 0, 'the live page: one timed load (--reps 1) and its weight');
    t.same(res.page?.requests, ['/', '/api/events'], 'the page loads nothing but itself and its stream');
  }
  t.equal(res.soak, undefined, 'no soak in a default run');
  // The peers suite: each job compared, or skipped with its reason when its peer is not installed.
  t.same(
    [...(res.peers?.comparisons ?? []), ...(res.peers?.skipped ?? [])].map((c) => c.job).sort(),
    ['inbound', 'l7', 'outbound'],
    'peers: outbound, inbound and the L7 hop, each compared or skipped with its reason',
  );
  // CI installs every peer: none may be skipped there.
  if (process.env.HBONE_SIM_CI) t.same(res.peers?.skipped, [], 'under CI, no peer skipped');

  t.same(
    (res.workers ?? []).map((w) => `${w.path} ${w.workers}`).sort(),
    ['l4 1', 'l4 2', 'l7 1', 'l7 2'],
    'workers: L4 and L7, each with one worker per proxy and with two',
  );
  for (const w of res.workers ?? []) t.ok(w.rps > 0 && w.errors === 0, `workers ${w.path} x${w.workers}: ${w.rps.toFixed(0)} rps, no error`);

  const report = fs.readFileSync(path.join(out, 'REPORT.md'), 'utf8');
  t.match(report, /## Targets/);
  t.match(report, /\(REPORT\.svg\)/, 'the report shows the chart');
  t.match(fs.readFileSync(path.join(out, 'REPORT.svg'), 'utf8'), /^<svg [^>]*xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
  t.match(r.stdout, /Targets/, 'the table is printed');
});

t.test('a bad flag exits 2 and says why', async (t) => {
  const r = await run(['--suite', 'nope']);
  t.equal(r.code, 2);
  t.match(r.stderr, /unknown suite "nope"/);
});

/** Resolves with the connect error code, or 'connected'. */
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

/** The probe's answer once the port refuses, or the last one after `ms`: a SIGKILLed process's sockets close when the kernel has reaped it. */
async function settledProbe(host: string, port: number, ms: number): Promise<string> {
  const deadline = Date.now() + ms;
  for (;;) {
    const answer = await probe(host, port);
    if (answer === 'ECONNREFUSED' || Date.now() > deadline) return answer;
    await new Promise((r) => setTimeout(r, 50));
  }
}

t.test('Ctrl-C mid-run exits 130 and leaves no mesh process listening', async (t) => {
  const block = 95;
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'hbone-bench-sigint-'));
  t.teardown(() => fs.rmSync(out, { recursive: true, force: true }));
  const child = spawn(process.execPath, [BENCH, '--suite', 'latency', '--quick', '--block', String(block), '--out', out], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  const running = new Promise<void>((resolve) =>
    child.stderr.on('data', (d: Buffer) => {
      stderr += d;
      if (stderr.includes('latency direct')) resolve();
    }),
  );
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  await Promise.race([running, exited]);
  t.equal(await probe(`127.${block}.0.1`, 15021), 'connected', 'the mesh was up (ztunnel-node-a ready)');
  child.kill('SIGINT');
  t.equal(await exited, 130, 'exit 130, as for Ctrl-C');
  t.match(stderr, /bench: SIGINT, stopping/);
  for (const [what, host] of [
    ['ztunnel-node-a', `127.${block}.0.1`],
    ['ztunnel-node-b', `127.${block}.0.2`],
    ['waypoint', `127.${block}.3.1`],
    ['http-echo', `127.${block}.2.2`],
  ]) {
    t.equal(await settledProbe(host, 15021, 5000), 'ECONNREFUSED', `${what} no longer listens`);
  }
});
