// The bench's progress on stderr: suite i of n, the rep, time elapsed, and the time left as
// estimated from each suite's expected duration and refined by how long the finished ones took.
import t from 'tap';
import { parseOptions } from '../../bench/options';
import {
  BenchProgress,
  estimateLeft,
  estimateLeftMs,
  expectedSeconds,
  formatDuration,
  formatStatus,
  planStages,
  repOf,
  type ProgressSink,
} from '../../bench/progress';

const S = 1000;

t.test('durations read short', async (t) => {
  t.equal(formatDuration(0), '0s');
  t.equal(formatDuration(42_400), '42s');
  t.equal(formatDuration(59_600), '1m00s', 'rounded, then split');
  t.equal(formatDuration(185 * S), '3m05s');
  t.equal(formatDuration(3720 * S), '1h02m');
  t.equal(formatDuration(-5 * S), '0s', 'never negative');
});

t.test('time left: from expected durations, refined by the pace of the suites done', async (t) => {
  const expected = [60 * S, 120 * S, 30 * S];
  t.equal(estimateLeftMs(expected, [], 0), 210 * S, 'at the start: every expected duration');
  t.equal(estimateLeftMs(expected, [], 20 * S), 190 * S, 'the first suite 20 s in');
  // The first took 90 s where 60 were expected: a pace of 1.5 for the rest.
  t.equal(estimateLeftMs(expected, [90 * S], 0), 225 * S, '(120 + 30) x 1.5');
  t.equal(estimateLeftMs(expected, [90 * S], 100 * S), 125 * S, '120 x 1.5 - 100 = 80, then 30 x 1.5 = 45');
  // Faster than expected: the rest shrinks alike.
  t.equal(estimateLeftMs(expected, [30 * S], 0), 75 * S, '(120 + 30) x 0.5');
  // The current suite running past its expectation: it is expected to end now, and it sets the pace.
  t.equal(estimateLeftMs(expected, [60 * S], 240 * S), 60 * S, '120 s expected, 240 s run: the last 30 s at a pace of 2');
  t.same(estimateLeft(expected, [60 * S], 240 * S), { currentMs: 0, laterMs: 60 * S }, 'the current one past its estimate: its rest unknown');
  t.same(estimateLeft(expected, [60 * S], 100 * S), { currentMs: 20 * S, laterMs: 30 * S }, 'within it');
  t.equal(estimateLeftMs(expected, [60 * S, 120 * S], 10 * S), 20 * S, 'the last suite 10 s in');
  t.equal(estimateLeftMs(expected, [60 * S, 120 * S, 30 * S], 0), 0, 'done');
  t.equal(estimateLeftMs([0, 10 * S], [], 5 * S), 10 * S, 'a suite expected to take no time does not divide by zero');
});

t.test('expected durations follow the run’s sizes and reps', async (t) => {
  const full = parseOptions([], '/x');
  const quick = parseOptions(['--quick'], '/x');
  for (const suite of full.suites) {
    t.ok(expectedSeconds(suite, quick) < expectedSeconds(suite, full), `${suite}: --quick is shorter`);
    t.ok(expectedSeconds(suite, quick) > 0, `${suite}: takes some time`);
  }
  t.ok(expectedSeconds('latency', parseOptions(['--reps', '6'], '/x')) > expectedSeconds('latency', full), 'more reps, longer');
  t.equal(expectedSeconds('cost', full), expectedSeconds('latency', full), 'cost is measured by the latency runs');
  const soak = parseOptions(['--suite', 'soak', '--minutes', '2'], '/x');
  t.ok(expectedSeconds('soak', soak) >= 120, 'the soak at least its minutes');
  const workers = expectedSeconds('workers', full);
  t.ok(workers > 30 && workers <= 60, `the workers suite, two meshes, stays within a minute (${workers.toFixed(0)} s)`);
  const total = full.suites.reduce((a, s) => a + (s === 'cost' ? 0 : expectedSeconds(s, full)), 0);
  t.ok(total > 5 * 60 && total < 20 * 60, `a full run without the soak: minutes, not seconds or hours (${total.toFixed(0)} s)`);
});

t.test('stages: latency and cost are one, in the order they run', async (t) => {
  const stages = planStages(parseOptions([], '/x'));
  t.same(
    stages.map((s) => s.label),
    ['throughput', 'latency, cost', 'maxrps', 'connections', 'scale', 'hostile', 'peers', 'push', 'page', 'pods', 'workers'],
  );
  t.same(
    planStages(parseOptions(['--suite', 'cost,scale'], '/x')).map((s) => s.label),
    ['cost', 'scale'],
    'cost alone still runs',
  );
});

t.test('status: suite i/n, rep, elapsed, left', async (t) => {
  t.equal(
    formatStatus({ index: 2, count: 8, label: 'latency, cost', rep: 'rep 2/3', elapsedMs: 65 * S, leftMs: 380 * S }),
    'suite 2/8 latency, cost · rep 2/3 · 1m05s elapsed · ~6m20s left',
  );
  t.equal(
    formatStatus({ index: 2, count: 8, label: 'maxrps', rep: 'rep 1/3', elapsedMs: 5 * S, leftMs: 10 * S }, false),
    'suite 2/8 maxrps · 5s elapsed · ~10s left',
  );
  t.equal(
    formatStatus({ index: 3, count: 8, label: 'maxrps', elapsedMs: 5 * S, leftMs: 310 * S, overrun: true }),
    'suite 3/8 maxrps · 5s elapsed · past its estimate, then ~5m10s',
  );
  t.equal(formatStatus({ index: 8, count: 8, label: 'page', elapsedMs: 5 * S, leftMs: 0, overrun: true }), 'suite 8/8 page · 5s elapsed · past its estimate');
  t.equal(
    formatStatus({ index: 8, count: 8, label: 'page', elapsedMs: 5 * S, leftMs: 400 }),
    'suite 8/8 page · 5s elapsed · ~0s left',
    'not past it: a count, however small',
  );
  t.equal(repOf('latency l4: rep 2/3 998 rps, p50 0.9 ms'), 'rep 2/3');
  t.equal(repOf('page: chromium, 5 loads'), undefined);
});

/** A fake stderr and clock. */
function harness(isTTY: boolean) {
  const written: string[] = [];
  let now = 0;
  const sink: ProgressSink = { write: (text: string) => written.push(text), isTTY, columns: 200 };
  const clock = {
    advance: (ms: number) => (now += ms),
    now: () => now,
  };
  return { written, sink, clock };
}

const STAGES = [
  { label: 'latency', suites: ['latency'] as const, expectedMs: 60 * S },
  { label: 'maxrps', suites: ['maxrps'] as const, expectedMs: 40 * S },
];

t.test('a pipe or a log: every line carries where the run is', async (t) => {
  const { written, sink, clock } = harness(false);
  const p = new BenchProgress(STAGES, sink, { now: clock.now, tickMs: 0 });
  p.begin('latency');
  clock.advance(30 * S);
  p.step('latency l4: rep 1/3 998 rps');
  t.equal(p.status()?.rep, 'rep 1/3', 'the rep the suite named');
  clock.advance(60 * S); // latency took 90 s of its 60: a pace of 1.5
  p.begin('maxrps');
  t.equal(p.status()?.rep, undefined, 'a new suite has no rep yet');
  clock.advance(15 * S);
  p.step('maxrps direct: rep 1/3 9,800 rps');
  p.finish();
  t.same(written, [
    '  [suite 1/2 latency · 0s elapsed · ~1m40s left] starts, expected about 1m00s\n',
    '  [suite 1/2 latency · 30s elapsed · ~1m10s left] latency l4: rep 1/3 998 rps\n',
    '  [suite 2/2 maxrps · 1m30s elapsed · ~1m00s left] starts, expected about 40s\n',
    '  [suite 2/2 maxrps · 1m45s elapsed · ~45s left] maxrps direct: rep 1/3 9,800 rps\n',
    '  done: 2 suites in 1m45s (expected about 1m40s)\n',
  ]);
  t.notOk(
    written.some((w) => w.includes('\r')),
    'no terminal control in a log',
  );
  t.same(p.stageSeconds(), { latency: 90, maxrps: 15 }, 'what each stage took, for the results document');
  // The log after the first stage ran past its 60 s: the status says so, and the pace it showed applies to the next.
  const { written: w2, sink: s2, clock: c2 } = harness(false);
  const q = new BenchProgress(STAGES, s2, { now: c2.now, tickMs: 0 });
  q.begin('latency');
  c2.advance(75 * S);
  q.step('latency l7: rep 3/3');
  t.equal(w2[1], '  [suite 1/2 latency · 1m15s elapsed · past its estimate, then ~50s] latency l7: rep 3/3\n', '40 s x 75/60');
});

t.test('a terminal: one status line, kept under the suites’ lines', async (t) => {
  const { written, sink, clock } = harness(true);
  const p = new BenchProgress(STAGES, sink, { now: clock.now, tickMs: 0 });
  p.begin('latency');
  clock.advance(10 * S);
  p.step('latency l4: rep 2/3 998 rps');
  t.same(written, [
    '  suite 1/2: latency, expected about 1m00s\n',
    '\r\x1b[Ksuite 1/2 latency · 0s elapsed · ~1m40s left',
    '\r\x1b[K',
    '  latency l4: rep 2/3 998 rps\n',
    '\r\x1b[Ksuite 1/2 latency · rep 2/3 · 10s elapsed · ~1m30s left',
  ]);
  written.length = 0;
  p.finish();
  t.same(written, ['\r\x1b[K', '  done: 2 suites in 10s (expected about 1m40s)\n'], 'the status line erased before the last word');
  written.length = 0;
  p.stop();
  t.same(written, [], 'nothing left to erase');
});

t.test('a narrow terminal: the status line is cut, not wrapped', async (t) => {
  const written: string[] = [];
  const p = new BenchProgress(STAGES, { write: (x: string) => written.push(x), isTTY: true, columns: 20 }, { now: () => 0, tickMs: 0 });
  p.begin('latency');
  t.equal(written[1], '\r\x1b[Ksuite 1/2 latency ·', 'at most 19 columns');
  p.stop();
  t.equal(written[2], '\r\x1b[K');
});

t.test('pods: a mesh brought up and asked per count and repetition', async (t) => {
  const o = parseOptions(['--suite', 'pods'], '/x');
  const [stage] = planStages(o);
  t.equal(stage.label, 'pods');
  t.ok(stage.expectedMs > 3 * 5000, `1,000 pods three times is more than 15 s: ${stage.expectedMs} ms`);
  t.ok(expectedSeconds('pods', parseOptions(['--suite', 'pods', '--pods', '10'], '/x')) < expectedSeconds('pods', o), 'fewer pods, less time');
});
