// `npm run bench -- --compare FILE`: every figure of a run beside a saved run's, with the change in
// percent and whether it went the better way for that kind of figure, so a contributor sees what
// their change did. Figures are matched by suite, row and name (figures.ts); a figure only one
// run measured shows "—" for the other.
import type { Suite } from '../options';
import { SUITES } from '../options';
import type { BenchResults } from '../results';
import { type Figure, type FigureKind, FIGURE_KINDS, betterOf, runFigures } from './figures';
import { type Column, type Section, formatSection } from './table';
import { formatNumber } from './targets';

/**
 * A change smaller than this, in percent, is marked as the same: on a shared 2-core machine the
 * same code moves more than that between runs, and a ✅ for +0.3% would claim what it cannot.
 */
export const SAME_WITHIN_PERCENT = 1;
/** A figure one side did not measure. */
export const MISSING = '—';
export const MARKS = { better: '✅', worse: '❌', same: '≈' } as const;
const PERCENT_DECIMALS = 1;
/** The summary names this many of the largest moves each way; the tables have the rest. */
export const HIGHLIGHTS = 5;

export type Verdict = keyof typeof MARKS;

export interface FigureChange {
  readonly suite: Suite;
  readonly row: string;
  readonly name: string;
  readonly kind: FigureKind;
  readonly decimals?: number;
  /** The saved run's figure, and this run's; undefined where that run did not measure it. */
  readonly was?: number;
  readonly now?: number;
  /** (now - was) / was, in percent; undefined when either is missing or was is zero (and now is not). */
  readonly percent?: number;
  /** undefined when either side is missing. */
  readonly verdict?: Verdict;
}

export function percentChange(was: number, now: number): number | undefined {
  if (was === now) return 0;
  if (was === 0) return undefined;
  return ((now - was) / Math.abs(was)) * 100;
}

/** Better or worse for this kind of figure; the same within SAME_WITHIN_PERCENT. */
export function verdictOf(kind: FigureKind, was: number, now: number): Verdict {
  const percent = percentChange(was, now);
  if (now === was || (percent !== undefined && Math.abs(percent) < SAME_WITHIN_PERCENT)) return 'same';
  const up = now > was;
  return up === (betterOf(kind) === 'higher') ? 'better' : 'worse';
}

const keyOf = (f: Figure) => `${f.suite}\u0000${f.row}\u0000${f.name}`;

/** Every figure of either run, in suite order; within a suite, this run's order, then the saved run's others. */
export function compareRuns(now: BenchResults, was: BenchResults): FigureChange[] {
  const nowFigures = runFigures(now);
  const wasFigures = runFigures(was);
  const wasByKey = new Map(wasFigures.map((f) => [keyOf(f), f]));
  const nowByKey = new Map(nowFigures.map((f) => [keyOf(f), f]));
  const changes: FigureChange[] = [];
  for (const suite of SUITES) {
    const inNow = nowFigures.filter((f) => f.suite === suite);
    const onlyWas = wasFigures.filter((f) => f.suite === suite && !nowByKey.has(keyOf(f)));
    for (const f of [...inNow, ...onlyWas]) {
      const a = wasByKey.get(keyOf(f))?.value;
      const b = nowByKey.get(keyOf(f))?.value;
      const percent = a !== undefined && b !== undefined ? percentChange(a, b) : undefined;
      changes.push({
        suite,
        row: f.row,
        name: f.name,
        kind: f.kind,
        ...(f.decimals !== undefined ? { decimals: f.decimals } : {}),
        ...(a !== undefined ? { was: a } : {}),
        ...(b !== undefined ? { now: b } : {}),
        ...(percent !== undefined ? { percent } : {}),
        ...(a !== undefined && b !== undefined ? { verdict: verdictOf(f.kind, a, b) } : {}),
      });
    }
  }
  return changes;
}

export function formatPercent(percent: number | undefined): string {
  if (percent === undefined) return MISSING;
  const text = formatNumber(percent, PERCENT_DECIMALS);
  // "+0.0%" would claim a direction the rounding hid.
  return Number(text.replace(/,/g, '')) === 0 ? `${formatNumber(0, PERCENT_DECIMALS)}%` : `${percent > 0 ? '+' : ''}${text}%`;
}

function value(c: FigureChange, x: number | undefined): string {
  return x === undefined ? MISSING : formatNumber(x, c.decimals ?? FIGURE_KINDS[c.kind].decimals);
}

const SUITE_TITLES: Readonly<Record<Suite, string>> = {
  throughput: 'Throughput',
  latency: 'Latency',
  maxrps: 'Max requests/s',
  cost: 'Cost',
  connections: 'New connections',
  scale: 'Idle connections',
  hostile: 'Hostile: HTTP/2 rapid reset',
  peers: 'Peers: other implementations of the same job',
  push: 'Push',
  page: 'Live page',
  pods: 'Pods',
  workers: 'Workers',
  soak: 'Soak',
};

const COLUMNS: readonly Column[] = [
  { header: 'row', align: 'left' },
  { header: 'figure', align: 'left' },
  { header: 'was', align: 'right' },
  { header: 'now', align: 'right' },
  { header: 'change', align: 'right' },
  // Last, so an emoji's double width shifts nothing after it.
  { header: '', align: 'left' },
];

/** One table per suite either run measured. */
export function comparisonSections(changes: readonly FigureChange[]): Section[] {
  const sections: Section[] = [];
  for (const suite of SUITES) {
    const rows = changes.filter((c) => c.suite === suite);
    if (rows.length === 0) continue;
    const onlyNow = rows.every((c) => c.was === undefined);
    const onlyWas = rows.every((c) => c.now === undefined);
    sections.push({
      suite,
      title: SUITE_TITLES[suite],
      columns: COLUMNS,
      rows: rows.map((c) => [c.row, c.name, value(c, c.was), value(c, c.now), formatPercent(c.percent), c.verdict ? MARKS[c.verdict] : '']),
      ...(onlyNow ? { note: 'Only this run measured this suite.' } : onlyWas ? { note: 'Only the saved run measured this suite.' } : {}),
    });
  }
  return sections;
}

export interface Counts {
  readonly better: number;
  readonly worse: number;
  readonly same: number;
  /** Figures only one run has. */
  readonly unmatched: number;
}

export function countVerdicts(changes: readonly FigureChange[]): Counts {
  const n = (v: Verdict) => changes.filter((c) => c.verdict === v).length;
  return { better: n('better'), worse: n('worse'), same: n('same'), unmatched: changes.filter((c) => c.verdict === undefined).length };
}

const describe = (r: BenchResults) => `${r.startedAt}, ${r.quick ? 'quick' : 'full'}, ${r.machine.cores} cores`;

/** Differences that make the percentages mean less, said before the tables. */
export function caveats(now: BenchResults, was: BenchResults): string[] {
  const out: string[] = [];
  if (now.quick !== was.quick) out.push('one run is --quick and the other full: their figures come from different sizes and reps');
  if (now.machine.cpuModel !== was.machine.cpuModel || now.machine.cores !== was.machine.cores) {
    out.push(`different machines: ${was.machine.cpuModel} (${was.machine.cores} cores) then, ${now.machine.cpuModel} (${now.machine.cores} cores) now`);
  }
  return out;
}

/**
 * The comparison as the terminal shows it. `wasName` names the saved run (its file); `now` is this
 * run, or with --render the run being drawn.
 */
export function formatComparison(now: BenchResults, was: BenchResults, wasName: string): string {
  const changes = compareRuns(now, was);
  const c = countVerdicts(changes);
  const lines = [
    `Compared with ${wasName}`,
    `was: ${describe(was)}; now: ${describe(now)}`,
    ...caveats(now, was).map((w) => `note: ${w}`),
    `${c.better} better ${MARKS.better}, ${c.worse} worse ${MARKS.worse}, ${c.same} within ${SAME_WITHIN_PERCENT}% ${MARKS.same}, ${c.unmatched} in one run only (${MISSING}). ` +
      `Higher is better for ${kindsWhere('higher')}; lower for ${kindsWhere('lower')}.`,
  ];
  for (const v of ['worse', 'better'] as const) {
    const moved = largestMoves(changes, v);
    if (moved.length > 0) lines.push(`${v} ${MARKS[v]}: ${moved.map((x) => `${x.suite} ${x.row}, ${x.name} ${formatPercent(x.percent)}`).join('; ')}`);
  }
  const sections = comparisonSections(changes);
  if (sections.length === 0) return lines.join('\n') + '\n\nneither run measured anything\n';
  return lines.join('\n') + '\n\n' + sections.map(formatSection).join('\n\n') + '\n';
}

/** The figures that moved furthest `verdict`'s way, at most HIGHLIGHTS; a move from zero (no percent) first. */
export function largestMoves(changes: readonly FigureChange[], verdict: 'better' | 'worse'): FigureChange[] {
  const size = (c: FigureChange) => (c.percent === undefined ? Infinity : Math.abs(c.percent));
  return changes
    .filter((c) => c.verdict === verdict)
    .sort((a, b) => size(b) - size(a))
    .slice(0, HIGHLIGHTS);
}

function kindsWhere(better: 'higher' | 'lower'): string {
  return (Object.keys(FIGURE_KINDS) as FigureKind[]).filter((k) => betterOf(k) === better).join(', ');
}
