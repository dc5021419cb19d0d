// soak: the L7 path under the highest load this machine sustains, for --minutes (10 by default),
// with the mesh held up the way a user holds it: `hbone-sim scenario <bench mesh> --hold`, the
// runner and all its children. Every process's RSS and open file descriptors are sampled from
// /proc. "Bounded everything" means flat: at the end each process's RSS is within 15% of its value
// after warm-up (both read as low-water marks, see soakProcess), and none holds more file
// descriptors than it did then.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import autocannon from 'autocannon';
import { benchAddresses, benchScenario } from '../mesh';
import { childrenOf, commandLine, fdCount, sampleProcess } from '../proc';
import { PAYLOAD_BYTES } from './requests';
import { startHeldRunner, stopHeldRunner } from '../held-runner';
import { ENV_HOME } from '../../src/runner/kubeconfig';
import type { SoakProcess, SoakResult } from '../results';

/** autocannon's result (its types are declared in bench/autocannon.d.ts). */
type AutocannonResult = Parameters<Parameters<typeof autocannon>[1]>[1];

/** The runner's own name in the results. */
export const RUNNER = 'runner';
/** Enough connections to keep every process of the L7 path busy on 2 cores (maxrps uses 100). */
const CONNECTIONS = 32;
/** A process may end this much above its RSS after warm-up, and be flat. */
export const RSS_GROWTH_LIMIT = 0.15;
/** File descriptors a process may end with above its count after warm-up (sockets mid-close). */
export const FD_SLACK = 4;
const MiB = 2 ** 20;

export interface SoakSetup {
  readonly block: number;
  readonly minutes: number;
  readonly warmupSeconds: number;
  /** Seconds between samples. */
  readonly sampleSeconds: number;
  readonly progress: (line: string) => void;
}

interface Sample {
  readonly rssBytes: number;
  readonly fds: number;
}

/** The runner and its children, by the runner's names for them (ztunnel-node-a, pod names). */
function processes(runnerPid: number): Map<string, number> {
  const named = new Map<string, number>([[RUNNER, runnerPid]]);
  for (const pid of childrenOf(runnerPid)) {
    const args = commandLine(pid);
    const flag = (name: string) => args[args.indexOf(`--${name}`) + 1];
    const role = args.includes('istiod') ? 'istiod' : args.includes('ztunnel') ? `ztunnel-${flag('node')}` : args.includes('--pod') ? flag('pod') : undefined;
    if (role) named.set(role, pid);
  }
  return named;
}

function sampleAll(pids: ReadonlyMap<string, number>): Map<string, Sample> {
  return new Map([...pids].map(([name, pid]) => [name, { rssBytes: sampleProcess(pid).rssBytes, fds: fdCount(pid) }]));
}

/**
 * One process's verdict from its samples after warm-up. A garbage-collected heap saws up and down
 * by tens of MB between collections, so single samples say little: the end of the run is judged
 * by its low-water RSS over the last third (what the process keeps after collecting). Its value
 * after warm-up is the first sample, or the first third's low-water if that is higher: a heap
 * that shrank once after warm-up and grew back to where it was has not grown (seen: http-echo
 * 89.5 MB after warm-up, one dip to 67.4, then 88.3 to 88.7 for seven minutes).
 */
export function soakProcess(name: string, samples: readonly Sample[]): SoakProcess {
  const third = Math.max(1, Math.floor(samples.length / 3));
  const lowWater = (xs: readonly Sample[]) => Math.min(...xs.map((x) => x.rssBytes));
  const warm = Math.max(samples[0].rssBytes, lowWater(samples.slice(0, third)));
  const end = lowWater(samples.slice(-third));
  const growth = end / warm - 1;
  const fdsWarm = samples[0].fds;
  const fdsEnd = samples[samples.length - 1].fds;
  return {
    name,
    rssWarmMB: warm / MiB,
    rssEndMB: end / MiB,
    rssMaxMB: Math.max(...samples.map((s) => s.rssBytes)) / MiB,
    rssGrowth: growth,
    fdsWarm,
    fdsEnd,
    rssMBSamples: samples.map((s) => Math.round((s.rssBytes / MiB) * 10) / 10),
    flat: growth <= RSS_GROWTH_LIMIT && fdsEnd <= fdsWarm + FD_SLACK,
  };
}

export async function runSoak(s: SoakSetup): Promise<SoakResult> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hbone-bench-soak-'));
  const file = path.join(dir, 'bench.yaml');
  fs.writeFileSync(file, benchScenario(s.block));
  // One process per pod (--pod-processes), as the other suites run them: each app's memory is judged on its own.
  // Its kubeconfig in its own directory: a user's ~/.hbone-sim is theirs, not the bench's.
  const { child: runner } = await startHeldRunner(['scenario', file, '--hold', '--pod-processes', '--ca-dir', path.join(dir, 'certs')], {
    [ENV_HOME]: path.join(dir, 'home'),
  });
  try {
    const pids = processes(runner.pid!);
    const capture = benchAddresses(s.block).capture.httpL7;
    const seconds = s.warmupSeconds + s.minutes * 60;
    s.progress(`soak: ${pids.size} processes, ${CONNECTIONS} connections on the L7 path for ${s.warmupSeconds} s of warm-up and ${s.minutes} min`);
    const series = new Map<string, Sample[]>([...pids.keys()].map((n) => [n, []]));
    let requests = 0;
    let errors = 0;
    let finished!: (r: { result?: AutocannonResult; error?: Error }) => void;
    const done = new Promise<{ result?: AutocannonResult; error?: Error }>((r) => (finished = r));
    const instance = autocannon(
      {
        url: `http://${capture.host}:${capture.port}/echo`,
        connections: CONNECTIONS,
        duration: seconds,
        method: 'POST',
        body: Buffer.alloc(PAYLOAD_BYTES, 0x61),
        headers: { host: 'http-l7', 'content-type': 'application/octet-stream' },
        timeout: 10,
      },
      (error, result) => finished(error ? { error } : { result }),
    );
    instance.on('response', () => requests++);
    instance.on('reqError', () => errors++);
    const started = performance.now();
    let warmedAt = 0;
    const sampler = setInterval(() => {
      const elapsed = (performance.now() - started) / 1000;
      if (elapsed < s.warmupSeconds) return;
      if (warmedAt === 0) warmedAt = requests;
      for (const [name, sample] of sampleAll(pids)) series.get(name)!.push(sample);
      const runnerRss = series.get(RUNNER)!.at(-1)!.rssBytes / MiB;
      s.progress(`soak ${elapsed.toFixed(0)} s: ${requests} requests, ${errors} errors; runner ${runnerRss.toFixed(0)} MB`);
    }, s.sampleSeconds * 1000);
    const { result, error } = await done;
    clearInterval(sampler);
    if (!result) throw error ?? new Error('autocannon gave no result');
    // One more sample at the very end, still under the same conditions as the first.
    for (const [name, sample] of sampleAll(pids)) series.get(name)!.push(sample);
    const elapsed = (performance.now() - started) / 1000;
    const measuredRequests = requests - warmedAt;
    const procs = [...series].map(([name, samples]) => soakProcess(name, samples));
    return {
      minutes: s.minutes,
      warmupSeconds: s.warmupSeconds,
      connections: CONNECTIONS,
      requests: measuredRequests,
      rps: measuredRequests / Math.max(1, elapsed - s.warmupSeconds),
      errors: errors + result.timeouts,
      non2xx: result.non2xx,
      processes: procs,
      flat: procs.every((p) => p.flat),
    };
  } finally {
    await stopHeldRunner(runner);
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
