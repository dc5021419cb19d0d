// `--workers N`: how many worker threads serve a proxy's data path, as Envoy's --concurrency and
// ztunnel's worker_threads. 1 (the default) is today's single process; more run node:cluster
// workers behind a primary. The cap is twice the cores: past that every worker only waits for
// a core, and a typo (`--workers 40`) should not fork forty processes.
import * as os from 'node:os';

export const DEFAULT_WORKERS = 1;

/** The most workers this machine takes: two per core. */
export function maxWorkers(cores = os.availableParallelism()): number {
  return Math.max(1, cores) * 2;
}

export class WorkerCountError extends Error {
  override name = 'WorkerCountError';
}

/** Reads a --workers value: a whole number from 1 to maxWorkers(); undefined is the default. */
export function parseWorkerCount(value: string | undefined, cores = os.availableParallelism()): number {
  if (value === undefined) return DEFAULT_WORKERS;
  const max = maxWorkers(cores);
  const n = /^\d+$/.test(value.trim()) ? Number(value.trim()) : NaN;
  if (!Number.isInteger(n) || n < 1 || n > max)
    throw new WorkerCountError(`--workers must be a whole number from 1 to ${max} (two per core on this ${cores}-core machine), not ${JSON.stringify(value)}`);
  return n;
}
