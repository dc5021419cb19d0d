// docs/walkthrough.md and its Chinese twin docs/walkthrough.zh.md, run as a learner would
// (test/docs/fixtures/page-runner.ts): `up` in one terminal, every other command of the page in
// order in a second one, each output checked against the block that follows it. The two pages
// hold the same commands and the same expected output, in the same order, so a translation
// cannot drift from what it translates. The mesh is the bundled scenario bookinfo-ambient: this
// file holds the bundled-scenario lock meanwhile.
import t from 'tap';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { LOCK_WAIT_MS, acquireBundledScenarioLock } from '../fixtures/bundled-scenario-lock';
import { REPO, runPage, stepsOf } from './fixtures/page-runner';

const ENGLISH = 'docs/walkthrough.md';
const CHINESE = 'docs/walkthrough.zh.md';
const read = (page: string): string => fs.readFileSync(path.join(REPO, page), 'utf8');

t.test('the two pages: the same commands and outputs, in the same order, each linking to the other', async (t) => {
  const en = stepsOf(read(ENGLISH));
  const zh = stepsOf(read(CHINESE));
  t.same(
    zh.map((s) => s.script),
    en.map((s) => s.script),
    'the same ```sh blocks',
  );
  t.same(
    zh.map((s) => s.expected),
    en.map((s) => s.expected),
    'the same expected ```text blocks',
  );
  t.match(read(ENGLISH), /\]\(walkthrough\.zh\.md\)/, 'the English page links to the Chinese one');
  t.match(read(CHINESE), /\]\(walkthrough\.md\)/, 'the Chinese page links to the English one');
  const pageLines = en.filter((s) => s.expected?.includes('live page:')).map((s) => s.line);
  t.same(pageLines, [], "no expected block holds the live page's address (its port and token change each run)");
});

// Both pages under one hold of the lock: one wait for it, then two meshes one after the other
// (about 20 s each here); the file's time limit leaves room for a wait as long as the lock's.
t.setTimeout(LOCK_WAIT_MS + 120_000);
t.test('both pages, every command, against a running mesh each', async (t) => {
  t.teardown(await acquireBundledScenarioLock());
  for (const page of [ENGLISH, CHINESE]) await t.test(page, (t) => runPage(t, { page, minSteps: 15 }));
});
