import t from 'tap';
import { WorkerMetricsSum } from '../../src/workers/metrics-sum';
import { parsePromText } from '../../src/telemetry/prom-text';

const page = (n: number) =>
  `# HELP istio_requests_total Total requests.\n# TYPE istio_requests_total counter\nistio_requests_total{response_code="200"} ${n}\n`;
const total = (text: string) => parsePromText(text).reduce((sum, s) => sum + s.value, 0);

t.test('the sum of every worker, monotonic when one is replaced or does not answer', async (t) => {
  const sum = new WorkerMetricsSum();
  const pids = new Map([
    [0, 100],
    [1, 101],
  ]);
  const pidOf = (w: number) => pids.get(w);
  t.equal(
    total(
      sum.sum(
        [
          { worker: 0, value: page(5) },
          { worker: 1, value: page(7) },
        ],
        pidOf,
      ),
    ),
    12,
  );
  // Worker 1 is slow to answer: its last page stands in.
  t.equal(
    total(
      sum.sum(
        [
          { worker: 0, value: page(6) },
          { worker: 1, error: 'timeout' },
        ],
        pidOf,
      ),
    ),
    13,
  );
  // Worker 1 died and was replaced: its last page (7) is retired, the new one counts from 0.
  pids.set(1, 102);
  t.equal(
    total(
      sum.sum(
        [
          { worker: 0, value: page(6) },
          { worker: 1, value: page(1) },
        ],
        pidOf,
      ),
    ),
    14,
    '6 + 7 retired + 1',
  );
  // The new worker not answering yet, and no page of its own: the others and the retired only.
  pids.set(1, 103);
  t.equal(
    total(
      sum.sum(
        [
          { worker: 0, value: page(8) },
          { worker: 1, error: 'not ready' },
        ],
        pidOf,
      ),
    ),
    16,
    '8 + 7 + 1 retired',
  );
  t.equal(
    total(
      sum.sum(
        [
          { worker: 0, value: page(8) },
          { worker: 1, value: page(0) },
        ],
        pidOf,
      ),
    ),
    16,
    'never lower than before',
  );
});
