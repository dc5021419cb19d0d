// What one `npm run bench` produces: the shape of bench/results/<timestamp>.json, which the
// table, the report and the chart are all drawn from.
import type { PushResult } from './suites/push';
import type { PageResult } from './suites/page';
import type { PeersResult } from './peers/types';
import type { WorkersResult } from './suites/workers';

/** The paths the suites compare. `hbone` is one raw HBONE stream (the hot core), no ztunnel. */
export type ThroughputPath = 'tcp' | 'tls' | 'hbone' | 'l4' | 'l7';
export type RequestPath = 'direct' | 'l4' | 'l7';
/**
 * What drove a fixed-rate run. paced: bench/paced-load.ts, open loop, evenly spaced, latency from
 * each request's intended send time (fortio's model, Istio's published figures). autocannon:
 * closed loop, a per-connection budget per second, latency from the actual send.
 */
export type LoadGenerator = 'paced' | 'autocannon';

export interface Machine {
  readonly cpuModel: string;
  readonly cores: number;
  readonly memoryGiB: number;
  readonly node: string;
  readonly platform: string;
  readonly loadAverageBefore: readonly number[];
  readonly loadAverageAfter?: readonly number[];
}

export interface ThroughputResult {
  readonly path: ThroughputPath;
  readonly connections: number;
  readonly bytesPerRep: number;
  /** Every repetition's MB/s (10^6 bytes per second), in run order. */
  readonly repsMbPerS: readonly number[];
  readonly mbPerS: number;
  /** Median CPU seconds (user + system) per GiB moved, by process. */
  readonly cpuSPerGiB: Readonly<Record<string, number>>;
}

export interface Percentiles {
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
}

/** One process during the fixed-rate runs of a path. */
export interface ProcessCost {
  /** CPU seconds per second of the run. */
  readonly vcpu: number;
  /** vcpu scaled to 1,000 requests/s: vcpu / (achieved rps / 1000). */
  readonly vcpuPer1000Rps: number;
  readonly rssMB: number;
}

/** Percentiles with the largest value seen. */
export interface Spread extends Percentiles {
  readonly max: number;
}

export interface LatencyResult {
  readonly path: RequestPath;
  /** Runs saved before the paced generator existed have none; they were autocannon's (see saved.ts). */
  readonly generator: LoadGenerator;
  readonly targetRps: number;
  readonly connections: number;
  readonly payloadBytes: number;
  /** Medians over repetitions of each repetition's figure, milliseconds. */
  readonly ms: Percentiles;
  /** The slowest request of all repetitions, ms (absent in runs saved before it was recorded). */
  readonly maxMs?: number;
  /** ms minus direct's ms at the same percentile, same generator; zero for direct itself. */
  readonly addedMs: Percentiles;
  readonly achievedRps: number;
  readonly requests: number;
  readonly errors: number;
  readonly non2xx: number;
  readonly repsMs: readonly Percentiles[];
  /**
   * Paced only: how late the generator wrote its requests against their intended times, ms
   * (percentiles: medians over repetitions; max: of all). Against direct, the generator's own
   * noise floor: timer granularity and its own event loop.
   */
  readonly sendLatenessMs?: Spread;
  readonly cost: Readonly<Record<string, ProcessCost>>;
}

export interface MaxRpsResult {
  readonly path: RequestPath;
  readonly connections: number;
  readonly rps: number;
  readonly repsRps: readonly number[];
  readonly ms: Percentiles;
  readonly errors: number;
  readonly non2xx: number;
}

export interface ConnectionsResult {
  readonly mode: 'pooled' | 'unpooled';
  readonly concurrency: number;
  readonly perSecond: number;
  readonly repsPerSecond: readonly number[];
  /** Median time from connect() to the sink's answer, ms. */
  readonly medianMs: number;
  readonly failures: number;
}

export interface ScaleResult {
  readonly connections: number;
  /** RSS growth per idle connection, by process, bytes. */
  readonly bytesPerConnection: Readonly<Record<string, number>>;
  /** The tunnel's own cost: both ztunnels together. */
  readonly tunnelBytesPerConnection: number;
  readonly openSeconds: number;
}

/** Which process a hostile case attacks: ztunnel's inbound for a pod, or the waypoint. */
export type HostileVictim = 'ztunnel' | 'waypoint';

/** A figure of the victim before, during and after an attack. */
export interface BeforeDuringAfter {
  readonly before: number;
  readonly during: number;
  readonly after: number;
}

/** One attack on one victim's :15008, with legitimate traffic through that victim meanwhile. */
export interface HostileResult {
  readonly attack: 'rapid-reset';
  readonly victim: HostileVictim;
  /** The victim's process name, as the runner names it. */
  readonly process: string;
  /** The legitimate path that crosses the victim. */
  readonly legitPath: RequestPath;
  readonly attackSeconds: number;
  /** RST_STREAMs the attacker wrote per second, and the connections it needed for them. */
  readonly resetsPerSecond: number;
  readonly attackerConnections: number;
  /** Attacker connections the victim refused before TLS (a source serving a rapid reset penalty). */
  readonly attackerRefused: number;
  /** How the victim ended the attacker's connections: GOAWAY error code name -> count. */
  readonly goaways: Readonly<Record<string, number>>;
  /** CPU seconds per second of the victim; `during` is the attack, `after` once it stopped. */
  readonly victimVcpu: BeforeDuringAfter;
  /** RSS in MB: before (median over the baseline run), the peak during the attack, and after it settled. */
  readonly victimRssMB: BeforeDuringAfter;
  /** Legitimate requests' latency before and during the attack, ms. */
  readonly legitMs: { readonly before: Percentiles; readonly during: Percentiles };
  readonly legitRequests: { readonly before: number; readonly during: number };
  /** Failed legitimate requests (errors, timeouts and non-2xx) before and during. */
  readonly legitFailures: { readonly before: number; readonly during: number };
  readonly survived: boolean;
}

export interface TargetResult {
  readonly id: string;
  readonly what: string;
  /** e.g. ">= 0.8x", "<= 0.5 ms" */
  readonly target: string;
  readonly value: number | null;
  readonly unit: string;
  readonly met: boolean | null;
  /** How far from the line, in words: "+0.13x", "0.21 ms over". */
  readonly margin: string;
  /** Shown for comparison, judged against the same line, but not one of the run's verdicts. */
  readonly info?: boolean;
}

export interface BenchResults {
  readonly bench: 'hbone-sim';
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly quick: boolean;
  readonly suites: readonly string[];
  readonly reps: number;
  readonly machine: Machine;
  readonly throughput: readonly ThroughputResult[];
  readonly latency: readonly LatencyResult[];
  readonly maxRps: readonly MaxRpsResult[];
  readonly connections: readonly ConnectionsResult[];
  readonly scale: readonly ScaleResult[];
  readonly hostile: readonly HostileResult[];
  /** Only when the push suite ran. */
  readonly push?: PushResult;
  /** Only when the page suite ran (it is skipped without chromium). */
  readonly page?: PageResult;
  /** Only when the soak suite ran. */
  readonly soak?: SoakResult;
  /**
   * How long each stage of the run took, seconds, by the label progress showed ("latency, cost"
   * for the two measured together): what bench/progress.ts's expectations are checked against.
   * Runs saved before it was recorded lack it.
   */
  readonly stageSeconds?: Readonly<Record<string, number>>;
  /** Only when the pods suite ran: one entry per pod count, smallest first. */
  readonly pods?: readonly PodsResult[];
  /** Only when the peers suite ran: each job beside another implementation of it, or why not. */
  readonly peers?: PeersResult;
  /** Only when the workers suite ran: each path at each worker count. */
  readonly workers?: readonly WorkersResult[];
  readonly targets: readonly TargetResult[];
}

/** One process over a soak run, from its samples after warm-up. */
export interface SoakProcess {
  /** runner, ztunnel-node-a, a pod's name... */
  readonly name: string;
  /** RSS after warm-up (see soakProcess), and the low-water RSS over the last third of the run. */
  readonly rssWarmMB: number;
  readonly rssEndMB: number;
  readonly rssMaxMB: number;
  /** rssEnd / rssWarm - 1 */
  readonly rssGrowth: number;
  readonly fdsWarm: number;
  readonly fdsEnd: number;
  /** RSS at every sample, MB, the first after warm-up. */
  readonly rssMBSamples: readonly number[];
  /** RSS within the growth limit and no file descriptors gained. */
  readonly flat: boolean;
}

export interface SoakResult {
  readonly minutes: number;
  readonly warmupSeconds: number;
  readonly connections: number;
  /** Requests after warm-up, and their rate. */
  readonly requests: number;
  readonly rps: number;
  readonly errors: number;
  readonly non2xx: number;
  readonly processes: readonly SoakProcess[];
  readonly flat: boolean;
}

/** RSS of a held mesh's processes, summed by part, MB (2^20 bytes). */
export interface PodsRoleRss {
  readonly runner: number;
  readonly istiod: number;
  /** Every node's ztunnel. */
  readonly ztunnels: number;
  /** Every node's node agent (its pods live there). */
  readonly nodeAgents: number;
  /** Anything else the runner started (none in this mesh). */
  readonly other: number;
}

/** One pod count of the pods suite; figures are medians over repetitions. */
export interface PodsResult {
  readonly pods: number;
  readonly nodes: number;
  readonly services: number;
  /** The runner and every process under it. */
  readonly processes: number;
  /** What the runner says: "mesh ready in N ms", from its start to every readiness probe answered. */
  readonly runnerReadyMs: number;
  /** From spawning the runner to its saying the mesh stays up (API server and kubeconfig included). */
  readonly holdingSeconds: number;
  /** From spawning the runner to the last Service's answer: ready, as the target means it. */
  readonly answeredSeconds: number;
  readonly repsAnsweredSeconds: readonly number[];
  /** Services that did not answer 200 with their body, over every repetition. */
  readonly unanswered: number;
  /** Total RSS of the mesh's processes once every Service answered, MB. */
  readonly rssMB: number;
  readonly rssByRoleMB: PodsRoleRss;
  /** 1-minute load average when the count was done: the machine is shared. */
  readonly loadAverage: number;
}
