// README.md's bench lines, run in the repository as its Benchmarks section says (their mesh on
// this test's address block, 10.89, by --block): each builds,
// parses its flags and starts measuring (its banner), then Ctrl-C (SIGINT to its process group)
// must stop it with 130 and leave none of its processes or its mesh's listeners behind. A full
// run takes minutes (the soak line ten): what is tested is that the line is right and stops
// cleanly, not the figures. readme-lines.test.ts proves every README line has a rule.
import t from 'tap';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { README_BENCH_BLOCK, REPO, readmeCommands, ruleFor, Rule } from './fixtures/readme';
import { commandLine, descendants, inScratch, runLine, stillRunning, LineRun } from './fixtures/run-line';
import { liveListeners, Listener } from '../runner/fixtures/cli';
import { PORT_HBONE, PORT_READINESS } from '../../src/mesh/ports';

const START_MS = 120_000;
const STOP_MS = 30_000;
const LEFTOVER_MS = 20_000;

// Every process of the bench mesh (bench/mesh.ts) answers readiness on its address; with the
// capture and the waypoint's HBONE. The soak's mesh is held by a runner the bench spawns in a
// process group of its own, whose children are no descendants of the line once it is gone:
// these listeners find them too.
const block = README_BENCH_BLOCK;
const BENCH_LISTENERS: Listener[] = [
  ...[
    ['0.1', 'ztunnel-node-a'],
    ['0.2', 'ztunnel-node-b'],
    ['1.1', 'client'],
    ['2.1', 'sink'],
    ['2.2', 'http-echo'],
    ['3.1', 'waypoint'],
  ].map(([ip, what]) => ({ host: `127.${block}.${ip}`, port: PORT_READINESS, what: `${what} readiness` })),
  { host: `127.${block}.3.1`, port: PORT_HBONE, what: 'waypoint HBONE' },
  { host: `127.${block}.0.1`, port: 15101, what: 'bench capture' },
];

t.setTimeout(8 * (START_MS + STOP_MS));

const lines = readmeCommands()
  .map((c) => ({ ...c, rule: ruleFor(c.text) }))
  .filter((c): c is typeof c & { rule: Rule } => c.rule?.file === 'bench');
const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'hbone-readme-bench-'));
const running = new Set<LineRun>();
t.teardown(() => {
  for (const r of running) r.kill();
  fs.rmSync(scratch, { recursive: true, force: true });
});

async function until<T>(probe: () => Promise<T[]> | T[], withinMs: number): Promise<T[]> {
  const deadline = Date.now() + withinMs;
  for (;;) {
    const left = await probe();
    if (left.length === 0 || Date.now() >= deadline) return left;
    await new Promise((r) => setTimeout(r, 250));
  }
}

t.ok(lines.length > 0, 'the README shows bench lines');

for (const line of lines) {
  t.test(`README.md:${line.line}: ${line.text}`, async (t) => {
    const command = inScratch(line.rule.asRun ? line.rule.asRun(line.text) : line.text, scratch);
    if (line.rule.reason) t.comment(`run as \`${command}\`: ${line.rule.reason}`);
    const busy = await until(() => liveListeners(BENCH_LISTENERS), START_MS);
    if (!t.same(busy, [], `the bench block 10.${block} is free`)) return;
    const run = runLine(command, REPO);
    running.add(run);
    try {
      // Every process below the line, sampled until it exits: an orphan is reparented away from it.
      const started = new Set<number>();
      const sample = setInterval(() => descendants(run.pid).forEach((p) => started.add(p)), 100);
      try {
        await run.waitFor(line.rule.upWhen!, START_MS);
        t.pass('it parsed its flags and started');
        run.signal('SIGINT');
        t.equal(await run.waitExit(STOP_MS), line.rule.exitCode, `Ctrl-C: exit ${line.rule.exitCode}`, { output: run.output().slice(-4000) });
      } finally {
        clearInterval(sample);
      }
      const left = await until(() => stillRunning([...started]), LEFTOVER_MS);
      t.same(
        left.map((pid) => `${pid} ${commandLine(pid)}`),
        [],
        'none of its processes is left',
      );
      for (const pid of left) process.kill(pid, 'SIGKILL'); // this test's own orphans, by pid
      t.same(await until(() => liveListeners(BENCH_LISTENERS), LEFTOVER_MS), [], 'nothing listens on the bench mesh addresses');
    } finally {
      run.kill();
      running.delete(run);
    }
  });
}
