// `npm run bench`: every path of the ambient data plane, side by side, on the real processes of a
// scenario (bench/mesh.ts). Suites: throughput, latency and cost (the same 1,000 rps runs),
// max rps, new connections per second, and memory per idle connection; the live page's
// first paint and weight in chromium (page); and the simulator's own bring-up time and memory
// at 10, 100 and 1,000 pods (pods). Prints the tables, saves
// bench/results/<timestamp>.json with its report; --publish rewrites the committed bench/REPORT.md.
// --render FILE runs nothing and draws the report of a saved results JSON. --compare FILE prints
// every figure beside a saved run's; --json leaves stdout to the results document alone.
// Progress (suite i/n, rep, elapsed, time left) goes to stderr throughout.
//
//   npm run bench -- [--quick] [--suite latency,cost] [--reps N] [--out DIR]   (see --help)
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { WorkloadCertificate } from '../src/identity/workload-cert';
import { makeSpiffeId } from '../src/identity/spiffe';
import { BenchMesh, neighbourBlock } from './mesh';
import { runEntry } from './entry';
import { BenchProgress, planStages } from './progress';
import { BenchOptions, Suite, USAGE, parseOptions } from './options';
import { ServerProcess } from './core/server-process';
import { ENV_CA_DIR, ENV_SERVER_IP, ENV_SERVER_SPIFFE_NS, ENV_SERVER_SPIFFE_SA } from './core/ipc';
import { runThroughput } from './suites/throughput';
import { runFixedRate, runMaxRps } from './suites/requests';
import { runConnections } from './suites/connections';
import { runScale } from './suites/scale';
import { killAttackers, runHostile } from './suites/hostile';
import { runSoak } from './suites/soak';
import { runPush } from './suites/push';
import { runPage } from './suites/page';
import { runPods } from './suites/pods';
import { runPeers } from './suites/peers';
import { killPeerChildren } from './peers/child';
import { runWorkers } from './suites/workers';
import { evaluateTargets } from './report/targets';
import { formatTables } from './report/table';
import { PUBLISHED_BASE, writeReport } from './report/write';
import { SavedResultsError, readSavedResults } from './report/saved';
import { formatComparison } from './report/compare';
import type { BenchResults, Machine } from './results';

/** dist/bench -> the repository's bench/ */
const DEFAULT_OUT_DIR = path.resolve(__dirname, '..', '..', 'bench');
const RESULTS_SUBDIR = 'results';
/** The core bench's receiver (TLS and raw HBONE) identity and address within the block. */
const SERVER_NS = 'bench';
const SERVER_SA = 'bench-server';
const CLIENT_SA = 'client';

/** Everything to undo however the run ends; synchronous so exit and signal handlers can use it. */
class Cleanup {
  readonly meshes = new Set<BenchMesh>();
  server?: ServerProcess;
  /** A mesh held by the runner in its own process group (the page suite's, the pods suite's). */
  held?: ChildProcess;
  /** Its status line is taken off the terminal before any last message. */
  progress?: BenchProgress;
  now(): void {
    this.progress?.stop();
    killAttackers();
    killPeerChildren();
    this.server?.kill();
    if (this.held?.pid !== undefined && this.held.exitCode === null && this.held.signalCode === null) {
      try {
        process.kill(-this.held.pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
    for (const m of this.meshes) m.killNow();
  }
}

function machine(): Machine {
  const cpus = os.cpus();
  return {
    cpuModel: cpus[0]?.model.trim() ?? 'unknown',
    cores: cpus.length,
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
    loadAverageBefore: os.loadavg(),
  };
}

async function withMesh<T>(cleanup: Cleanup, opts: BenchOptions, noPool: boolean, use: (m: BenchMesh) => Promise<T>): Promise<T> {
  const mesh = await BenchMesh.start({ block: opts.block, noPool });
  cleanup.meshes.add(mesh);
  try {
    return await use(mesh);
  } finally {
    await mesh.stop();
    cleanup.meshes.delete(mesh);
  }
}

/** Where the human-readable output goes: stdout, or stderr when stdout is the JSON's. */
function humanOut(opts: BenchOptions): NodeJS.WriteStream {
  return opts.json ? process.stderr : process.stdout;
}

/** The saved run --compare names, or undefined (and said) when it cannot be read. */
function readBaseline(file: string): BenchResults | undefined {
  try {
    return readSavedResults(file);
  } catch (err) {
    if (!(err instanceof SavedResultsError)) throw err;
    process.stderr.write(`bench: --compare: ${err.message}\n`);
    return undefined;
  }
}

/** The comparison, when asked for, after the tables. */
function writeComparison(out: NodeJS.WritableStream, now: BenchResults, baseline: BenchResults | undefined, file: string | undefined): void {
  if (baseline === undefined || file === undefined) return;
  out.write('\n' + formatComparison(now, baseline, path.relative(process.cwd(), file)));
}

async function run(opts: BenchOptions, cleanup: Cleanup): Promise<number> {
  // Read before anything is measured: a mistyped --compare must not cost a twelve-minute run.
  const baseline = opts.compare !== undefined ? readBaseline(opts.compare) : undefined;
  if (opts.compare !== undefined && baseline === undefined) return 1;
  const startedAt = new Date();
  const has = (s: Suite) => opts.suites.includes(s);
  const m = machine();
  process.stderr.write(
    `hbone-sim bench (${opts.quick ? 'quick' : 'full'}): ${opts.suites.join(', ')}; ${opts.reps} reps (throughput and peers ${opts.throughputReps}); ${m.cpuModel}, ${m.cores} cores, node ${m.node}; ` +
      `load average ${m.loadAverageBefore.map((l) => l.toFixed(2)).join(' ')}\n`,
  );
  const results: { -readonly [K in keyof Omit<BenchResults, 'targets' | 'finishedAt'>]: BenchResults[K] } = {
    bench: 'hbone-sim',
    startedAt: startedAt.toISOString(),
    quick: opts.quick,
    suites: opts.suites,
    reps: opts.reps,
    machine: m,
    throughput: [],
    latency: [],
    maxRps: [],
    connections: [],
    scale: [],
    hostile: [],
  };
  const sz = opts.sizes;
  const tracker = new BenchProgress(planStages(opts), process.stderr);
  cleanup.progress = tracker;
  const progress = (line: string) => tracker.step(line);

  try {
    // Every suite gets a mesh of its own, so no figure depends on what ran before it in the same
    // processes (heaps grown by gigabytes of uploads, pooled sessions, sockets in TIME_WAIT), and
    // `--suite latency` alone measures what a full run measures.
    if (has('throughput')) {
      tracker.begin('throughput');
      results.throughput = await withMesh(cleanup, opts, false, async (mesh) => {
        const server = await ServerProcess.start({
          [ENV_CA_DIR]: mesh.caDir,
          [ENV_SERVER_IP]: `127.${opts.block}.5.1`,
          [ENV_SERVER_SPIFFE_NS]: SERVER_NS,
          [ENV_SERVER_SPIFFE_SA]: SERVER_SA,
          HBONE_LOG: process.env.HBONE_LOG ?? 'warn',
        });
        cleanup.server = server;
        const clientCert = await WorkloadCertificate.obtain(makeSpiffeId(SERVER_NS, CLIENT_SA), mesh.ca);
        try {
          const peer = { serverIp: `127.${opts.block}.5.1`, clientIp: mesh.addresses.client, serverSpiffeId: server.ready.spiffeId, clientCert };
          return await runThroughput({ mesh, server, peer, bytes: sz.throughputBytes, reps: opts.throughputReps, progress });
        } finally {
          clientCert.stop();
          await server.stop();
          cleanup.server = undefined;
        }
      });
    }
    const requests = (mesh: BenchMesh) => ({ mesh, reps: opts.reps, warmupSeconds: sz.warmupSeconds, progress });
    if (has('latency') || has('cost')) {
      tracker.begin(has('latency') ? 'latency' : 'cost');
      results.latency = await withMesh(cleanup, opts, false, (mesh) => runFixedRate(requests(mesh), sz.latencySeconds));
    }
    if (has('maxrps')) {
      tracker.begin('maxrps');
      results.maxRps = await withMesh(cleanup, opts, false, (mesh) => runMaxRps(requests(mesh), sz.maxRpsSeconds));
    }
    if (has('connections')) {
      tracker.begin('connections');
      const setup = { reps: opts.reps, seconds: sz.connectSeconds, warmupSeconds: sz.warmupSeconds, progress };
      results.connections = [
        await withMesh(cleanup, opts, false, (mesh) => runConnections(mesh, 'pooled', setup)),
        await withMesh(cleanup, opts, true, (mesh) => runConnections(mesh, 'unpooled', setup)),
      ];
    }
    if (has('scale')) {
      tracker.begin('scale');
      results.scale = await runScale({ mesh: { block: opts.block }, reps: opts.scaleReps, settleMs: sz.settleMs, progress }, sz.scaleCounts);
    }
    if (has('hostile')) {
      tracker.begin('hostile');
      const setup = { attackSeconds: sz.attackSeconds, warmupSeconds: sz.warmupSeconds, settleMs: sz.attackSettleMs, progress };
      results.hostile = await withMesh(cleanup, opts, false, (mesh) => runHostile({ mesh, ...setup }));
    }
    // Our ztunnels beside nghttpx and a Go x/net/http2 server, one mesh; a missing peer is skipped and said.
    if (has('peers')) {
      tracker.begin('peers');
      results.peers = await runPeers({
        block: opts.block,
        bytes: sz.peersBytes,
        // Figures of single transfers swing on a shared machine as throughput's do: its five reps.
        reps: opts.throughputReps,
        tunnelSeconds: sz.peersTunnelSeconds,
        warmupSeconds: sz.warmupSeconds,
        l7: { seconds: sz.peersL7Seconds, reps: opts.reps },
        // The waypoint's profile needs a mesh of its own: the block beside the bench's.
        ...(sz.peersL7ProfileSeconds > 0 ? { l7Profile: { block: neighbourBlock(opts.block, 1), seconds: sz.peersL7ProfileSeconds } } : {}),
        progress,
        meshStarted: (mesh) => cleanup.meshes.add(mesh),
        meshStopped: (mesh) => cleanup.meshes.delete(mesh),
      });
    }
    // The push suite holds a mesh of its own (12 processes), as `hbone-sim up` does.
    if (has('push')) {
      tracker.begin('push');
      results.push = await runPush({ block: opts.block, pushes: sz.pushes, progress });
    }
    // bookinfo held by `hbone-sim up`, its live page opened in chromium; skipped, and said, without one.
    if (has('page')) {
      tracker.begin('page');
      const page = await runPage({ block: opts.block, reps: opts.pageReps, progress, held: (child) => (cleanup.held = child) });
      if (page) results.page = page;
    }
    // A held mesh per pod count and repetition, the runner's own memory counted with its children's.
    if (has('pods')) {
      tracker.begin('pods');
      results.pods = await runPods({ block: opts.block, counts: opts.podCounts, reps: opts.podsReps, progress, held: (child) => (cleanup.held = child) });
    }
    // A mesh with one worker per proxy and one with two (--workers 2), the same load on each in turn.
    if (has('workers')) {
      tracker.begin('workers');
      const track = (mesh: BenchMesh, running: boolean) => void (running ? cleanup.meshes.add(mesh) : cleanup.meshes.delete(mesh));
      results.workers = await runWorkers({ block: opts.block, reps: opts.reps, seconds: sz.maxRpsSeconds, warmupSeconds: sz.warmupSeconds, progress, track });
    }
    // The runner holds this mesh itself (--hold), as a user would, so its own memory is measured too.
    if (has('soak')) {
      tracker.begin('soak');
      results.soak = await runSoak({
        block: opts.block,
        minutes: opts.soakMinutes,
        warmupSeconds: sz.soakWarmupSeconds,
        sampleSeconds: sz.soakSampleSeconds,
        progress,
      });
    }
  } catch (err) {
    // The error's stack is printed next: not after the status line, on it.
    tracker.stop();
    throw err;
  }
  tracker.finish();

  const done = { ...results, finishedAt: new Date().toISOString(), machine: { ...m, loadAverageAfter: os.loadavg() }, stageSeconds: tracker.stageSeconds() };
  const final: BenchResults = { ...done, targets: evaluateTargets(done) };

  const out = humanOut(opts);
  out.write('\n' + formatTables(final));
  writeComparison(out, final, baseline, opts.compare);
  out.write('\n');
  const resultsDir = path.join(opts.outDir, RESULTS_SUBDIR);
  fs.mkdirSync(resultsDir, { recursive: true });
  const stamp = startedAt
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
  const resultsFile = path.join(resultsDir, `${stamp}.json`);
  fs.writeFileSync(resultsFile, JSON.stringify(final, null, 2) + '\n');
  // Every run's report sits beside its results (ignored by git); the committed REPORT.md and
  // its pictures change only when a run is published.
  const { report } = opts.publish ? writeReport(final, opts.outDir, PUBLISHED_BASE) : writeReport(final, resultsDir, stamp);
  out.write(`saved ${path.relative(process.cwd(), resultsFile)}; wrote ${path.relative(process.cwd(), report)}${opts.publish ? ' (published)' : ''}\n`);
  if (opts.json) process.stdout.write(JSON.stringify(final, null, 2) + '\n');
  return 0;
}

/**
 * --render: a saved run's tables and report, nothing measured; beside the JSON, or published.
 * With --compare, beside another saved run's figures: two runs compared without running either.
 */
function render(file: string, opts: BenchOptions): number {
  let saved: BenchResults;
  try {
    saved = readSavedResults(file);
  } catch (err) {
    if (!(err instanceof SavedResultsError)) throw err;
    process.stderr.write(`bench: ${err.message}\n`);
    return 1;
  }
  const baseline = opts.compare !== undefined ? readBaseline(opts.compare) : undefined;
  if (opts.compare !== undefined && baseline === undefined) return 1;
  const out = humanOut(opts);
  out.write(formatTables(saved));
  writeComparison(out, saved, baseline, opts.compare);
  out.write('\n');
  const { report } = opts.publish ? writeReport(saved, opts.outDir, PUBLISHED_BASE) : writeReport(saved, path.dirname(file), path.basename(file, '.json'));
  out.write(`rendered ${path.relative(process.cwd(), file)}; wrote ${path.relative(process.cwd(), report)}${opts.publish ? ' (published)' : ''}\n`);
  if (opts.json) process.stdout.write(JSON.stringify(saved, null, 2) + '\n');
  return 0;
}

runEntry({
  name: 'bench',
  usage: USAGE,
  parse: (argv) => parseOptions(argv, DEFAULT_OUT_DIR),
  cleanup: new Cleanup(),
  run: async (opts, cleanup) => (opts.render !== undefined ? render(opts.render, opts) : run(opts, cleanup)),
});
