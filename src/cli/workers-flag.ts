// `--workers N` on the proxies' commands (ztunnel, waypoint) and on the runner's (scenario, up),
// which hands it to every ztunnel and waypoint it starts. src/workers/worker-count.ts checks it.
import { stringFlag, UsageError } from './args';
import type { Flags } from './args';
import type { Flag } from './command';
import { DEFAULT_WORKERS, parseWorkerCount, WorkerCountError } from '../workers/worker-count';

export const WORKERS_FLAG: Flag = {
  kind: 'string',
  value: 'N',
  help: `worker threads serving the data path, as Envoy's --concurrency and ztunnel's worker_threads (default ${DEFAULT_WORKERS}: one process)`,
};

/** The flag's value, checked; a bad one is a usage error (exit 2) that says the range. */
export function workerCount(flags: Flags): number {
  try {
    return parseWorkerCount(stringFlag(flags, 'workers'));
  } catch (err) {
    if (err instanceof WorkerCountError) throw new UsageError(err.message);
    throw err;
  }
}
