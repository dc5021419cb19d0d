// `npm run bench` flags: suites, sizes, and clear errors for what it cannot run.
import * as path from 'node:path';
import t from 'tap';
import {
  DEFAULT_BLOCK,
  DEFAULT_PAGE_REPS,
  DEFAULT_REPS,
  DEFAULT_SOAK_MINUTES,
  DEFAULT_SUITES,
  DEFAULT_THROUGHPUT_REPS,
  FULL,
  QUICK,
  QUICK_PAGE_REPS,
  QUICK_SOAK_MINUTES,
  SUITES,
  USAGE,
  parseOptions,
} from '../../bench/options';
import { UsageError } from '../../src/cli/args';

t.test('defaults: every suite but the soak, full sizes, bench/ as the output', async (t) => {
  const o = parseOptions([], '/repo/bench');
  t.same(o.suites, DEFAULT_SUITES);
  t.notOk(o.suites.includes('soak'), 'the soak runs only when asked for');
  t.same(parseOptions(['--suite', 'all'], '/x').suites, SUITES, '--suite all: the soak too');
  t.equal(o.soakMinutes, DEFAULT_SOAK_MINUTES);
  t.equal(DEFAULT_SOAK_MINUTES, 10, 'ten minutes, as the issue asks');
  t.equal(parseOptions(['--suite', 'soak', '--minutes', '2.5'], '/x').soakMinutes, 2.5);
  t.throws(() => parseOptions(['--minutes', '0'], '/x'), /--minutes must be a positive number/);
  t.equal(o.quick, false);
  t.same(o.sizes, FULL);
  t.equal(o.sizes.throughputBytes, 2 ** 30, '1 GiB per throughput case, as the issue asks');
  t.same(o.sizes.scaleCounts, [1000, 10_000]);
  t.equal(o.reps, DEFAULT_REPS);
  t.equal(o.throughputReps, DEFAULT_THROUGHPUT_REPS, 'throughput repeats more');
  t.equal(o.scaleReps, DEFAULT_REPS);
  t.equal(o.block, DEFAULT_BLOCK);
  t.equal(o.outDir, '/repo/bench');
});

t.test('--quick shrinks every suite but keeps them all, with a median', async (t) => {
  const o = parseOptions(['--quick'], '/x');
  t.same(o.sizes, QUICK);
  t.same(o.suites, DEFAULT_SUITES);
  t.equal(o.soakMinutes, QUICK_SOAK_MINUTES);
  t.ok(o.reps >= 3 && o.throughputReps >= 3, 'still repeated');
  t.equal(o.scaleReps, 1, 'one scale measurement: each starts a mesh');
  t.equal(parseOptions(['--reps', '7'], '/x').throughputReps, 7, '--reps sets every suite');
  t.equal(parseOptions(['--quick', '--reps', '2'], '/x').scaleReps, 2);
  t.ok(QUICK.throughputBytes < FULL.throughputBytes && QUICK.latencySeconds < FULL.latencySeconds);
});

t.test('--suite picks suites, in the order they run', async (t) => {
  t.same(parseOptions(['--suite', 'scale,latency'], '/x').suites, ['latency', 'scale']);
  t.same(parseOptions(['--suite=cost'], '/x').suites, ['cost']);
  t.same(parseOptions(['--suite', 'page', '--quick'], '/x').suites, ['page'], 'the live page alone');
  t.same(parseOptions(['--suite', 'soak,page,push'], '/x').suites, ['push', 'page', 'soak'], 'the page after push, before the soak');
});

t.test('page: in a default run; ten timed loads, five with --quick, --reps overrides', async (t) => {
  t.ok(DEFAULT_SUITES.includes('page'), 'the report has the live page without asking');
  t.equal(parseOptions([], '/x').pageReps, DEFAULT_PAGE_REPS);
  t.equal(DEFAULT_PAGE_REPS, 10);
  t.equal(parseOptions(['--quick'], '/x').pageReps, QUICK_PAGE_REPS);
  t.equal(QUICK_PAGE_REPS, 5);
  t.equal(parseOptions(['--suite', 'page', '--reps', '20'], '/x').pageReps, 20);
  t.match(USAGE, /page loads 10, 5 with --quick/);
  t.match(USAGE, /CHROMIUM=PATH/, 'says where the browser is looked for');
});

t.test('bad flags are usage errors that say what is wrong', async (t) => {
  t.throws(() => parseOptions(['--suite', 'latncy'], '/x'), new UsageError(`unknown suite "latncy"; suites: ${SUITES.join(', ')}`));
  t.throws(() => parseOptions(['--reps', '0'], '/x'), UsageError);
  t.throws(() => parseOptions(['--block', '300'], '/x'), /--block must be an integer from 1 to 254/);
  t.throws(() => parseOptions(['--fast'], '/x'), /unknown flag --fast/);
  t.throws(() => parseOptions(['extra'], '/x'), /unexpected argument "extra"/);
});

t.test('--publish: only then is the committed report rewritten', async (t) => {
  t.equal(parseOptions([], '/x').publish, false, 'a plain run leaves bench/REPORT.md alone');
  t.equal(parseOptions(['--publish'], '/x').publish, true);
});

t.test('--render FILE: draw a saved run, nothing measured; flags that shape a run are refused', async (t) => {
  t.equal(parseOptions([], '/x').render, undefined, 'a plain run runs');
  const o = parseOptions(['--render', 'bench/results/20261201T012351Z.json'], '/repo/bench');
  t.equal(o.render, path.resolve('bench/results/20261201T012351Z.json'), 'resolved against the working directory');
  t.equal(o.publish, false);
  const p = parseOptions(['--render=/tmp/run.json', '--publish', '--out', '/tmp/out'], '/x');
  t.match(p, { render: '/tmp/run.json', publish: true, outDir: '/tmp/out' }, 'published where --out says');
  for (const flag of [['--suite', 'latency'], ['--quick'], ['--reps', '2'], ['--block', '90'], ['--minutes', '1']]) {
    t.throws(() => parseOptions(['--render', 'r.json', ...flag], '/x'), new UsageError(`--render draws a saved run; ${flag[0]} does not apply`), flag[0]);
  }
  t.throws(() => parseOptions(['--render'], '/x'), /--render needs a value/);
  t.match(USAGE, /--render FILE/, 'the usage text names it');
});

t.test('--compare FILE: a run, or a rendered run, beside a saved one', async (t) => {
  t.equal(parseOptions([], '/x').compare, undefined, 'no comparison unless asked');
  const o = parseOptions(['--suite', 'latency', '--quick', '--compare', 'bench/results/20261201T012351Z.json'], '/x');
  t.equal(o.compare, path.resolve('bench/results/20261201T012351Z.json'), 'resolved against the working directory');
  t.same(o.suites, ['latency'], 'a run: the run flags still apply');
  const r = parseOptions(['--render', 'new.json', '--compare=old.json'], '/x');
  t.match(r, { render: path.resolve('new.json'), compare: path.resolve('old.json') }, 'two saved runs, nothing run');
  t.throws(
    () => parseOptions(['--render', 'a.json', '--compare', './a.json'], '/x'),
    new UsageError('--compare names the file --render draws; compare it with another run'),
    'a run against itself is refused, however the path is spelled',
  );
  t.throws(() => parseOptions(['--render', 'a.json', '--compare', 'b.json', '--reps', '2'], '/x'), /--render draws a saved run; --reps does not apply/);
  t.throws(() => parseOptions(['--compare'], '/x'), /--compare needs a value/);
  t.throws(() => parseOptions(['--compare', '--json'], '/x'), /--compare needs a value/, 'a flag is not a file name');
  t.match(USAGE, /--compare FILE/);
  t.match(USAGE, /✅/, 'the usage says how a change is marked');
});

t.test('--json: stdout is the results document alone', async (t) => {
  t.equal(parseOptions([], '/x').json, false);
  t.equal(parseOptions(['--json'], '/x').json, true);
  t.equal(parseOptions(['--render', 'r.json', '--json'], '/x').json, true, 'a saved run too');
  t.equal(parseOptions(['--json', '--compare', 'old.json'], '/x').json, true, 'the comparison goes to stderr then');
  t.throws(() => parseOptions(['--json=yes'], '/x'), /--json takes no value/);
  t.throws(() => parseOptions(['--jsn'], '/x'), /unknown flag --jsn; did you mean --json\?/);
  t.match(USAGE, /--json +stdout holds the results document alone/);
  t.match(USAGE, /^Progress goes to stderr/m);
});

t.test('pods: 10, 100 and 1,000 pods, three times each; --quick stops at 100, once; --pods picks the counts', async (t) => {
  const full = parseOptions(['--suite', 'pods'], '/x');
  t.same(full.podCounts, [10, 100, 1000]);
  t.equal(full.podsReps, DEFAULT_REPS);
  const quick = parseOptions(['--quick'], '/x');
  t.same(quick.podCounts, [10, 100]);
  t.equal(quick.podsReps, 1);
  t.ok(quick.suites.includes('pods'), 'in a default run');
  t.same(parseOptions(['--suite', 'pods', '--pods', '1000, 1500'], '/x').podCounts, [1000, 1500]);
  t.throws(() => parseOptions(['--pods', '0'], '/x'), /--pods must be an integer from 1 to 49750, got "0"/);
  t.throws(() => parseOptions(['--pods', '10,x'], '/x'), /--pods must be an integer/);
  t.throws(() => parseOptions(['--render', 'r.json', '--pods', '10'], '/x'), new UsageError('--render draws a saved run; --pods does not apply'));
});
