// The soak suite, short: half a minute of the highest load this machine sustains through the L7 path,
// the mesh held by the runner itself (hbone-sim scenario --hold). Asserts the bound, not a speed:
// every process, the runner included, ends flat (low-water RSS within 15% of its value after
// warm-up, no file descriptors gained), and no request failed.
import t from 'tap';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawn } from 'node:child_process';
import type { BenchResults } from '../../bench/results';
import { RSS_GROWTH_LIMIT, FD_SLACK } from '../../bench/suites/soak';

const BENCH = path.resolve(__dirname, '..', '..', 'dist', 'bench', 'bench.js');
const BLOCK = 95;
// Half a minute after warm-up (15 samples): enough to see a leak of the size the soak found before
// (+300 MB a minute in the runner), and the suite's own tests stay a small part of npm test.
const MINUTES = '0.5';

t.test('a half-minute soak through the waypoint leaves every process flat', async (t) => {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'hbone-soak-test-'));
  t.teardown(() => fs.rmSync(out, { recursive: true, force: true }));
  const child = spawn(process.execPath, [BENCH, '--quick', '--suite', 'soak', '--minutes', MINUTES, '--block', String(BLOCK), '--out', out], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, HBONE_LOG: undefined, NODE_OPTIONS: '' },
  });
  let stderr = '';
  child.stdout.resume();
  child.stderr.on('data', (d: Buffer) => (stderr += d));
  const code = await new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
  t.equal(code, 0, 'exit 0', { stderr: stderr.slice(-3000) });
  const file = fs.readdirSync(path.join(out, 'results')).find((f) => f.endsWith('.json'))!;
  const res = JSON.parse(fs.readFileSync(path.join(out, 'results', file), 'utf8')) as BenchResults;
  const soak = res.soak!;
  t.ok(soak, 'a soak result');
  t.ok(soak.requests > 0, `${soak.requests} requests after warm-up (${soak.rps.toFixed(0)} rps)`);
  t.equal(soak.errors + soak.non2xx, 0, 'no request failed');
  t.same(
    soak.processes.map((p) => p.name).sort(),
    ['client', 'http-echo', 'istiod', 'runner', 'sink', 'waypoint', 'ztunnel-node-a', 'ztunnel-node-b'],
    'the runner and every mesh process were watched',
  );
  for (const p of soak.processes) {
    t.ok(
      p.rssGrowth <= RSS_GROWTH_LIMIT,
      `${p.name}: low-water RSS ${p.rssWarmMB.toFixed(1)} → ${p.rssEndMB.toFixed(1)} MB (${(p.rssGrowth * 100).toFixed(1)}%, samples ${p.rssMBSamples.join(' ')})`,
    );
    t.ok(p.fdsEnd <= p.fdsWarm + FD_SLACK, `${p.name}: fds ${p.fdsWarm} → ${p.fdsEnd}`);
  }
  t.ok(soak.flat, 'the run is flat');
  t.notOk(fs.existsSync(path.join(out, 'REPORT.md')), 'not published: the committed report is left alone');
  t.match(
    fs.readFileSync(path.join(out, 'results', file.replace(/\.json$/, '.md')), 'utf8'),
    /### Soak: 0\.50 min on the L7 path/,
    "the run's own report, beside its results, has the soak table",
  );
});
