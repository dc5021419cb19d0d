// docs/hands-on.md, run as a learner would: its first command (`up`) in one terminal, every
// other ```sh block after it, in order, in a second one (bash, stderr with stdout as a terminal
// shows them), each checked against the ```text block that follows it: line for line, where
// a line `...` stands for any lines and `...` within a line for any text. `npx hbone-sim` runs
// the built CLI directly (npx would find the same file, a second later each time). The mesh
// is the bundled scenario bookinfo-ambient, so the bundled-scenario lock is held meanwhile.
import t from 'tap';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { CLI, REPO, killGroup, liveListeners, listenersOf, processesMentioning } from '../runner/fixtures/cli';
import { acquireBundledScenarioLock } from '../fixtures/bundled-scenario-lock';
import { loadScenario } from '../../src/mesh/load';

const PAGE = path.join(REPO, 'docs', 'hands-on.md');
const SCENARIO = 'bookinfo-ambient';
const UP_MS = 30_000;
const STEP_MS = 30_000;
const STOP_MS = 20_000;
/** `npx hbone-sim …` as the built CLI itself; any other npx as npx. */
const PRELUDE = `npx() { if [ "$1" = hbone-sim ]; then shift; node "$HBONE_SIM_CLI" "$@"; else command npx "$@"; fi; }\nexec 2>&1\n`;

export interface Step {
  readonly line: number;
  readonly script: string;
  /** The output block that follows, if any. */
  readonly expected?: string;
}

/** The page's ```sh blocks, each with the ```text block right after it. */
export function stepsOf(markdown: string): Step[] {
  const fence = /^```(\w*)\n([\s\S]*?)^```$/gm;
  const blocks: { lang: string; body: string; line: number }[] = [];
  for (let m = fence.exec(markdown); m; m = fence.exec(markdown)) {
    blocks.push({ lang: m[1], body: m[2], line: markdown.slice(0, m.index).split('\n').length });
  }
  const steps: Step[] = [];
  blocks.forEach((b, i) => {
    if (b.lang !== 'sh') return;
    const next = blocks[i + 1];
    steps.push({ line: b.line, script: b.body, expected: next?.lang === 'text' ? next.body : undefined });
  });
  return steps;
}

const lines = (s: string): string[] => {
  const out = s.split('\n').map((l) => l.trimEnd());
  while (out.length > 0 && out[out.length - 1] === '') out.pop();
  return out;
};

/** One expected line against one actual line, `...` matching any text. */
function lineMatches(expected: string, actual: string): boolean {
  const re = expected
    .split('...')
    .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
    .join('.*');
  return new RegExp(`^${re}$`).test(actual);
}

/** The whole output against the expected block, a line `...` matching any lines. */
export function outputMatches(expected: string, actual: string): boolean {
  const e = lines(expected);
  const a = lines(actual);
  const memo = new Map<string, boolean>();
  const match = (i: number, j: number): boolean => {
    const key = `${i},${j}`;
    if (memo.has(key)) return memo.get(key)!;
    let ok: boolean;
    if (i === e.length) ok = j === a.length;
    else if (e[i] === '...') ok = Array.from({ length: a.length - j + 1 }, (_, k) => j + k).some((k) => match(i + 1, k));
    else ok = j < a.length && lineMatches(e[i], a[j]) && match(i + 1, j + 1);
    memo.set(key, ok);
    return ok;
  };
  return match(0, 0);
}

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
  const steps = stepsOf(fs.readFileSync(PAGE, 'utf8'));
  const [up, ...rest] = steps;
  t.match(up.script, /^npx hbone-sim up bookinfo-ambient\n$/, 'the page starts the mesh first');
  t.ok(rest.length >= 10, `${rest.length} steps after it`);
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'hbone-hands-on-'));
  t.teardown(() => fs.rmSync(home, { recursive: true, force: true }));
  const env = { ...process.env, HBONE_SIM_HOME: home, HBONE_SIM_CLI: CLI, NODE_OPTIONS: '', HBONE_LOG: 'warn' };

  const release = await acquireBundledScenarioLock();
  t.teardown(release);
  const busy = await liveListeners(listenersOf(loadScenario(SCENARIO)));
  t.same(busy, [], "the bundled scenarios' addresses are free");

  // Terminal 1.
  const child = spawn('bash', ['-c', PRELUDE + up.script], { cwd: REPO, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let upOutput = '';
  child.stdout!.setEncoding('utf8').on('data', (s: string) => (upOutput += s));
  child.stderr!.setEncoding('utf8').on('data', (s: string) => (upOutput += s));
  const exited = new Promise<number | null>((r) => child.once('close', (code) => r(code)));
  t.teardown(() => {
    if (child.exitCode === null) killGroup(child.pid!);
  });
  const lastLine = lines(up.expected!).pop()!;
  const deadline = Date.now() + UP_MS;
  while (!upOutput.split('\n').some((l) => lineMatches(lastLine, l.trimEnd())) && Date.now() < deadline && child.exitCode === null) {
    await new Promise((r) => setTimeout(r, 50));
  }
  if (!t.ok(outputMatches(up.expected!, upOutput), `docs/hands-on.md:${up.line}: ${up.script.trim()}`, { found: upOutput, wanted: up.expected })) return;

  // Terminal 2.
  for (const step of rest) {
    const r = spawnSync('bash', ['-c', PRELUDE + step.script], { cwd: REPO, env, encoding: 'utf8', timeout: STEP_MS });
    const what = `docs/hands-on.md:${step.line}: ${step.script.split('\n')[0]}`;
    t.equal(r.status, 0, `${what}: exit 0`, { output: r.stdout });
    if (step.expected !== undefined) t.ok(outputMatches(step.expected, r.stdout), what, { found: r.stdout, wanted: step.expected });
  }

  // Ctrl-C in terminal 1: the mesh stops, nothing of it is left.
  process.kill(-child.pid!, 'SIGINT');
  const code = await Promise.race([exited, new Promise<string>((r) => setTimeout(() => r('still running'), STOP_MS))]);
  t.equal(code, 130, 'Ctrl-C stops the mesh (exit 130)');
  t.same(processesMentioning(`--scenario ${path.join(REPO, 'scenarios', `${SCENARIO}.yaml`)}`), [], 'no process of the mesh is left');
  t.notOk(fs.existsSync(path.join(home, 'meshes', SCENARIO)), 'its kubeconfig is gone');
});
