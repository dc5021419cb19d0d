// Driving HTTP load with autocannon and timing every request to the microsecond. autocannon's
// own histogram keeps whole milliseconds, too coarse for a path that adds a fraction of one, so
// the bench keeps each request's float time from the 'response' event and takes percentiles
// from all of them.
import autocannon from 'autocannon';
import type { Percentiles } from './results';

export interface LoadSpec {
  readonly url: string;
  readonly connections: number;
  /** Requests per second over all connections; unset drives as fast as the path allows. */
  readonly rate?: number;
  readonly seconds: number;
  readonly body: Buffer;
  readonly headers?: Record<string, string>;
}

export interface LoadRun {
  /** Every completed request's time, ms, in completion order. */
  readonly latenciesMs: Float64Array;
  readonly seconds: number;
  readonly rps: number;
  readonly errors: number;
  readonly non2xx: number;
}

/** Request timeout: far above any healthy latency here; a stuck path shows as errors, not a hang. */
const REQUEST_TIMEOUT_S = 10;

export function drive(spec: LoadSpec): Promise<LoadRun> {
  return new Promise((resolve, reject) => {
    let times = new Float64Array(Math.max(1024, Math.ceil((spec.rate ?? 20_000) * spec.seconds * 1.2)));
    let n = 0;
    let errors = 0;
    const t0 = process.hrtime.bigint();
    const instance = autocannon(
      {
        url: spec.url,
        connections: spec.connections,
        duration: spec.seconds,
        method: 'POST',
        body: spec.body,
        headers: { 'content-type': 'application/octet-stream', ...spec.headers },
        timeout: REQUEST_TIMEOUT_S,
        ...(spec.rate !== undefined ? { overallRate: spec.rate } : {}),
      },
      (err, result) => {
        if (err) return reject(err);
        const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
        resolve({
          latenciesMs: times.subarray(0, n),
          seconds,
          rps: n / seconds,
          errors: errors + result.timeouts,
          non2xx: result.non2xx,
        });
      },
    );
    instance.on('response', (_client, _status, _bytes, responseTime) => {
      if (n === times.length) {
        const grown = new Float64Array(times.length * 2);
        grown.set(times);
        times = grown;
      }
      times[n++] = responseTime;
    });
    instance.on('reqError', () => errors++);
  });
}

/** Nearest-rank percentile (the smallest value with at least p% of values at or below it). */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1];
}

export function percentiles(latenciesMs: Float64Array): Percentiles {
  const sorted = Float64Array.from(latenciesMs).sort();
  return { p50: percentile(sorted, 50), p90: percentile(sorted, 90), p99: percentile(sorted, 99) };
}
