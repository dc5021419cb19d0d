// `npm run bench` as a user types it, without measuring anything: --render of a saved run with
// --compare and --json (stdout the document alone, the rest on stderr), and a --compare file
// that cannot be read refused before any mesh starts. Its block, 10.93, is only a guard: a run
// that started by mistake would stay off every other file's addresses.
import t from 'tap';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawn } from 'node:child_process';
import type { BenchResults } from '../../bench/results';
import { parseSavedResults } from '../../bench/report/saved';
import { RUN, withTargets } from './fixtures/results';

const BENCH = path.resolve(__dirname, '..', '..', 'dist', 'bench', 'bench.js');
const BLOCK = 93;
/** Reading a file and printing tables: seconds at most, even on a busy machine. */
const EXIT_MS = 30_000;

function run(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BENCH, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d));
    child.stderr.on('data', (d: Buffer) => (stderr += d));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`bench ${args.join(' ')} still running after ${EXIT_MS} ms; stderr: ${stderr.slice(-1000)}`));
    }, EXIT_MS);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hbone-bench-cli-'));
t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
const older = path.join(dir, '20261126T091402Z.json');
const newer = path.join(dir, '20261127T100000Z.json');
const WAS: BenchResults = withTargets(RUN);
// L4 one connection 10% faster; the soak not run this time.
const NOW: BenchResults = withTargets({
  ...RUN,
  startedAt: '2026-11-27T10:00:00.000Z',
  throughput: RUN.throughput.map((x) => (x.path === 'l4' && x.connections === 1 ? { ...x, mbPerS: 484 } : x)),
  soak: undefined,
});
fs.writeFileSync(older, JSON.stringify(WAS, null, 2) + '\n');
fs.writeFileSync(newer, JSON.stringify(NOW, null, 2) + '\n');

t.test('--render NEW --compare OLD --json: the document on stdout, the comparison on stderr', async (t) => {
  const r = await run(['--render', newer, '--compare', older, '--json']);
  t.equal(r.code, 0, 'exit 0', { stderr: r.stderr.slice(-2000) });
  const doc: unknown = JSON.parse(r.stdout);
  t.same(doc, parseSavedResults(fs.readFileSync(newer, 'utf8'), newer), 'stdout parses whole: the results document and nothing else');
  t.match(r.stderr, /^Compared with .*20261126T091402Z\.json$/m);
  t.match(r.stderr, /^L4 mesh \(ztunnel→ztunnel\), 1 conn +MB\/s +440 +484 +\+10\.0% +✅$/m);
  t.match(r.stderr, /^Only the saved run measured this suite\.$/m, 'the soak only the older run has');
  t.match(r.stderr, /^Targets$/m, 'the tables on stderr too');
  t.ok(fs.existsSync(path.join(dir, '20261127T100000Z.md')), 'the report drawn beside the rendered file');
});

t.test('--render NEW --compare OLD: tables, then the comparison, on stdout', async (t) => {
  const r = await run(['--render', newer, '--compare', older]);
  t.equal(r.code, 0);
  const tables = r.stdout.indexOf('Targets');
  const compared = r.stdout.indexOf('Compared with');
  t.ok(tables >= 0 && compared > tables, 'the comparison after the tables');
  t.match(r.stdout, /^rendered .*20261127T100000Z\.json; wrote /m);
});

t.test('a --compare file that cannot be read: exit 1, said, nothing run', async (t) => {
  const missing = path.join(dir, 'no-such-run.json');
  const rendered = await run(['--render', newer, '--compare', missing]);
  t.equal(rendered.code, 1);
  t.match(rendered.stderr, /^bench: --compare: cannot read .*no-such-run\.json: ENOENT$/m);
  t.equal(rendered.stdout, '', 'no tables without the comparison asked for');

  const notJson = path.join(dir, 'notes.json');
  fs.writeFileSync(notJson, '{"bench": "something else"}');
  const ran = await run(['--suite', 'latency', '--quick', '--block', String(BLOCK), '--compare', notJson]);
  t.equal(ran.code, 1);
  t.match(ran.stderr, /--compare: .*notes\.json is not the results of an hbone-sim bench run/);
  t.notMatch(ran.stderr, /^hbone-sim bench \(/m, 'refused before the run began: no banner, no mesh');
});

t.test('--compare naming the --render file: a usage error, exit 2', async (t) => {
  const r = await run(['--render', newer, '--compare', newer]);
  t.equal(r.code, 2);
  t.match(r.stderr, /^bench: --compare names the file --render draws; compare it with another run$/m);
});
