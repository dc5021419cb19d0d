// A run's headline figures as one flat list, each named by its suite, its row (a path, a mode, a
// process) and what it measures, and of a kind that says which way is better. `--compare` lines
// two runs' lists up by those names (compare.ts); the tables (table.ts) stay the full record.
import type { Suite } from '../options';
import type { BenchResults } from '../results';
import { REQUEST_LABELS, REQUEST_ORDER, THROUGHPUT_LABELS, THROUGHPUT_ORDER } from './table';
import { formatNumber } from './targets';
import { proxiesVcpu } from '../suites/workers';

export type Better = 'higher' | 'lower';

/** What a figure measures decides which way is better and how many decimals it shows. */
export const FIGURE_KINDS = {
  'MB/s': { better: 'higher', decimals: 0 },
  rps: { better: 'higher', decimals: 0 },
  'conns/s': { better: 'higher', decimals: 0 },
  ms: { better: 'lower', decimals: 3 },
  s: { better: 'lower', decimals: 1 },
  'CPU s/GiB': { better: 'lower', decimals: 2 },
  vCPU: { better: 'lower', decimals: 3 },
  MB: { better: 'lower', decimals: 1 },
  KB: { better: 'lower', decimals: 1 },
  /** Errors, failures: fewer is better. */
  count: { better: 'lower', decimals: 0 },
  /** A peers ratio: above 1 = we do better. */
  ratio: { better: 'higher', decimals: 2 },
} as const satisfies Readonly<Record<string, { readonly better: Better; readonly decimals: number }>>;
export type FigureKind = keyof typeof FIGURE_KINDS;

export interface Figure {
  readonly suite: Suite;
  /** Which path, mode or process: "L4 mesh, 8 conns". */
  readonly row: string;
  /** What is measured, with its unit: "MB/s", "p99 ms". */
  readonly name: string;
  readonly kind: FigureKind;
  readonly value: number;
  /** Decimals shown, when not the kind's (page times are whole milliseconds). */
  readonly decimals?: number;
}

const KB = 1024;

/** The figure kind of a peers metric, by its unit; one not known falls back on which way is better. */
export function peerKind(metric: string, better: Better): FigureKind {
  if (/s\/GiB/.test(metric)) return 'CPU s/GiB';
  if (/MB\/s/.test(metric)) return 'MB/s';
  if (/vCPU/.test(metric)) return 'vCPU';
  if (/\bms\b/.test(metric)) return 'ms';
  if (/\/s\b/.test(metric)) return 'conns/s';
  return better === 'higher' ? 'rps' : 'ms';
}

export function betterOf(kind: FigureKind): Better {
  return FIGURE_KINDS[kind].better;
}

/** Suite order, then the order the tables use within a suite. */
export function runFigures(r: BenchResults): Figure[] {
  const out: Figure[] = [];
  const add = (suite: Suite, row: string, name: string, kind: FigureKind, value: number | undefined, decimals?: number) => {
    // A figure a run could not measure (NaN: no push answered) is missing, not a number to compare.
    if (value === undefined || !Number.isFinite(value)) return;
    out.push({ suite, row, name, kind, value, ...(decimals !== undefined ? { decimals } : {}) });
  };
  const conns = (n: number) => `${n} conn${n === 1 ? '' : 's'}`;

  const throughput = [...r.throughput].sort((a, b) => THROUGHPUT_ORDER.indexOf(a.path) - THROUGHPUT_ORDER.indexOf(b.path) || a.connections - b.connections);
  for (const t of throughput) {
    const row = `${THROUGHPUT_LABELS[t.path]}, ${conns(t.connections)}`;
    add('throughput', row, 'MB/s', 'MB/s', t.mbPerS);
    for (const [proc, cpu] of Object.entries(t.cpuSPerGiB)) add('throughput', row, `CPU s/GiB, ${proc}`, 'CPU s/GiB', cpu);
  }

  const latency = [...r.latency].sort((a, b) => REQUEST_ORDER.indexOf(a.path) - REQUEST_ORDER.indexOf(b.path) || a.targetRps - b.targetRps);
  for (const l of latency) {
    // Two generators drive each path: the row names which, or the figures would collide.
    const row = `${REQUEST_LABELS[l.path]} at ${formatNumber(l.targetRps, 0)} rps, ${l.generator}`;
    add('latency', row, 'p50 ms', 'ms', l.ms.p50);
    add('latency', row, 'p90 ms', 'ms', l.ms.p90);
    add('latency', row, 'p99 ms', 'ms', l.ms.p99);
  }
  for (const l of latency) {
    for (const [proc, c] of Object.entries(l.cost)) {
      const row = `${REQUEST_LABELS[l.path]} at ${formatNumber(l.targetRps, 0)} rps, ${l.generator}, ${proc}`;
      add('cost', row, 'vCPU / 1,000 rps', 'vCPU', c.vcpuPer1000Rps);
      add('cost', row, 'RSS MB', 'MB', c.rssMB);
    }
  }

  const maxRps = [...r.maxRps].sort((a, b) => REQUEST_ORDER.indexOf(a.path) - REQUEST_ORDER.indexOf(b.path) || a.connections - b.connections);
  for (const m of maxRps) {
    const row = `${REQUEST_LABELS[m.path]}, ${conns(m.connections)}`;
    add('maxrps', row, 'rps', 'rps', m.rps);
    add('maxrps', row, 'p50 ms', 'ms', m.ms.p50);
    add('maxrps', row, 'p99 ms', 'ms', m.ms.p99);
  }

  for (const c of r.connections) {
    add('connections', c.mode, 'conns/s', 'conns/s', c.perSecond);
    add('connections', c.mode, 'median ms', 'ms', c.medianMs);
    add('connections', c.mode, 'failures', 'count', c.failures);
  }

  for (const s of [...r.scale].sort((a, b) => a.connections - b.connections)) {
    const row = `${formatNumber(s.connections, 0)} idle connections`;
    add('scale', row, 'tunnel KB/conn', 'KB', s.tunnelBytesPerConnection / KB);
    for (const [proc, bytes] of Object.entries(s.bytesPerConnection)) add('scale', row, `KB/conn, ${proc}`, 'KB', bytes / KB);
    add('scale', row, 'open s', 's', s.openSeconds);
  }

  // Runs saved before the hostile suite existed have no such field.
  for (const h of r.hostile ?? []) {
    const row = `rapid reset on ${h.victim} :15008`;
    add('hostile', row, 'legit p50 ms, during', 'ms', h.legitMs.during.p50, 1);
    add('hostile', row, 'legit p99 ms, during', 'ms', h.legitMs.during.p99, 1);
    add('hostile', row, 'legit failed, during', 'count', h.legitFailures.during);
    add('hostile', row, 'victim vCPU, during', 'vCPU', h.victimVcpu.during, 2);
    add('hostile', row, 'victim RSS MB, peak', 'MB', h.victimRssMB.during, 0);
    add('hostile', row, 'victim RSS MB, after', 'MB', h.victimRssMB.after, 0);
  }

  for (const c of r.peers?.comparisons ?? []) {
    // Rows name the job, not the peer's version: an upgraded nghttpx is still the same comparison.
    // Ours and the ratio only: a peer's own figure moving is the machine, not a change of ours.
    const row = `${c.job}: ${c.oursName} vs peer`;
    for (const f of c.figures) {
      add('peers', row, `ours ${f.metric}`, peerKind(f.metric, f.better), f.ours);
      add('peers', row, `ratio ${f.metric}`, 'ratio', f.ratio);
    }
  }

  if (r.push) {
    // Not named by its number of changes: a --quick run makes fewer, and is still the same figure.
    const row = 'an apply to every proxy';
    add('push', row, 'apply p50 ms', 'ms', r.push.applyP50Ms, 1);
    add('push', row, 'apply p90 ms', 'ms', r.push.applyP90Ms, 1);
    add('push', row, 'apply max ms', 'ms', r.push.applyMaxMs, 1);
    add('push', row, 'push p50 ms', 'ms', r.push.p50Ms, 1);
    add('push', row, 'push max ms', 'ms', r.push.maxMs, 1);
    add('push', row, 'NACKs', 'count', r.push.nacks);
  }

  if (r.page) {
    const row = 'live page';
    add('page', row, 'first contentful paint ms', 'ms', r.page.firstPaintP50Ms, 0);
    add('page', row, 'DOMContentLoaded ms', 'ms', r.page.domContentLoadedP50Ms, 0);
    add('page', row, 'stream live ms', 'ms', r.page.liveP50Ms, 0);
    add('page', row, 'HTML KB', 'KB', r.page.htmlBytes / KB);
    add('page', row, 'graph event KB', 'KB', r.page.graphEventBytes / KB);
  }

  for (const p of r.pods ?? []) {
    const row = `${formatNumber(p.pods, 0)} pods`;
    add('pods', row, 'ready s', 's', p.answeredSeconds);
    add('pods', row, 'total RSS MB', 'MB', p.rssMB);
    add('pods', row, 'unanswered', 'count', p.unanswered);
  }

  for (const w of r.workers ?? []) {
    const row = `${REQUEST_LABELS[w.path]}, ${w.workers} worker${w.workers === 1 ? '' : 's'}`;
    add('workers', row, 'rps', 'rps', w.rps);
    add('workers', row, 'p99 ms', 'ms', w.ms.p99);
    add('workers', row, 'proxies vCPU', 'vCPU', proxiesVcpu(w), 2);
  }

  if (r.soak) {
    add('soak', 'L7 path', 'rps', 'rps', r.soak.rps);
    add('soak', 'L7 path', 'errors', 'count', r.soak.errors + r.soak.non2xx);
    for (const p of r.soak.processes) {
      add('soak', p.name, 'low-water MB, last third', 'MB', p.rssEndMB);
      add('soak', p.name, 'max MB', 'MB', p.rssMaxMB);
    }
  }
  return out;
}
