// Where a bench run is: suite i of n, the repetition, time elapsed and an estimate of the time
// left, on stderr (stdout stays the tables, or the JSON with --json). Each suite's duration is
// expected from the run's sizes, and the estimate is refined as suites finish: a machine that ran
// the first suites at 1.5 times their expected length is expected to run the rest likewise, and
// a suite past its own expectation says so. The repetition is the last "rep i/N" a suite's own
// progress line named: the suites keep their one-string progress callback.
// On a terminal the status is one line kept under the suites' own lines and redrawn every
// second; otherwise (a pipe, a CI log) every line carries it.
import type { BenchOptions, Suite } from './options';
import { SUITES } from './options';
import { TIME_WAIT_QUIET } from './time-wait';

// What the expectations are made of, as bench/suites/*.ts run them on a 2-core machine, checked
// against the stageSeconds of a full run (bench/results/20261201T110554Z.json: 0.86-1.0 of these
// for most suites once latency counted both generators and scale its TIME_WAIT waits).
/** A bench mesh (two ztunnels, a waypoint, sink, echo, client) from spawn to ready. */
const MESH_START_S = 3;
/** A mesh held by `hbone-sim up` (push, page, soak: istiod and a dozen processes). */
const HELD_MESH_START_S = 8;
/** Throughput: the core bench's TLS/HBONE server, then 5 paths x 1 and 8 connections. */
const THROUGHPUT_SERVER_START_S = 1;
const THROUGHPUT_CASES = 10;
/** Mean rate over those cases: direct and TLS near 1,700 MB/s, L4 550, L7 290. */
const THROUGHPUT_MB_PER_S = 700;
/** Each case moves an eighth of its volume untimed first. */
const THROUGHPUT_WARMUP_SHARE = 1 / 8;
/** Latency, cost and max rps: direct, L4 and L7, each warmed up, then every rep of each. */
const REQUEST_PATHS = 3;
/** Latency and cost run each path under both generators (paced, then autocannon); max rps under autocannon alone. */
const FIXED_RATE_GENERATOR_COUNT = 2;
/** Connections: pooled and unpooled, a mesh each. */
const CONNECTION_MODES = 2;
/**
 * Scale: idle connections opened per second (10,000 took 13-14 s), the wait for the connections
 * suite's TIME_WAIT to drain (bench/time-wait.ts), and a repetition's own wait for the one before
 * it when that one left more ports in TIME_WAIT (two per connection) than the suite starts below.
 */
const SCALE_OPEN_PER_S = 750;
const TIME_WAIT_DRAIN_S = 40;
const TIME_WAIT_S = 60;
/** Hostile: ztunnel and the waypoint; each a warm-up, a baseline, the attack (after a lead), a settle of about half its limit, and a last second. */
const HOSTILE_VICTIMS = 2;
const ATTACK_LEAD_S = 0.7;
const HOSTILE_SETTLE_SHARE = 0.5;
/** Push: a mesh held by the runner (up in 2-3 s), then one apply after another, each ACKed by every proxy. */
const PUSH_SETUP_S = 2.5;
const PUSH_EACH_S = 0.005;
/** Page: bookinfo held, chromium started, one untimed load; then each timed load. */
const PAGE_SETUP_S = 9;
const PAGE_LOAD_S = 0.4;
/** Pods: each count and repetition a held mesh brought up, asked, and torn down (1,000 pods: about 4.5 s up and down after 2 s of fixed cost). */
const PODS_FIXED_S = 2;
const PODS_PER_POD_S = 0.0035;
/** Peers: the sink, nghttpx and the Go server started (its build cached after the first run). */
const PEERS_START_S = 2;
/** Outbound and inbound, ours and theirs, each warmed up with an eighth of a repetition's volume. */
const PEER_JOBS = 2;
const PEER_SIDES = 2;
const PEERS_WARMUP_SHARE = 1 / 8;
/**
 * Mean rate over the four transfers, weighted by time: ztunnel A and nghttpx near 500 MB/s, ztunnel
 * B near 900, Go near 1,200 (a full peers stage took 41 s against 47 expected from these).
 */
const PEERS_MB_PER_S = 600;
/** The L7 hop: L4, L7, the pod's TLS endpoint and HAProxy, each paced; HAProxy's start; the profiling mesh when taken. */
const PEERS_L7_PATHS = 4;
const PEERS_L7_START_S = 1;
/** Workers: what a mesh of the workers suite takes beyond a bench mesh (forking workers, stopping them). */
const WORKERS_MESH_EXTRA_S = 3;

/** The status line on a terminal is redrawn this often, so elapsed time moves between steps. */
const TICK_MS = 1000;
/** A suite's own progress lines name their repetition this way ("rep 2/3"). */
const REP_PATTERN = /\brep (\d+)\/(\d+)\b/;
/** Erase the terminal line the cursor is on. */
const CLEAR_LINE = '\r\x1b[K';
/** Leave the status this far from the terminal's edge: a wrapped line cannot be redrawn with \r. */
const STATUS_MARGIN = 1;

/** One step of the run: latency and cost come from the same runs, so they are one stage. */
export interface Stage {
  readonly label: string;
  readonly suites: readonly Suite[];
  readonly expectedMs: number;
}

/** How long a suite is expected to take with these options, in seconds. */
export function expectedSeconds(suite: Suite, o: BenchOptions): number {
  const z = o.sizes;
  switch (suite) {
    case 'throughput':
      return (
        MESH_START_S +
        THROUGHPUT_SERVER_START_S +
        (THROUGHPUT_CASES * z.throughputBytes * (o.throughputReps + THROUGHPUT_WARMUP_SHARE)) / (THROUGHPUT_MB_PER_S * 1e6)
      );
    case 'latency':
    case 'cost':
      return MESH_START_S + REQUEST_PATHS * FIXED_RATE_GENERATOR_COUNT * (z.warmupSeconds + o.reps * z.latencySeconds);
    case 'maxrps':
      return MESH_START_S + REQUEST_PATHS * (z.warmupSeconds + o.reps * z.maxRpsSeconds);
    case 'connections':
      return CONNECTION_MODES * (MESH_START_S + z.warmupSeconds + o.reps * z.connectSeconds);
    case 'scale': {
      // A full connections suite leaves tens of thousands of ports in TIME_WAIT; a quick one few.
      const drain = o.suites.includes('connections') && !o.quick ? TIME_WAIT_DRAIN_S : 0;
      const each = z.scaleCounts.reduce((sum, n) => sum + MESH_START_S + (2 * z.settleMs) / 1000 + n / SCALE_OPEN_PER_S, 0);
      const waits = z.scaleCounts.filter((n) => 2 * n >= TIME_WAIT_QUIET).length * (o.scaleReps - 1) * TIME_WAIT_S;
      return drain + o.scaleReps * each + waits;
    }
    case 'hostile': {
      const victim =
        Math.max(z.warmupSeconds, z.attackSeconds) + z.attackSeconds + ATTACK_LEAD_S + z.attackSeconds + (HOSTILE_SETTLE_SHARE * z.attackSettleMs) / 1000 + 1;
      return MESH_START_S + HOSTILE_VICTIMS * victim;
    }
    case 'push':
      return PUSH_SETUP_S + z.pushes * PUSH_EACH_S;
    case 'page':
      return PAGE_SETUP_S + o.pageReps * PAGE_LOAD_S;
    case 'pods':
      return o.podsReps * o.podCounts.reduce((sum, n) => sum + PODS_FIXED_S + n * PODS_PER_POD_S, 0);
    case 'peers':
      return (
        MESH_START_S +
        PEERS_START_S +
        PEER_JOBS * PEER_SIDES * ((z.peersBytes * (o.throughputReps + PEERS_WARMUP_SHARE)) / (PEERS_MB_PER_S * 1e6)) +
        PEER_SIDES * (z.warmupSeconds + o.throughputReps * z.peersTunnelSeconds) +
        PEERS_L7_START_S +
        PEERS_L7_PATHS * (z.warmupSeconds + o.reps * z.peersL7Seconds) +
        (z.peersL7ProfileSeconds > 0 ? MESH_START_S + z.warmupSeconds + z.peersL7ProfileSeconds : 0)
      );
    case 'workers':
      // Two meshes (1 and 2 workers per proxy, forking and stopping them), each warming up and timing L4 and L7.
      return 2 * (MESH_START_S + WORKERS_MESH_EXTRA_S + 2 * (z.warmupSeconds + o.reps * Math.min(z.maxRpsSeconds, 3)));
    case 'soak':
      return HELD_MESH_START_S + z.soakWarmupSeconds + o.soakMinutes * 60;
  }
}

/** The run's stages in the order bench.ts runs them. */
export function planStages(o: BenchOptions): Stage[] {
  const stages: Stage[] = [];
  for (const suite of SUITES) {
    if (!o.suites.includes(suite)) continue;
    if (suite === 'cost' && o.suites.includes('latency')) continue; // measured with latency
    const suites = suite === 'latency' || suite === 'cost' ? o.suites.filter((s) => s === 'latency' || s === 'cost') : [suite];
    stages.push({ label: suites.join(', '), suites, expectedMs: expectedSeconds(suite, o) * 1000 });
  }
  return stages;
}

/**
 * Time left: the current stage's expected length less what it has run, and every later stage's.
 * Both are scaled by the pace so far (actual over expected of the stages done); a current stage
 * running past its expectation has shown a slower pace, which then applies to the later ones.
 * Its own rest is unknown then (0 here): the status says it is past its estimate.
 */
export function estimateLeft(expectedMs: readonly number[], doneMs: readonly number[], currentElapsedMs: number): { currentMs: number; laterMs: number } {
  const current = doneMs.length;
  if (current >= expectedMs.length) return { currentMs: 0, laterMs: 0 };
  const expectedDone = expectedMs.slice(0, current).reduce((a, b) => a + b, 0);
  const actualDone = doneMs.reduce((a, b) => a + b, 0);
  const pace = expectedDone > 0 ? actualDone / expectedDone : 1;
  const expectedNow = expectedMs[current];
  const currentMs = Math.max(expectedNow * pace - currentElapsedMs, 0);
  const laterPace = expectedNow > 0 ? Math.max(pace, currentElapsedMs / expectedNow) : pace;
  const later = expectedMs.slice(current + 1).reduce((a, b) => a + b, 0);
  return { currentMs, laterMs: later * laterPace };
}

export function estimateLeftMs(expectedMs: readonly number[], doneMs: readonly number[], currentElapsedMs: number): number {
  const { currentMs, laterMs } = estimateLeft(expectedMs, doneMs, currentElapsedMs);
  return currentMs + laterMs;
}

/** "42s", "3m05s", "1h02m": short enough for a status line. */
export function formatDuration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

export interface Status {
  /** 1-based. */
  readonly index: number;
  readonly count: number;
  readonly label: string;
  /** "rep 2/3", once the suite has said one. */
  readonly rep?: string;
  readonly elapsedMs: number;
  readonly leftMs: number;
  /** The current stage has run past its expected length: leftMs is the later stages' alone. */
  readonly overrun?: boolean;
}

/** withRep false: for a prefix of the suite's own line, which names its rep already. */
export function formatStatus(s: Status, withRep = true): string {
  const later = `~${formatDuration(s.leftMs)}`;
  const left = !s.overrun ? `${later} left` : s.leftMs >= 1000 ? `past its estimate, then ${later}` : 'past its estimate';
  return [`suite ${s.index}/${s.count} ${s.label}`, ...(s.rep && withRep ? [s.rep] : []), `${formatDuration(s.elapsedMs)} elapsed`, left].join(' · ');
}

/** The last "rep i/N" a suite's line names, if any. */
export function repOf(line: string): string | undefined {
  const m = REP_PATTERN.exec(line);
  return m ? `rep ${m[1]}/${m[2]}` : undefined;
}

/** Where progress goes: process.stderr, or a test's stand-in. */
export interface ProgressSink {
  write(text: string): unknown;
  readonly isTTY?: boolean;
  readonly columns?: number;
}

export class BenchProgress {
  private readonly startedAt: number;
  private readonly doneMs: number[] = [];
  private current = -1;
  private stageStartedAt = 0;
  private rep?: string;
  private ticker?: NodeJS.Timeout;
  private statusShown = false;

  private readonly now: () => number;
  private readonly tickMs: number;

  /** now and tickMs are for tests: a fake clock, and 0 for no redraw between steps. */
  constructor(
    private readonly stages: readonly Stage[],
    private readonly sink: ProgressSink,
    { now = Date.now, tickMs = TICK_MS }: { now?: () => number; tickMs?: number } = {},
  ) {
    this.now = now;
    this.tickMs = tickMs;
    this.startedAt = now();
  }

  private get live(): boolean {
    return this.sink.isTTY === true;
  }

  status(): Status | undefined {
    const stage = this.stages[this.current];
    if (!stage) return undefined;
    const t = this.now();
    const { currentMs, laterMs } = estimateLeft(
      this.stages.map((s) => s.expectedMs),
      this.doneMs,
      t - this.stageStartedAt,
    );
    return {
      index: this.current + 1,
      count: this.stages.length,
      label: stage.label,
      ...(this.rep ? { rep: this.rep } : {}),
      elapsedMs: t - this.startedAt,
      leftMs: currentMs + laterMs,
      ...(currentMs === 0 ? { overrun: true } : {}),
    };
  }

  /** The stage that runs `suite` starts (and the one before it is done). */
  begin(suite: Suite): void {
    const next = this.stages.findIndex((s) => s.suites.includes(suite));
    if (next < 0) return;
    const t = this.now();
    // Stages skipped between (none, as bench.ts runs them) count as done in no time.
    while (this.doneMs.length < next) this.doneMs.push(this.doneMs.length === this.current ? t - this.stageStartedAt : 0);
    this.current = next;
    this.stageStartedAt = t;
    this.rep = undefined;
    const stage = this.stages[next];
    const expected = `expected about ${formatDuration(stage.expectedMs)}`;
    // A log line's prefix names the suite already.
    this.print(`suite ${next + 1}/${this.stages.length}: ${stage.label}, ${expected}`, `starts, ${expected}`);
  }

  /** A suite's own progress line ("latency l4: rep 2/3 1,000 rps, ..."). */
  step(line: string): void {
    this.rep = repOf(line) ?? this.rep;
    this.print(line);
  }

  /** The run's last word, and the terminal's status line gone before the tables are printed. */
  finish(): void {
    if (this.current >= 0 && this.doneMs.length === this.current) this.doneMs.push(this.now() - this.stageStartedAt);
    this.stopTicker();
    this.clearStatus();
    const expected = this.stages.reduce((a, s) => a + s.expectedMs, 0);
    const took = this.now() - this.startedAt;
    this.sink.write(
      `  done: ${this.stages.length} suite${this.stages.length === 1 ? '' : 's'} in ${formatDuration(took)} (expected about ${formatDuration(expected)})\n`,
    );
    this.current = this.stages.length;
  }

  /** How long each stage took, seconds, by label: stages done so far, in order. */
  stageSeconds(): Record<string, number> {
    return Object.fromEntries(this.doneMs.map((ms, i) => [this.stages[i].label, Math.round(ms / 100) / 10]));
  }

  /** Stops redrawing without a word: for a run that ends on an error or a signal. */
  stop(): void {
    this.stopTicker();
    this.clearStatus();
  }

  /** `prefixed`: the line's text where the status is printed before it. */
  private print(line: string, prefixed = line): void {
    if (!this.live) {
      const s = this.status();
      this.sink.write(s ? `  [${formatStatus(s, false)}] ${prefixed}\n` : `  ${line}\n`);
      return;
    }
    this.clearStatus();
    this.sink.write(`  ${line}\n`);
    this.drawStatus();
    if (!this.ticker && this.tickMs > 0) {
      this.ticker = setInterval(() => this.drawStatus(), this.tickMs);
      // The status never keeps the process alive.
      this.ticker.unref();
    }
  }

  private drawStatus(): void {
    const s = this.status();
    if (!s) return;
    let text = formatStatus(s);
    const width = (this.sink.columns ?? 0) - STATUS_MARGIN;
    if (width > 0 && text.length > width) text = text.slice(0, width);
    this.sink.write(`${CLEAR_LINE}${text}`);
    this.statusShown = true;
  }

  private clearStatus(): void {
    if (!this.statusShown) return;
    this.sink.write(CLEAR_LINE);
    this.statusShown = false;
  }

  private stopTicker(): void {
    if (this.ticker) clearInterval(this.ticker);
    this.ticker = undefined;
  }
}
