// README.md's bench lines, run in the repository as its Benchmarks section says: each builds,
// parses its flags and starts measuring (its banner), then Ctrl-C (SIGINT to its process group)
// must stop it with 130 and leave none of its processes or its mesh's listeners behind. A full
// run takes minutes (the soak line ten): what is tested is that the line is right and stops
// cleanly, not the figures. readme-lines.test.ts proves every README line has a rule.
import t from 'tap';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { REPO, readmeCommands, ruleFor, Rule } from './fixtures/readme';
import { descendants, inScratch, runLine, stillRunning, LineRun } from './fixtures/run-line';
import { liveListeners, Listener } from '../runner/fixtures/cli';
import { DEFAULT_BLOCK } from '../../bench/options';
import { PORT_HBONE, PORT_READINESS } from '../../src/mesh/ports';

const START_MS = 120_000;
const STOP_MS = 30_000;
const LEFTOVER_MS = 5_000;

// The bench mesh's main listeners (bench/mesh.ts): the ztunnels' readiness, the waypoint, the capture.
const block = DEFAULT_BLOCK;
const BENCH_LISTENERS: Listener[] = [
  { host: `127.${block}.0.1`, port: PORT_READINESS, what: 'ztunnel-node-a readiness' },
  { host: `127.${block}.0.2`, port: PORT_READINESS, what: 'ztunnel-node-b readiness' },
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
    const command = inScratch(line.text, scratch);
    const busy = await until(() => liveListeners(BENCH_LISTENERS), START_MS);
    if (!t.same(busy, [], `the bench block 10.${block} is free (another bench running?)`)) return;
    const run = runLine(command, REPO);
    running.add(run);
    try {
      await run.waitFor(line.rule.upWhen!, START_MS);
      t.pass('it parsed its flags and started');
      const started = descendants(run.pid);
      run.signal('SIGINT');
      t.equal(await run.waitExit(STOP_MS), line.rule.exitCode, `Ctrl-C: exit ${line.rule.exitCode}`, { output: run.output().slice(-4000) });
      t.same(await until(() => stillRunning(started), LEFTOVER_MS), [], 'none of its processes is left');
      t.same(await until(() => liveListeners(BENCH_LISTENERS), LEFTOVER_MS), [], 'nothing listens on the bench mesh addresses');
    } finally {
      run.kill();
      running.delete(run);
    }
  });
}
