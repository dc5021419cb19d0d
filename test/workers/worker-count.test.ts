// --workers N: 1 by default, from 1 to two per core, anything else refused with the range.
import t from 'tap';
import { DEFAULT_WORKERS, maxWorkers, parseWorkerCount, WorkerCountError } from '../../src/workers/worker-count';

t.test('--workers takes a whole number from 1 to twice the cores', async (t) => {
  t.equal(parseWorkerCount(undefined, 2), DEFAULT_WORKERS);
  t.equal(DEFAULT_WORKERS, 1, 'one process, as before, unless asked');
  t.equal(parseWorkerCount('1', 2), 1);
  t.equal(parseWorkerCount('4', 2), 4);
  t.equal(maxWorkers(2), 4);
  t.equal(maxWorkers(0), 2, 'a machine that reports no core still takes two');
  for (const bad of ['0', '5', '-1', '1.5', 'two', '', ' ']) {
    t.throws(() => parseWorkerCount(bad, 2), WorkerCountError, `${JSON.stringify(bad)} is refused`);
  }
  t.throws(() => parseWorkerCount('5', 2), /from 1 to 4 \(two per core on this 2-core machine\), not "5"/);
});
