// Settings of `npm run bench`: which suites, how long each runs, where results go. A full run
// takes about fourteen minutes on a 2-core machine (the paced latency runs added some 80 s, by
// arithmetic: 3 paths × 3 reps × 8 s, and warm-ups; the peers suite some 55 s); --quick keeps
// every suite but shrinks each, and finishes in about a minute (the page suite, a held bookinfo
// and chromium, adds some 15 s; peers some 10 s).
import * as path from 'node:path';
import { Flags, parseFlags, UsageError } from '../src/cli/args';

export const SUITES = [
  'throughput',
  'latency',
  'maxrps',
  'cost',
  'connections',
  'scale',
  'hostile',
  'peers',
  'push',
  'page',
  'pods',
  'workers',
  'soak',
] as const;
export type Suite = (typeof SUITES)[number];
/** What runs when no --suite is given: the soak is long and runs when asked for (--suite soak, or all). */
export const DEFAULT_SUITES: readonly Suite[] = SUITES.filter((s) => s !== 'soak');
/** A soak lasts this long unless --minutes says otherwise; --quick makes it a quarter of a minute. */
export const DEFAULT_SOAK_MINUTES = 10;
export const QUICK_SOAK_MINUTES = 0.25;

/** The mesh's default block, 10.91 served at 127.91; no test uses it. */
export const DEFAULT_BLOCK = 91;

export interface Sizes {
  /** Bytes per throughput case and repetition, split evenly across its connections. */
  readonly throughputBytes: number;
  /** Length of one fixed-rate (latency and cost) repetition. */
  readonly latencySeconds: number;
  /** Length of one max-rps repetition. */
  readonly maxRpsSeconds: number;
  /** Untimed load on each path before its first timed repetition. */
  readonly warmupSeconds: number;
  /** Length of one connection-rate repetition. */
  readonly connectSeconds: number;
  /** Idle connection counts of the scale suite. */
  readonly scaleCounts: readonly number[];
  /** Scale: how long the processes settle before RSS is read, before and after opening. */
  readonly settleMs: number;
  /** Hostile: length of each attack (and of the legitimate baseline before it). */
  readonly attackSeconds: number;
  /** Hostile: how long a victim gets, at most, to give back its memory after an attack. */
  readonly attackSettleMs: number;
  /** Soak: load before the first sample, and seconds between samples. */
  readonly soakWarmupSeconds: number;
  readonly soakSampleSeconds: number;
  /** Push: configuration changes handed to istiod, one at a time. */
  readonly pushes: number;
  /** Pods: the pod counts brought up over 3 nodes, a held mesh each. */
  readonly podCounts: readonly number[];
  /** Peers: bytes of one timed transfer, per implementation, job and repetition. */
  readonly peersBytes: number;
  /** Peers: length of one new-tunnels repetition (outbound), per implementation. */
  readonly peersTunnelSeconds: number;
  /** Peers, the L7 hop: counted seconds of one paced 1,000 rps run of each of its four paths. */
  readonly peersL7Seconds: number;
  /** Peers, the L7 hop: seconds of the waypoint's profile when it is behind (0: none taken). */
  readonly peersL7ProfileSeconds: number;
}

const MiB = 2 ** 20;

export const FULL: Sizes = {
  throughputBytes: 1024 * MiB,
  latencySeconds: 8,
  maxRpsSeconds: 4,
  warmupSeconds: 2,
  connectSeconds: 3,
  scaleCounts: [1000, 10_000],
  settleMs: 2000,
  attackSeconds: 10,
  attackSettleMs: 15_000,
  soakWarmupSeconds: 60,
  soakSampleSeconds: 10,
  pushes: 100,
  podCounts: [10, 100, 1000],
  peersBytes: 512 * MiB,
  peersTunnelSeconds: 2,
  peersL7Seconds: 5,
  peersL7ProfileSeconds: 5,
};

export const QUICK: Sizes = {
  throughputBytes: 32 * MiB,
  latencySeconds: 0.8,
  maxRpsSeconds: 0.5,
  warmupSeconds: 0.3,
  connectSeconds: 0.5,
  scaleCounts: [1000],
  settleMs: 500,
  attackSeconds: 1,
  attackSettleMs: 2000,
  soakWarmupSeconds: 10,
  soakSampleSeconds: 2,
  pushes: 10,
  // The 1,000-pod mesh alone takes ~15 s and both cores: the targets are judged by a full run.
  podCounts: [10, 100],
  peersBytes: 64 * MiB,
  peersTunnelSeconds: 0.5,
  peersL7Seconds: 0.8,
  peersL7ProfileSeconds: 0,
};

/** Three: the least that has a median, and these machines are shared. */
export const DEFAULT_REPS = 3;
/** Page loads are cheap (a fresh browser context each, well under a second): ten, or five with --quick. */
export const DEFAULT_PAGE_REPS = 10;
export const QUICK_PAGE_REPS = 5;
/**
 * Five for a full throughput run: one stream's MB/s swung from 799 to 1,056 between three reps
 * of one run here, enough to flip the HBONE/TLS verdict; a median of five shrugs off two.
 */
export const DEFAULT_THROUGHPUT_REPS = 5;

export interface BenchOptions {
  readonly suites: readonly Suite[];
  readonly quick: boolean;
  readonly sizes: Sizes;
  readonly reps: number;
  /** Throughput (and peers) repeat more by default: single-stream figures swing most on a shared machine. */
  readonly throughputReps: number;
  /** Each scale measurement starts a mesh of its own; --quick takes one, to stay under a minute. */
  readonly scaleReps: number;
  /** Timed loads of the live page. */
  readonly pageReps: number;
  /** Bring-ups of each pod count; --quick takes one. */
  readonly podsReps: number;
  /** The pods suite's pod counts (--pods), or the sizes' own. */
  readonly podCounts: readonly number[];
  readonly block: number;
  /** Length of the soak, after its warm-up. */
  readonly soakMinutes: number;
  /** Where results/<timestamp>.json (and .md, .svg, -<suite>.svg) are written, and REPORT.md when published. */
  readonly outDir: string;
  /** Rewrite the committed REPORT.md and its pictures (REPORT.svg, REPORT-<suite>.svg) from this run. */
  readonly publish: boolean;
  /** Run nothing: draw the report of this saved results JSON (absolute path). */
  readonly render?: string;
  /** Print every figure beside this saved run's (absolute path), with the change in percent. */
  readonly compare?: string;
  /** stdout holds the results document alone; tables and messages go to stderr. */
  readonly json: boolean;
}

export const USAGE = `usage: npm run bench -- [flags]
  --quick            every suite, smaller and shorter: about a minute
  --suite a[,b]      only these suites: ${SUITES.join(', ')}, or all
                     (latency and cost come from the same 1,000 rps runs, paced and
                     autocannon side by side; without --suite,
                     every suite but soak runs)
  --minutes M        soak length after its warm-up (default ${DEFAULT_SOAK_MINUTES}; ${QUICK_SOAK_MINUTES} with --quick)
  --reps N           repetitions of every measurement; the median is reported
                     (default ${DEFAULT_REPS}; ${DEFAULT_THROUGHPUT_REPS} for full throughput and peers suites, 1 for --quick scale and pods;
                     page loads ${DEFAULT_PAGE_REPS}, ${QUICK_PAGE_REPS} with --quick)
  --pods N[,M]       the pods suite's pod counts (default ${FULL.podCounts.join(',')}; ${QUICK.podCounts.join(',')} with --quick)
  --block N          address block of the bench mesh: 10.N served at 127.N (default ${DEFAULT_BLOCK})
  --out DIR          write DIR/results/<timestamp>.json, .md, .svg and -<suite>.svg (default bench/)
  --publish          also rewrite DIR/REPORT.md, DIR/REPORT.svg and DIR/REPORT-<suite>.svg,
                     the committed report
  --render FILE      run nothing: draw the report of a saved results JSON, beside it as
                     <name>.md, .svg and -<suite>.svg (with --publish, DIR/REPORT.md and its pictures)
  --compare FILE     print every figure beside a saved run's (a results JSON such as
                     bench/results/<timestamp>.json) with its change in percent, marked ✅ where
                     it went the better way for that figure, ❌ the worse; with --render FILE,
                     compares two saved runs and runs nothing
  --json             stdout holds the results document alone (as results/<timestamp>.json);
                     tables, comparison and messages go to stderr. npm prints its own banner on
                     stdout: npm run -s bench -- --json keeps it off
Progress goes to stderr: suite i/n, repetition, time elapsed and an estimate of the time left.
Profiling: HBONE_BENCH_CPU_PROF=DIR writes a .cpuprofile of every mesh process into DIR.
The page suite drives chromium at /usr/bin/chromium (CHROMIUM=PATH for another); without it the
suite is skipped and says so. The peers suite runs nghttpx (NGHTTPX=PATH) and builds a Go server
(GO=PATH for the toolchain); a missing one is skipped, and said.`;

/** Flags that say how to run the suites, meaningless when rendering a saved run. */
const RUN_FLAGS = ['quick', 'suite', 'reps', 'block', 'minutes', 'pods'] as const;
/** The pods suite's scenario has room for 199 /24s of 250 pods (bench/pods-scenario.ts). */
const MAX_POD_COUNT = 49_750;

function positiveInt(name: string, text: Flags[string] | undefined, fallback: number, max = Infinity): number {
  if (typeof text !== 'string') return fallback;
  const n = Number(text);
  if (!Number.isInteger(n) || n <= 0 || n > max) throw new UsageError(`${name} must be an integer from 1 to ${max}, got ${JSON.stringify(text)}`);
  return n;
}

function positiveNumber(name: string, text: Flags[string] | undefined, fallback: number): number {
  if (typeof text !== 'string') return fallback;
  const n = Number(text);
  if (!Number.isFinite(n) || n <= 0) throw new UsageError(`${name} must be a positive number, got ${JSON.stringify(text)}`);
  return n;
}

export function parseOptions(argv: string[], defaultOutDir: string): BenchOptions {
  const { flags, positional } = parseFlags(argv, {
    quick: 'boolean',
    suite: 'string',
    reps: 'string',
    block: 'string',
    out: 'string',
    minutes: 'string',
    pods: 'string',
    publish: 'boolean',
    render: 'string',
    compare: 'string',
    json: 'boolean',
  });
  if (positional.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(positional[0])}`);
  if (typeof flags.render === 'string') {
    // A saved run is drawn as it was measured: flags that shape a run would be silently ignored.
    const runFlag = RUN_FLAGS.find((f) => flags[f] !== undefined);
    if (runFlag) throw new UsageError(`--render draws a saved run; --${runFlag} does not apply`);
  }
  const render = typeof flags.render === 'string' ? path.resolve(flags.render) : undefined;
  const compare = typeof flags.compare === 'string' ? path.resolve(flags.compare) : undefined;
  // Every change would read 0%: surely another file was meant.
  if (compare !== undefined && compare === render) throw new UsageError(`--compare names the file --render draws; compare it with another run`);
  const suites = flags.suite === 'all' ? [...SUITES] : typeof flags.suite === 'string' ? flags.suite.split(',').map((s) => s.trim()) : [...DEFAULT_SUITES];
  for (const s of suites) {
    if (!(SUITES as readonly string[]).includes(s)) throw new UsageError(`unknown suite ${JSON.stringify(s)}; suites: ${SUITES.join(', ')}`);
  }
  const quick = flags.quick === true;
  return {
    suites: SUITES.filter((s) => suites.includes(s)),
    quick,
    sizes: quick ? QUICK : FULL,
    reps: positiveInt('--reps', flags.reps, DEFAULT_REPS, 50),
    throughputReps: positiveInt('--reps', flags.reps, quick ? DEFAULT_REPS : DEFAULT_THROUGHPUT_REPS, 50),
    scaleReps: positiveInt('--reps', flags.reps, quick ? 1 : DEFAULT_REPS, 50),
    pageReps: positiveInt('--reps', flags.reps, quick ? QUICK_PAGE_REPS : DEFAULT_PAGE_REPS, 50),
    podsReps: positiveInt('--reps', flags.reps, quick ? 1 : DEFAULT_REPS, 50),
    podCounts:
      typeof flags.pods === 'string' ? flags.pods.split(',').map((n) => positiveInt('--pods', n.trim(), 0, MAX_POD_COUNT)) : (quick ? QUICK : FULL).podCounts,
    block: positiveInt('--block', flags.block, DEFAULT_BLOCK, 254),
    soakMinutes: positiveNumber('--minutes', flags.minutes, quick ? QUICK_SOAK_MINUTES : DEFAULT_SOAK_MINUTES),
    outDir: typeof flags.out === 'string' ? path.resolve(flags.out) : defaultOutDir,
    publish: flags.publish === true,
    json: flags.json === true,
    ...(render !== undefined ? { render } : {}),
    ...(compare !== undefined ? { compare } : {}),
  };
}
