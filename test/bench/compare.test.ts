// `npm run bench -- --compare FILE`: two results documents side by side, figure by figure, with
// the change in percent and whether it went the better way for that kind of figure.
import t from 'tap';
import type { BenchResults } from '../../bench/results';
import {
  MARKS,
  MISSING,
  SAME_WITHIN_PERCENT,
  HIGHLIGHTS,
  caveats,
  compareRuns,
  comparisonSections,
  countVerdicts,
  formatComparison,
  formatPercent,
  largestMoves,
  percentChange,
  verdictOf,
  type FigureChange,
} from '../../bench/report/compare';
import { FIGURE_KINDS, betterOf, runFigures } from '../../bench/report/figures';
import { parseSavedResults } from '../../bench/report/saved';
import { RUN, withTargets } from './fixtures/results';

const WAS: BenchResults = withTargets(RUN);

/** The saved run with a few figures moved, as a contributor's change would move them. */
const NOW: BenchResults = withTargets({
  ...RUN,
  startedAt: '2026-11-27T10:00:00.000Z',
  throughput: RUN.throughput.map((x) =>
    // L4 with one connection: 440 -> 484 MB/s (+10%), and its ztunnel-node-a CPU 1.43 -> 1.716 s/GiB (+20%).
    x.path === 'l4' && x.connections === 1 ? { ...x, mbPerS: 484, cpuSPerGiB: { ...x.cpuSPerGiB, 'ztunnel-node-a': 1.716 } } : x,
  ),
  // L7 p90: 11.9 -> 10.71 ms (-10%), and its p50 nearly unchanged: 8.2 -> 8.25 (+0.61%).
  maxRps: RUN.maxRps.map((m) => (m.path === 'l7' ? { ...m, rps: 1904 * 0.75, ms: { ...m.ms, p50: 8.25 } } : m)),
  // The soak did not run this time.
  soak: undefined,
});

function find(changes: readonly FigureChange[], suite: string, row: string, name: string): FigureChange {
  const found = changes.find((c) => c.suite === suite && c.row === row && c.name === name);
  if (!found) throw new Error(`no ${suite} / ${row} / ${name} among ${changes.length} changes`);
  return found;
}

t.test('percent change: (now - was) / was', async (t) => {
  t.equal(percentChange(440, 484), 10);
  t.equal(percentChange(200, 150), -25);
  t.equal(percentChange(0, 0), 0, 'nothing to nothing is no change');
  t.equal(percentChange(0, 3), undefined, 'from zero has no percent');
  t.equal(percentChange(-2, -1), 50, 'a negative start: the sign follows the direction of the move');
  t.equal(formatPercent(10), '+10.0%');
  t.equal(formatPercent(-3.14159), '-3.1%');
  t.equal(formatPercent(0.01), '0.0%', 'no sign where the rounding shows none');
  t.equal(formatPercent(-0.04), '0.0%');
  t.equal(formatPercent(1234.5), '+1,234.5%');
  t.equal(formatPercent(undefined), MISSING);
});

t.test('which way is better, by kind of figure', async (t) => {
  for (const kind of ['MB/s', 'rps', 'conns/s', 'ratio'] as const) t.equal(betterOf(kind), 'higher', `${kind}: up is better`);
  for (const kind of ['ms', 's', 'CPU s/GiB', 'vCPU', 'MB', 'KB', 'count'] as const) t.equal(betterOf(kind), 'lower', `${kind}: down is better`);
  t.equal(verdictOf('MB/s', 100, 110), 'better');
  t.equal(verdictOf('MB/s', 100, 90), 'worse');
  t.equal(verdictOf('ms', 1, 0.9), 'better');
  t.equal(verdictOf('ms', 1, 1.1), 'worse');
  t.equal(verdictOf('CPU s/GiB', 1.43, 1.716), 'worse', 'more CPU per GiB is worse');
  t.equal(verdictOf('MB', 70, 63), 'better', 'less RSS is better');
  t.equal(verdictOf('count', 0, 2), 'worse', 'failures from none: worse, though no percent');
  t.equal(verdictOf('count', 2, 0), 'better');
  t.equal(verdictOf('ms', 2, 2), 'same');
  const justUnder = 100 * (1 + (SAME_WITHIN_PERCENT * 0.99) / 100);
  t.equal(verdictOf('MB/s', 100, justUnder), 'same', `within ${SAME_WITHIN_PERCENT}%: the same`);
  t.equal(verdictOf('MB/s', 100, 100 * (1 + (SAME_WITHIN_PERCENT * 1.01) / 100)), 'better', 'just past it: better');
  t.same(Object.keys(FIGURE_KINDS).sort(), ['CPU s/GiB', 'KB', 'MB', 'MB/s', 'conns/s', 'count', 'ms', 'ratio', 'rps', 's', 'vCPU']);
});

t.test('a run against itself: every figure the same, none missing', async (t) => {
  const changes = compareRuns(WAS, WAS);
  t.equal(changes.length, runFigures(WAS).length, 'one row per figure');
  t.ok(changes.length > 50, 'every suite of the fixture gives figures');
  t.ok(
    changes.every((c) => c.verdict === 'same' && c.percent === 0),
    'all the same',
  );
  t.same(countVerdicts(changes), { better: 0, worse: 0, same: changes.length, unmatched: 0 });
});

t.test('two runs: the right percent and direction per figure', async (t) => {
  const changes = compareRuns(NOW, WAS);
  const mb = find(changes, 'throughput', 'L4 mesh (ztunnel→ztunnel), 1 conn', 'MB/s');
  t.match(mb, { was: 440, now: 484, verdict: 'better' }, 'MB/s up: better');
  t.ok(Math.abs(mb.percent! - 10) < 1e-9, '+10%');
  const cpu = find(changes, 'throughput', 'L4 mesh (ztunnel→ztunnel), 1 conn', 'CPU s/GiB, ztunnel-node-a');
  t.match(cpu, { was: 1.43, now: 1.716, verdict: 'worse' }, 'CPU up: worse');
  t.ok(Math.abs(cpu.percent! - 20) < 1e-9, '+20%');
  const rps = find(changes, 'maxrps', 'L7 waypoint, 16 conns', 'rps');
  t.match(rps, { verdict: 'worse' }, 'rps down: worse');
  t.ok(Math.abs(rps.percent! + 25) < 1e-9, '-25%');
  const p50 = find(changes, 'maxrps', 'L7 waypoint, 16 conns', 'p50 ms');
  t.equal(p50.verdict, 'same', '+0.6% is within the noise');
  t.equal(find(changes, 'maxrps', 'L4 mesh, 16 conns', 'rps').verdict, 'same', 'an untouched figure');
  const counts = countVerdicts(changes);
  t.equal(counts.better, 1);
  t.equal(counts.worse, 2);
});

t.test('a suite in one run only: its figures shown against "—"', async (t) => {
  const changes = compareRuns(NOW, WAS);
  const soak = changes.filter((c) => c.suite === 'soak');
  t.ok(soak.length > 0, 'the saved run’s soak is listed');
  t.ok(
    soak.every((c) => c.now === undefined && c.was !== undefined && c.verdict === undefined && c.percent === undefined),
    'no figure now, no verdict',
  );
  t.equal(countVerdicts(changes).unmatched, soak.length);
  const section = comparisonSections(changes).find((s) => s.suite === 'soak')!;
  t.equal(section.note, 'Only the saved run measured this suite.');
  t.same(section.rows[0].slice(2), ['2,500', MISSING, MISSING, ''], 'was, now, change, mark');
  // The other way round: only this run measured it.
  const back = comparisonSections(compareRuns(WAS, NOW)).find((s) => s.suite === 'soak')!;
  t.equal(back.note, 'Only this run measured this suite.');
  t.same(back.rows[0].slice(2), [MISSING, '2,500', MISSING, '']);
});

t.test('a figure missing on one side within a suite both ran', async (t) => {
  // This run's throughput lost its 8-connection L7 case, and gained a process in one case.
  const now = withTargets({
    ...RUN,
    throughput: RUN.throughput
      .filter((x) => !(x.path === 'l7' && x.connections === 8))
      .map((x) => (x.path === 'tcp' && x.connections === 1 ? { ...x, cpuSPerGiB: { ...x.cpuSPerGiB, extra: 0.5 } } : x)),
  });
  const changes = compareRuns(now, WAS);
  const gone = find(changes, 'throughput', 'L7 via waypoint (HTTP upload), 8 conns', 'MB/s');
  t.match(gone, { was: 350, now: undefined, percent: undefined, verdict: undefined });
  const added = find(changes, 'throughput', 'direct TCP, 1 conn', 'CPU s/GiB, extra');
  t.match(added, { was: undefined, now: 0.5, verdict: undefined });
  const rows = comparisonSections(changes).find((s) => s.suite === 'throughput')!.rows;
  const goneRow = rows.find((r) => r[0] === 'L7 via waypoint (HTTP upload), 8 conns' && r[1] === 'MB/s')!;
  t.same(goneRow.slice(2), ['350', MISSING, MISSING, '']);
  // Within a suite: this run's order first, then what only the saved run had.
  t.equal(rows[rows.length - 1][0], 'L7 via waypoint (HTTP upload), 8 conns', 'the saved run’s extra rows come last');
});

t.test('a figure a run could not measure (NaN) is missing, not compared', async (t) => {
  const now = withTargets({ ...RUN, push: { ...RUN.push!, maxMs: NaN } });
  const c = find(compareRuns(now, WAS), 'push', 'an apply to every proxy', 'push max ms');
  t.match(c, { was: 18.5, now: undefined, verdict: undefined });
});

t.test('the printed comparison: values, percent and marks; caveats', async (t) => {
  const text = formatComparison(NOW, WAS, 'bench/results/20261126T091402Z.json');
  t.match(text, /^Compared with bench\/results\/20261126T091402Z\.json$/m);
  t.match(text, /was: 2026-11-26T09:14:02\.117Z, full, 2 cores; now: 2026-11-27T10:00:00\.000Z, full, 2 cores/);
  t.match(text, new RegExp(`1 better ${MARKS.better}, 2 worse ${MARKS.worse}, \\d+ within ${SAME_WITHIN_PERCENT}% ${MARKS.same}, \\d+ in one run only`));
  t.match(text, /Higher is better for MB\/s, rps, conns\/s, ratio; lower for ms,/);
  t.match(text, /^L4 mesh \(ztunnel→ztunnel\), 1 conn +MB\/s +440 +484 +\+10\.0% +✅$/m);
  t.match(text, /^L4 mesh \(ztunnel→ztunnel\), 1 conn +CPU s\/GiB, ztunnel-node-a +1\.43 +1\.72 +\+20\.0% +❌$/m);
  t.match(text, /^L7 waypoint, 16 conns +rps +1,904 +1,428 +-25\.0% +❌$/m);
  t.match(text, /^L7 waypoint, 16 conns +p50 ms +8\.200 +8\.250 +\+0\.6% +≈$/m);
  t.match(text, /^runner +low-water MB, last third +126\.0 +— +—$/m, 'the soak only the saved run has');
  t.match(text, /^Only the saved run measured this suite\.$/m);
  t.notMatch(text, /^note:/m, 'same machine, same sizes: no caveat');
  t.match(
    text,
    /^worse ❌: maxrps L7 waypoint, 16 conns, rps -25\.0%; throughput L4 mesh \(ztunnel→ztunnel\), 1 conn, CPU s\/GiB, ztunnel-node-a \+20\.0%$/m,
    'the largest worse moves first',
  );
  t.match(text, /^better ✅: throughput L4 mesh \(ztunnel→ztunnel\), 1 conn, MB\/s \+10\.0%$/m);

  const quick = withTargets({ ...RUN, quick: true, machine: { ...RUN.machine, cores: 4 } });
  t.same(caveats(quick, WAS), [
    'one run is --quick and the other full: their figures come from different sizes and reps',
    'different machines: AMD EPYC 7B13 64-Core Processor (2 cores) then, AMD EPYC 7B13 64-Core Processor (4 cores) now',
  ]);
  t.match(formatComparison(quick, WAS, 'x.json'), /^note: one run is --quick/m);
});

t.test('a saved file read back compares as the run did', async (t) => {
  // What --render A --compare B reads: JSON on disk, parsed as --render parses it.
  const older = parseSavedResults(JSON.stringify(WAS), 'was.json');
  const newer = parseSavedResults(JSON.stringify(NOW), 'now.json');
  t.same(compareRuns(newer, older), compareRuns(NOW, WAS));
  // A run saved before the hostile, push, page and soak suites existed lacks their fields.
  const { hostile: _h, push: _p, page: _g, soak: _s, ...old } = RUN;
  const ancient = parseSavedResults(JSON.stringify({ ...old, targets: [] }), 'old.json');
  const changes = compareRuns(NOW, ancient);
  t.ok(
    changes.filter((c) => ['hostile', 'push', 'page'].includes(c.suite)).every((c) => c.was === undefined && c.now !== undefined),
    'the newer suites read as not run then',
  );
});

t.test('the summary names the largest moves, at most a few', async (t) => {
  // Every throughput MB/s 1% to 10% lower: ten worse figures.
  const now = withTargets({ ...RUN, throughput: RUN.throughput.map((x, i) => ({ ...x, mbPerS: x.mbPerS * (0.99 - i / 100) })) });
  const worse = largestMoves(compareRuns(now, WAS), 'worse');
  t.equal(worse.length, HIGHLIGHTS);
  t.ok(
    worse.every((c, i) => i === 0 || Math.abs(c.percent!) <= Math.abs(worse[i - 1].percent!)),
    'largest first',
  );
  t.ok(Math.abs(worse[0].percent! + 10) < 1e-9, 'the 10% drop leads');
  const fromZero = largestMoves(compareRuns(withTargets({ ...RUN, connections: RUN.connections.map((c) => ({ ...c, failures: 3 })) }), WAS), 'worse');
  t.equal(fromZero[0].name, 'failures', 'failures where there were none lead: no percent, but a change');
  t.same(largestMoves(compareRuns(WAS, WAS), 'better'), [], 'nothing moved');
});

t.test('each generator of a path is a figure of its own: paced and autocannon never collide', async (t) => {
  t.ok(RUN.latency.some((l) => l.generator === 'paced') && RUN.latency.some((l) => l.generator === 'autocannon'), 'the fixture has both');
  const figures = runFigures(WAS).filter((f) => f.suite === 'latency' && f.name === 'p90 ms');
  const keys = figures.map((f) => `${f.row} | ${f.name}`);
  t.equal(new Set(keys).size, keys.length, `no two figures share a name: ${keys.join('; ')}`);
  t.equal(figures.length, RUN.latency.length);
});
