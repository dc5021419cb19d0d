// Wall time and CPU time of one repetition, in both processes, and the statistics over repetitions.
import type { ServerProcess } from './server-process';
import type { CpuSample } from './ipc';

const MICROS_PER_SECOND = 1e6;
const NANOS_PER_SECOND = 1e9;

export interface Sample {
  readonly seconds: number;
  /** CPU seconds (user + system) spent by the bench process (client) and the server process. */
  readonly clientCpuS: number;
  readonly serverCpuS: number;
}

function cpuSeconds(from: CpuSample, to: CpuSample): number {
  return (to.user - from.user + (to.system - from.system)) / MICROS_PER_SECOND;
}

/**
 * Times `run` and the CPU both processes spend during it. The server is sampled outside the
 * timed span, so the IPC round trips do not count as transfer time.
 */
export async function measure(server: ServerProcess, run: () => Promise<void>): Promise<Sample> {
  const server0 = await server.cpu();
  const client0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  await run();
  const t1 = process.hrtime.bigint();
  const client1 = process.cpuUsage();
  const server1 = await server.cpu();
  return {
    seconds: Number(t1 - t0) / NANOS_PER_SECOND,
    clientCpuS: cpuSeconds(client0, client1),
    serverCpuS: cpuSeconds(server0, server1),
  };
}

export function median(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}
