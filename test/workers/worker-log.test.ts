// A worker's log lines say which worker wrote them, as Envoy's name their thread; a single
// process's lines are as they were.
import t from 'tap';
import { logAsWorker, logger } from '../../src/telemetry/log';

t.test('worker=N on every line once a process is a worker, after its own fields', async (t) => {
  const lines: string[] = [];
  const log = logger('ztunnel', (l) => lines.push(l));
  log.warn('before', { pod: 'sleep' });
  logAsWorker(1);
  log.warn('after', { pod: 'sleep' });
  log.warn('bare');
  t.match(lines[0], /\twarn\tztunnel\tbefore\tpod=sleep$/);
  t.match(lines[1], /\twarn\tztunnel\tafter\tpod=sleep worker=1$/);
  t.match(lines[2], /\twarn\tztunnel\tbare\tworker=1$/);
});
