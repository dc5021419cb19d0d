// The proxy's /metrics from its workers' pages, kept monotonic across worker restarts. Each
// worker counts what it served; a replacement starts from zero, so a plain sum would drop by the
// dead worker's counts, and Prometheus would take that drop for a reset of the whole counter
// (rate() and increase() would count the survivors' history again). The last page each worker
// gave is kept: when its pid changes, that page joins a retired sum that stays in every total,
// as Envoy keeps a server-wide counter however its threads come and go. What a worker counted
// after its last scrape and before it died is lost; totals never go down.
import { sumPromTexts } from '../telemetry/prom-sum';

/** One worker's answer to a scrape: its page, or why it gave none. */
export interface WorkerPage {
  readonly worker: number;
  readonly value?: unknown;
  readonly error?: string;
}

export class WorkerMetricsSum {
  /** Each worker slot's newest page, and the pid that wrote it: one per slot. */
  private readonly last = new Map<number, { readonly pid: number | undefined; readonly page: string }>();
  /** The pages of workers that have been replaced, summed into one. */
  private retired = '';

  /**
   * The summed page of this scrape. A worker that did not answer counts with its last page (it
   * is being replaced, or slow); a slot whose pid changed retires its previous page first.
   */
  sum(pages: readonly WorkerPage[], pidOf: (worker: number) => number | undefined): string {
    const now: string[] = [];
    for (const p of pages) {
      const pid = pidOf(p.worker);
      const last = this.last.get(p.worker);
      if (last && last.pid !== pid) {
        this.retired = sumPromTexts([this.retired, last.page]);
        this.last.delete(p.worker);
      }
      if (p.error === undefined && p.value !== undefined) {
        const page = String(p.value);
        this.last.set(p.worker, { pid, page });
        now.push(page);
      } else if (last && last.pid === pid) now.push(last.page);
    }
    return sumPromTexts([this.retired, ...now]);
  }
}
