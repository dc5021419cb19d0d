// Settings of the core bench: flags win over environment variables, which win over defaults.
// Defaults are sized so the whole run takes about a minute and a half on a 2-core machine.
import { parseFlags, UsageError } from '../../src/cli/args';

/** Bytes each throughput case moves per repetition, split evenly across its streams. */
export const DEFAULT_VOLUME_MIB = 2048;
/** Five, not three: the machine is shared, and a median of five shrugs off two disturbed reps. */
export const DEFAULT_REPS = 5;
/** Application write size: what a TCP read typically hands pipeTunnel on loopback. */
export const DEFAULT_CHUNK_KIB = 64;
/** How long one repetition of a CONNECT-rate case keeps opening streams. */
export const DEFAULT_CONNECT_MS = 1500;
/** "Moderate concurrency" for the parallel CONNECT-rate case. */
export const DEFAULT_CONNECT_CONCURRENCY = 16;
/** Concurrent-stream counts of the HBONE throughput cases. */
export const HBONE_STREAM_COUNTS = [1, 8, 100] as const;

export const CASE_IDS = ['tcp', 'tls', 'hbone-1', 'hbone-8', 'hbone-100', 'connect-seq', 'connect-par'] as const;
export type CaseId = (typeof CASE_IDS)[number];

export interface BenchOptions {
  readonly volumeBytes: number;
  readonly reps: number;
  readonly chunkBytes: number;
  readonly connectMs: number;
  readonly connectConcurrency: number;
  readonly cases: readonly CaseId[];
  /** Write results JSON under bench/results/. */
  readonly save: boolean;
}

export const USAGE = `usage: npm run bench:core -- [flags]
  --volume-mib N         MiB per throughput case and repetition (env BENCH_VOLUME_MIB, default ${DEFAULT_VOLUME_MIB})
  --reps N               repetitions per case; the median is reported (env BENCH_REPS, default ${DEFAULT_REPS})
  --chunk-kib N          application write size (env BENCH_CHUNK_KIB, default ${DEFAULT_CHUNK_KIB})
  --connect-ms N         duration of one CONNECT-rate repetition (env BENCH_CONNECT_MS, default ${DEFAULT_CONNECT_MS})
  --connect-concurrency N  parallel CONNECTs in connect-par (env BENCH_CONNECT_CONCURRENCY, default ${DEFAULT_CONNECT_CONCURRENCY})
  --only a,b             run only these cases: ${CASE_IDS.join(', ')}
  --no-save              do not write bench/results/core-<time>.json
Profiling: run the parent under \`node --cpu-prof --cpu-prof-dir=DIR dist/bench/core/main.js ...\`;
the --cpu-prof flags are passed on to the server process too.`;

function positiveInt(name: string, text: string | undefined, fallback: number): number {
  if (text === undefined || text === '') return fallback;
  const n = Number(text);
  if (!Number.isInteger(n) || n <= 0) throw new UsageError(`${name} must be a positive integer, got ${JSON.stringify(text)}`);
  return n;
}

export function parseOptions(argv: string[], env: NodeJS.ProcessEnv = process.env): BenchOptions {
  const { flags, positional } = parseFlags(argv, {
    'volume-mib': 'string',
    reps: 'string',
    'chunk-kib': 'string',
    'connect-ms': 'string',
    'connect-concurrency': 'string',
    only: 'string',
    'no-save': 'boolean',
  });
  if (positional.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(positional[0])}`);
  const str = (flag: string, envName: string): string | undefined => (typeof flags[flag] === 'string' ? (flags[flag] as string) : env[envName]);
  const only = str('only', 'BENCH_ONLY');
  const cases = only ? only.split(',').map((s) => s.trim()) : [...CASE_IDS];
  for (const c of cases)
    if (!(CASE_IDS as readonly string[]).includes(c)) throw new UsageError(`unknown case ${JSON.stringify(c)}; cases: ${CASE_IDS.join(', ')}`);
  return {
    volumeBytes: positiveInt('--volume-mib', str('volume-mib', 'BENCH_VOLUME_MIB'), DEFAULT_VOLUME_MIB) * 1024 * 1024,
    reps: positiveInt('--reps', str('reps', 'BENCH_REPS'), DEFAULT_REPS),
    chunkBytes: positiveInt('--chunk-kib', str('chunk-kib', 'BENCH_CHUNK_KIB'), DEFAULT_CHUNK_KIB) * 1024,
    connectMs: positiveInt('--connect-ms', str('connect-ms', 'BENCH_CONNECT_MS'), DEFAULT_CONNECT_MS),
    connectConcurrency: positiveInt('--connect-concurrency', str('connect-concurrency', 'BENCH_CONNECT_CONCURRENCY'), DEFAULT_CONNECT_CONCURRENCY),
    cases: cases as CaseId[],
    save: flags['no-save'] !== true,
  };
}
