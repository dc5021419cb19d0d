// docs/hands-on.md, run as a learner would (test/docs/fixtures/page-runner.ts): `up` in one
// terminal, every other command of the page in order in a second one, each output checked
// against the block that follows it. The mesh is the bundled scenario bookinfo-ambient: this
// file holds the bundled-scenario lock meanwhile.
import t from 'tap';
import { acquireBundledScenarioLock } from '../fixtures/bundled-scenario-lock';
import { outputMatches, runPage, stepsOf } from './fixtures/page-runner';

t.test('the matcher', async (t) => {
  t.ok(outputMatches('a\n...\nd\n', 'a\nb\nc\nd\n'));
  t.ok(outputMatches('a\n...\n', 'a\n'));
  t.ok(outputMatches('x ... y', 'x 12 ms y'));
  t.notOk(outputMatches('a\nd\n', 'a\nb\nd\n'), 'a line too many');
  t.notOk(outputMatches('a.b', 'axb'), 'a dot is a dot');
  t.notOk(outputMatches('a\n', 'a\nb\n'));
  t.same(
    stepsOf('x\n```sh\nrun 1\n```\n\n```text\nout 1\n```\n```sh\nrun 2\n```\n').map((s) => [s.line, s.script, s.expected]),
    [
      [2, 'run 1\n', 'out 1\n'],
      [9, 'run 2\n', undefined],
    ],
  );
});

t.test('docs/hands-on.md, every command, against a running mesh', async (t) => {
  t.teardown(await acquireBundledScenarioLock());
  await runPage(t, { page: 'docs/hands-on.md', minSteps: 10 });
});
