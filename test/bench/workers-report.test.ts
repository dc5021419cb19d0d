// The workers suite in a run's tables, report and --compare: a row per path and worker count,
// the gain over one worker, the waypoint's CPU on L7, and the words on what limits the gain.
import t from 'tap';
import type { WorkersResult } from '../../bench/suites/workers';
import { formatTables, WORKERS_NOTE } from '../../bench/report/table';
import { reportMarkdown } from '../../bench/report/markdown';
import { runFigures } from '../../bench/report/figures';
import { formatComparison } from '../../bench/report/compare';
import { RUN, withTargets } from './fixtures/results';

const vcpu = (waypoint: number) => ({ 'ztunnel-node-a': 0.3, waypoint, 'ztunnel-node-b': 0.3, 'bench-client': 0.4, 'http-echo': 0.3 });
const result = (workers: number, path: 'l4' | 'l7', rps: number, waypoint: number): WorkersResult => ({
  workers,
  path,
  connections: 100,
  rps,
  repsRps: [rps],
  ms: { p50: 10, p90: 15, p99: 20 },
  errors: 0,
  non2xx: 0,
  vcpu: vcpu(waypoint),
  loadAverage: 1.5,
});
// Out of order on purpose: the table sorts by path, then workers.
const WORKERS = [result(2, 'l7', 9000, 1.2), result(1, 'l4', 20000, 0), result(1, 'l7', 8000, 0.95), result(2, 'l4', 19000, 0)];

function section(text: string): string[] {
  const block = text.split('\n\n').find((b) => b.startsWith('Workers\n'));
  if (!block) throw new Error('no Workers section');
  return block.split('\n');
}

t.test('a row per path and worker count, with the gain over one worker', async (t) => {
  const rows = section(formatTables(withTargets({ ...RUN, workers: WORKERS })));
  t.match(rows[1], /path\s+workers\s+rps\s+vs 1 worker\s+p50 ms\s+p99 ms\s+waypoint vCPU\s+proxies vCPU\s+all vCPU/);
  t.match(rows[3], /^L4 mesh\s+1\s+20,000\s+1\.00x\s+10\.000\s+20\.000\s+-\s+0\.60\s+1\.30\s+0 \/ 0\s+1\.50$/);
  t.match(rows[4], /^L4 mesh\s+2\s+19,000\s+0\.95x/);
  t.match(rows[5], /^L7 waypoint\s+1\s+8,000\s+1\.00x\s+10\.000\s+20\.000\s+0\.95\s+1\.55\s+2\.25/);
  t.match(rows[6], /^L7 waypoint\s+2\s+9,000\s+1\.13x\s+10\.000\s+20\.000\s+1\.20/);
  t.equal(rows[7], WORKERS_NOTE, 'then what limits the gain');
  t.match(WORKERS_NOTE, /The limit is the machine's cores/);
  t.notOk(formatTables(withTargets(RUN)).includes('\nWorkers\n'), 'no section when the suite did not run');
});

t.test('the report has the section; --compare lines the figures up', async (t) => {
  const run = withTargets({ ...RUN, workers: WORKERS });
  t.ok(reportMarkdown(run, 'REPORT.svg').includes('### Workers'));
  const figures = runFigures(run).filter((f) => f.suite === 'workers');
  t.same(
    figures.filter((f) => f.name === 'rps').map((f) => [f.row, f.value]),
    [
      ['L7 waypoint, 2 workers', 9000],
      ['L4 mesh, 1 worker', 20000],
      ['L7 waypoint, 1 worker', 8000],
      ['L4 mesh, 2 workers', 19000],
    ],
  );
  const faster = withTargets({ ...RUN, workers: WORKERS.map((w) => ({ ...w, rps: w.rps * 1.1 })) });
  t.match(formatComparison(faster, run, 'was.json'), /Workers[\s\S]*L7 waypoint, 2 workers\s+rps\s+9,000\s+9,900\s+\+10\.0%/);
});
