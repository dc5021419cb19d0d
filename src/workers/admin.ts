// The admin ports of a proxy with worker threads, served by its primary as Envoy's main thread
// serves them: readiness (:15021) once every worker listens; /config_dump (:15000) from one
// worker, since each holds the same configuration; /metrics (:15020) summed over the workers,
// series by series, so a counter says what the proxy counted (and never goes down when a worker
// is replaced: metrics-sum.ts); and /workers (:15000), each
// worker's pid, readiness, restarts and counters, to see the connections spread over them.
import type * as http from 'node:http';
import { AdminServer, readinessRoutes, sendJson, startHttp } from '../admin/http';
import { PORT_ADMIN, PORT_METRICS, PORT_READINESS } from '../mesh/ports';
import { counterTotals } from '../telemetry/prom-sum';
import { WorkerMetricsSum } from './metrics-sum';
import type { ProxyWorkers } from './primary';

const PROMETHEUS_TEXT = 'text/plain; version=0.0.4; charset=utf-8';

export interface PrimaryAdmin {
  close(): Promise<void>;
}

/**
 * Serves the three admin ports on `host`; `named` wraps each bind so a failure names the listener.
 * Readiness first (503 until every worker is ready), as the single process does.
 */
export async function startPrimaryAdmin(
  host: string,
  workers: ProxyWorkers,
  named: (bind: Promise<AdminServer>, port: number, what: string) => Promise<AdminServer> = (bind) => bind,
): Promise<PrimaryAdmin> {
  const servers: AdminServer[] = [];
  const close = () => Promise.all(servers.map((s) => s.close())).then(() => undefined);
  try {
    servers.push(
      await named(
        startHttp(
          host,
          PORT_READINESS,
          readinessRoutes(() => workers.ready),
        ),
        PORT_READINESS,
        'readiness',
      ),
    );
    servers.push(
      await named(
        startHttp(host, PORT_ADMIN, {
          '/config_dump': async (_req, res) => sendJson(res, await workers.askOne('config_dump')),
          '/workers': async (_req, res) => sendJson(res, await workerStats(workers)),
        }),
        PORT_ADMIN,
        'admin',
      ),
    );
    // Summed over the workers, monotonic when one is replaced (metrics-sum.ts).
    const summed = new WorkerMetricsSum();
    const metrics = async (_req: unknown, res: http.ServerResponse): Promise<void> => {
      const pages = await workers.askAll('metrics');
      const pids = new Map(workers.status().map((s) => [s.worker, s.pid]));
      res.writeHead(200, { 'content-type': PROMETHEUS_TEXT }).end(summed.sum(pages, (w) => pids.get(w)));
    };
    servers.push(await named(startHttp(host, PORT_METRICS, { '/metrics': metrics, '/stats/prometheus': metrics }), PORT_METRICS, 'metrics'));
  } catch (err) {
    await close();
    throw err;
  }
  return { close };
}

/** Each worker's place and counters: Envoy's per-worker listener stats, in short. */
async function workerStats(workers: ProxyWorkers): Promise<unknown> {
  const pages = await workers.askAll('metrics');
  return {
    worker_threads: workers.count,
    workers: workers.status().map((s) => {
      const page = pages.find((p) => p.worker === s.worker);
      return { ...s, counters: page?.value !== undefined ? counterTotals(String(page.value)) : {}, ...(page?.error ? { error: page.error } : {}) };
    }),
  };
}
