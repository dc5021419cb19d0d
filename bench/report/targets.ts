// The targets of the bench and their verdicts, computed from the measured results only, so
// the same JSON always gives the same verdicts.
import type { BenchResults, LatencyResult, LoadGenerator, RequestPath, TargetResult, ThroughputPath } from '../results';

/** One HBONE stream, as a fraction of one TLS 1.3 connection's MB/s. */
export const HBONE_STREAM_MIN_X_TLS = 0.8;
/** The whole L4 mesh path (two ztunnels), as a fraction of one TLS connection's MB/s. */
export const L4_PATH_MIN_X_TLS = 0.45;
/** p90 added over direct at TARGET_RPS, ms, under the paced generator (autocannon's figures are shown against the same lines, for information). */
export const L4_P90_ADDED_MAX_MS = 0.5;
export const L7_P90_ADDED_MAX_MS = 1.5;
/** vCPU per 1,000 requests/s: the busier ztunnel, and the waypoint. */
export const ZTUNNEL_MAX_VCPU_PER_1000_RPS = 0.1;
export const WAYPOINT_MAX_VCPU_PER_1000_RPS = 0.25;
/**
 * Issue 14's binding cost target: absolute vCPU moves 2x between machines of one kind, so the
 * waypoint's CPU per request is judged against the same run's http-echo (the pod behind it).
 */
export const WAYPOINT_MAX_X_HTTP_ECHO = 2.5;
/** New tunneled connections per second, pooled HBONE. */
export const NEW_CONNECTIONS_MIN_PER_S = 1500;
/** Tunnel memory per idle tunneled connection, KB (1,024 bytes). */
export const IDLE_CONNECTION_MAX_KB = 16;
/** Legitimate p50 through a victim of rapid reset (issue 9: it went to 1.4 s), ms. */
export const RAPID_RESET_LEGIT_P50_MAX_MS = 100;
/** A victim's RSS once a rapid reset attack is over, above its baseline before it, %. */
export const RAPID_RESET_RSS_ABOVE_BASELINE_MAX_PCT = 10;
/** Soak: the largest RSS growth of any process, end over after warm-up, percent. */
export const SOAK_RSS_GROWTH_MAX_PCT = 15;
/** A configuration change reaches every proxy (push to last ACK), median: the aim here. */
export const PUSH_ALL_ACKED_P50_MAX_MS = 100;
/** The live page with bookinfo: first contentful paint, median over its loads (issue 13: under 1 s). */
export const PAGE_FIRST_PAINT_P50_MAX_MS = 1000;
/** The live page's weight: its one HTML document, everything inlined, KB (1,024 bytes). */
export const PAGE_WEIGHT_MAX_KB = 100;
/** Issue 14: this many pods over 3 nodes ready (every Service answered) within PODS_READY_MAX_S... */
export const PODS_TARGET_COUNT = 1000;
export const PODS_READY_MAX_S = 15;
/** ...in at most this much RSS, every process of the mesh (the runner too), GB (2^30 bytes). */
export const PODS_RSS_MAX_GB = 2;

/** The rate the latency and cost targets are stated at; runs at other rates do not count. */
export const TARGET_RPS = 1000;
/** The latency targets judge fortio's model, as Istio measures. */
export const LATENCY_TARGET_GENERATOR: LoadGenerator = 'paced';
/** The cost targets keep the runs they were first judged on; the paced runs' cost is in the table beside them. */
export const COST_TARGET_GENERATOR: LoadGenerator = 'autocannon';
const ZTUNNELS = ['ztunnel-node-a', 'ztunnel-node-b'] as const;
const WAYPOINT = 'waypoint';
const HTTP_ECHO = 'http-echo';
const KB = 1024;

/** How a unit's numbers are written: decimals, and the text around the number. */
interface UnitStyle {
  readonly decimals: number;
  /** Margins of latency need no microseconds: the lines are half a millisecond apart. */
  readonly marginDecimals: number;
  /** Joins a formatted number to the unit, e.g. "0.93" -> "0.93x TLS". */
  readonly value: (n: string) => string;
  /** The unit of a margin, which is a difference and so not "x TLS". */
  readonly margin: (n: string) => string;
}

const UNITS: Readonly<Record<string, UnitStyle>> = {
  'x TLS': { decimals: 2, marginDecimals: 2, value: (n) => `${n}x TLS`, margin: (n) => `${n}x` },
  ms: { decimals: 3, marginDecimals: 2, value: (n) => `${n} ms`, margin: (n) => `${n} ms` },
  vCPU: { decimals: 3, marginDecimals: 3, value: (n) => `${n} vCPU`, margin: (n) => `${n} vCPU` },
  '/s': { decimals: 0, marginDecimals: 0, value: (n) => `${n}/s`, margin: (n) => `${n}/s` },
  KB: { decimals: 1, marginDecimals: 1, value: (n) => `${n} KB`, margin: (n) => `${n} KB` },
  'x http-echo': { decimals: 2, marginDecimals: 2, value: (n) => `${n}x http-echo`, margin: (n) => `${n}x` },
  '%': { decimals: 1, marginDecimals: 1, value: (n) => `${n}%`, margin: (n) => `${n} points` },
  s: { decimals: 1, marginDecimals: 1, value: (n) => `${n} s`, margin: (n) => `${n} s` },
  GB: { decimals: 2, marginDecimals: 2, value: (n) => `${n} GB`, margin: (n) => `${n} GB` },
};
const PLAIN: UnitStyle = { decimals: 2, marginDecimals: 2, value: (n) => n, margin: (n) => n };

export const NOT_MEASURED = 'not measured';

/** "1234567.8" -> "1,234,568" at 0 decimals: written out by hand so no locale can change it. */
export function formatNumber(x: number, decimals: number): string {
  const fixed = Math.abs(x).toFixed(decimals);
  const [whole, fraction] = fixed.split('.');
  const grouped = whole.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  // -0.000 would read as a sign with nothing behind it.
  const sign = x < 0 && Number(fixed) !== 0 ? '-' : '';
  return sign + grouped + (fraction === undefined ? '' : `.${fraction}`);
}

/** A target's measured value with its unit, or "-" when not measured. */
export function formatTargetValue(t: TargetResult): string {
  if (t.value === null) return '-';
  const style = UNITS[t.unit] ?? PLAIN;
  return style.value(formatNumber(t.value, style.decimals));
}

type Direction = '>=' | '<=';

interface Line {
  readonly id: string;
  /** Judged against the line and shown, but not a verdict of the run. */
  readonly info?: boolean;
  readonly what: string;
  readonly direction: Direction;
  readonly line: number;
  /** The line as a reader sees it: ">= 0.8x". */
  readonly target: string;
  readonly unit: string;
}

function margin(l: Line, value: number, met: boolean): string {
  const style = UNITS[l.unit] ?? PLAIN;
  const words = l.info
    ? { met: 'inside', missed: 'outside', exact: 'exactly on the line' }
    : { met: 'met', missed: 'missed', exact: 'met, exactly on the line' };
  if (value === l.line) return words.exact;
  const text = formatNumber(Math.abs(value - l.line), style.marginDecimals);
  // A miss by less than the last shown digit must not read as "missed by 0.00x".
  const smallest = formatNumber(10 ** -style.marginDecimals, style.marginDecimals);
  const amount = Number(text.replace(/,/g, '')) === 0 ? `< ${style.margin(smallest)}` : style.margin(text);
  return `${met ? words.met : words.missed} by ${amount}`;
}

function verdict(l: Line, value: number | undefined): TargetResult {
  const base = { id: l.id, what: l.what, target: l.target, unit: l.unit, ...(l.info ? { info: true } : {}) };
  // A zero TLS baseline gives Infinity or NaN: a broken measurement, not a verdict.
  if (value === undefined || !Number.isFinite(value)) return { ...base, value: null, met: null, margin: NOT_MEASURED };
  const met = l.direction === '>=' ? value >= l.line : value <= l.line;
  return { ...base, value, met, margin: margin(l, value, met) };
}

/** The waypoint's CPU per request over the pod's behind it, both from the same L7 runs. */
function waypointOverEcho(l: LatencyResult | undefined): number | undefined {
  const waypoint = l?.cost[WAYPOINT]?.vcpuPer1000Rps;
  const echo = l?.cost[HTTP_ECHO]?.vcpuPer1000Rps;
  return waypoint === undefined || echo === undefined || echo <= 0 ? undefined : waypoint / echo;
}

function throughputOf(r: Omit<BenchResults, 'targets'>, path: ThroughputPath, connections: number): number | undefined {
  return r.throughput.find((t) => t.path === path && t.connections === connections)?.mbPerS;
}

function ratioToTls(r: Omit<BenchResults, 'targets'>, path: ThroughputPath): number | undefined {
  const mine = throughputOf(r, path, 1);
  const tls = throughputOf(r, 'tls', 1);
  return mine === undefined || tls === undefined ? undefined : mine / tls;
}

function latencyAtTargetRps(r: Omit<BenchResults, 'targets'>, path: RequestPath, generator: LoadGenerator): LatencyResult | undefined {
  return r.latency.find((l) => l.path === path && l.generator === generator && l.targetRps === TARGET_RPS);
}

/** p90 added at the target rate by one generator: the binding line (paced), or the same line for information. */
function p90AddedLine(path: 'l4' | 'l7', generator: LoadGenerator): Line {
  const line = path === 'l4' ? L4_P90_ADDED_MAX_MS : L7_P90_ADDED_MAX_MS;
  const binding = generator === LATENCY_TARGET_GENERATOR;
  return {
    id: binding ? `${path}-p90-added` : `${path}-p90-added-${generator}`,
    what: `p90 added at 1,000 rps, ${path.toUpperCase()} (${generator}${binding ? '' : ', info'})`,
    direction: '<=',
    line,
    target: `<= ${line} ms`,
    unit: 'ms',
    ...(binding ? {} : { info: true }),
  };
}

/** The busier ztunnel: a node's ztunnel is sized for its own load, so the larger one is what counts. */
function ztunnelCost(l: LatencyResult | undefined): number | undefined {
  const costs = ZTUNNELS.map((name) => l?.cost[name]?.vcpuPer1000Rps).filter((v): v is number => v !== undefined);
  return costs.length === 0 ? undefined : Math.max(...costs);
}

/** Pooled runs at several concurrencies: the best rate is what the data plane can do. */
function pooledConnectionsPerSecond(r: Omit<BenchResults, 'targets'>): number | undefined {
  const rates = r.connections.filter((c) => c.mode === 'pooled').map((c) => c.perSecond);
  return rates.length === 0 ? undefined : Math.max(...rates);
}

/** The largest count: fixed costs spread thinnest there, so it is closest to the per-connection cost. */
function idleTunnelKb(r: Omit<BenchResults, 'targets'>): number | undefined {
  if (r.scale.length === 0) return undefined;
  const largest = r.scale.reduce((a, b) => (b.connections > a.connections ? b : a));
  return largest.tunnelBytesPerConnection / KB;
}

/** The worse victim: every :15008 must hold, so the weaker one is the verdict. */
function worstVictim(r: Omit<BenchResults, 'targets'>, figure: (h: BenchResults['hostile'][number]) => number): number | undefined {
  const hostile = r.hostile ?? [];
  return hostile.length === 0 ? undefined : Math.max(...hostile.map(figure));
}

/** The process whose RSS grew most over the soak, percent (file descriptors are in the soak table). */
function soakGrowthPct(r: Omit<BenchResults, 'targets'>): number | undefined {
  const procs = r.soak?.processes;
  if (!procs || procs.length === 0) return undefined;
  return Math.max(...procs.map((p) => p.rssGrowth)) * 100;
}

/** The pods suite's figures at the target's count; other counts do not count. */
function podsAtTarget(r: Omit<BenchResults, 'targets'>): NonNullable<BenchResults['pods']>[number] | undefined {
  return r.pods?.find((p) => p.pods === PODS_TARGET_COUNT);
}

/** MB are 2^20 bytes, so 1,024 of them make the target's GB. */
function podsRssGb(r: Omit<BenchResults, 'targets'>): number | undefined {
  const p = podsAtTarget(r);
  return p === undefined ? undefined : p.rssMB / KB;
}

export function evaluateTargets(r: Omit<BenchResults, 'targets'>): TargetResult[] {
  return [
    verdict(
      { id: 'hbone-stream', what: 'One HBONE stream', direction: '>=', line: HBONE_STREAM_MIN_X_TLS, target: `>= ${HBONE_STREAM_MIN_X_TLS}x`, unit: 'x TLS' },
      ratioToTls(r, 'hbone'),
    ),
    verdict(
      { id: 'l4-path', what: 'L4 mesh path', direction: '>=', line: L4_PATH_MIN_X_TLS, target: `>= ${L4_PATH_MIN_X_TLS}x`, unit: 'x TLS' },
      ratioToTls(r, 'l4'),
    ),
    verdict(p90AddedLine('l4', LATENCY_TARGET_GENERATOR), latencyAtTargetRps(r, 'l4', LATENCY_TARGET_GENERATOR)?.addedMs.p90),
    verdict(p90AddedLine('l7', LATENCY_TARGET_GENERATOR), latencyAtTargetRps(r, 'l7', LATENCY_TARGET_GENERATOR)?.addedMs.p90),
    verdict(p90AddedLine('l4', 'autocannon'), latencyAtTargetRps(r, 'l4', 'autocannon')?.addedMs.p90),
    verdict(p90AddedLine('l7', 'autocannon'), latencyAtTargetRps(r, 'l7', 'autocannon')?.addedMs.p90),
    verdict(
      {
        id: 'ztunnel-cost',
        what: 'Cost per 1,000 rps, ztunnel',
        direction: '<=',
        line: ZTUNNEL_MAX_VCPU_PER_1000_RPS,
        target: `<= ${ZTUNNEL_MAX_VCPU_PER_1000_RPS.toFixed(2)} vCPU`,
        unit: 'vCPU',
      },
      ztunnelCost(latencyAtTargetRps(r, 'l4', COST_TARGET_GENERATOR)),
    ),
    verdict(
      {
        id: 'waypoint-cost',
        what: 'Cost per 1,000 rps, waypoint',
        direction: '<=',
        line: WAYPOINT_MAX_VCPU_PER_1000_RPS,
        target: `<= ${WAYPOINT_MAX_VCPU_PER_1000_RPS.toFixed(2)} vCPU`,
        unit: 'vCPU',
      },
      latencyAtTargetRps(r, 'l7', COST_TARGET_GENERATOR)?.cost[WAYPOINT]?.vcpuPer1000Rps,
    ),
    verdict(
      {
        id: 'waypoint-cost-x-echo',
        what: 'Cost per request, waypoint / http-echo (same run)',
        direction: '<=',
        line: WAYPOINT_MAX_X_HTTP_ECHO,
        target: `<= ${WAYPOINT_MAX_X_HTTP_ECHO}x`,
        unit: 'x http-echo',
      },
      waypointOverEcho(latencyAtTargetRps(r, 'l7', COST_TARGET_GENERATOR)),
    ),
    verdict(
      {
        id: 'new-connections',
        what: 'New tunneled connections',
        direction: '>=',
        line: NEW_CONNECTIONS_MIN_PER_S,
        target: `>= ${formatNumber(NEW_CONNECTIONS_MIN_PER_S, 0)}/s`,
        unit: '/s',
      },
      pooledConnectionsPerSecond(r),
    ),
    verdict(
      {
        id: 'idle-connection',
        what: 'Idle tunneled connection',
        direction: '<=',
        line: IDLE_CONNECTION_MAX_KB,
        target: `<= ${IDLE_CONNECTION_MAX_KB} KB`,
        unit: 'KB',
      },
      idleTunnelKb(r),
    ),
    verdict(
      {
        id: 'rapid-reset-p50',
        what: 'Legit p50 under rapid reset',
        direction: '<=',
        line: RAPID_RESET_LEGIT_P50_MAX_MS,
        target: `<= ${RAPID_RESET_LEGIT_P50_MAX_MS} ms`,
        unit: 'ms',
      },
      worstVictim(r, (h) => h.legitMs.during.p50),
    ),
    verdict(
      {
        id: 'rapid-reset-rss',
        what: 'Victim RSS after rapid reset, over baseline',
        direction: '<=',
        line: RAPID_RESET_RSS_ABOVE_BASELINE_MAX_PCT,
        target: `<= ${RAPID_RESET_RSS_ABOVE_BASELINE_MAX_PCT}%`,
        unit: '%',
      },
      worstVictim(r, (h) => (h.victimRssMB.after / h.victimRssMB.before - 1) * 100),
    ),
    verdict(
      {
        id: 'soak-flat',
        what: 'Soak: RSS growth after warm-up, worst process',
        direction: '<=',
        line: SOAK_RSS_GROWTH_MAX_PCT,
        target: `<= ${SOAK_RSS_GROWTH_MAX_PCT}%`,
        unit: '%',
      },
      soakGrowthPct(r),
    ),
    verdict(
      {
        id: 'push-acked',
        what: 'Push: an apply ACKed by every proxy (12 processes), p50',
        direction: '<=',
        line: PUSH_ALL_ACKED_P50_MAX_MS,
        target: `<= ${PUSH_ALL_ACKED_P50_MAX_MS} ms`,
        unit: 'ms',
      },
      r.push?.applyP50Ms,
    ),
    verdict(
      {
        id: 'page-first-paint',
        what: 'Live page with bookinfo: first contentful paint, p50',
        direction: '<=',
        line: PAGE_FIRST_PAINT_P50_MAX_MS,
        target: `<= ${formatNumber(PAGE_FIRST_PAINT_P50_MAX_MS, 0)} ms`,
        unit: 'ms',
      },
      r.page?.firstPaintP50Ms,
    ),
    verdict(
      {
        id: 'page-weight',
        what: 'Live page with bookinfo: weight (one HTML document)',
        direction: '<=',
        line: PAGE_WEIGHT_MAX_KB,
        target: `<= ${PAGE_WEIGHT_MAX_KB} KB`,
        unit: 'KB',
      },
      r.page === undefined ? undefined : r.page.htmlBytes / KB,
    ),
    verdict(
      {
        id: 'pods-ready',
        what: `${formatNumber(PODS_TARGET_COUNT, 0)} pods over 3 nodes: ready, every Service answering`,
        direction: '<=',
        line: PODS_READY_MAX_S,
        target: `<= ${PODS_READY_MAX_S} s`,
        unit: 's',
      },
      podsAtTarget(r)?.answeredSeconds,
    ),
    verdict(
      {
        id: 'pods-rss',
        what: `${formatNumber(PODS_TARGET_COUNT, 0)} pods over 3 nodes: total RSS`,
        direction: '<=',
        line: PODS_RSS_MAX_GB,
        target: `<= ${PODS_RSS_MAX_GB} GB`,
        unit: 'GB',
      },
      podsRssGb(r),
    ),
  ];
}
