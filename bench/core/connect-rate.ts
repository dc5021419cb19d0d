// CONNECT streams per second on a warm pool: each worker opens a CONNECT, waits for the 200,
// ends its side and waits until the stream is fully closed (the server ends too), then loops.
// One worker is the sequential case; several share the same pooled HTTP/2 session.
import { measure, median, Sample } from './measure';
import { finish } from './transfer';
import type { ServerProcess } from './server-process';
import type { Duplex } from 'node:stream';

/** Untimed warm-up before the repetitions. */
const WARMUP_MS = 300;
const MICROS_PER_SECOND = 1e6;

export interface ConnectRateCase {
  readonly id: string;
  readonly label: string;
  readonly concurrency: number;
  /** Opens one CONNECT stream; resolves on the 200. */
  open(): Promise<Duplex>;
}

export interface ConnectRateRep extends Sample {
  readonly connects: number;
  readonly perSecond: number;
}

export interface ConnectRateResult {
  readonly id: string;
  readonly label: string;
  readonly concurrency: number;
  readonly reps: readonly ConnectRateRep[];
  readonly medianPerSecond: number;
  /** CPU microseconds per CONNECT (open, 200, close), in each process. */
  readonly clientCpuUsPerConnect: number;
  readonly serverCpuUsPerConnect: number;
}

async function cycle(c: ConnectRateCase, durationMs: number): Promise<number> {
  const deadline = Date.now() + durationMs;
  let done = 0;
  const worker = async (): Promise<void> => {
    while (Date.now() < deadline) {
      await finish(await c.open());
      done++;
    }
  };
  await Promise.all(Array.from({ length: c.concurrency }, worker));
  return done;
}

export async function runConnectRate(
  c: ConnectRateCase,
  server: ServerProcess,
  s: { readonly durationMs: number; readonly reps: number; readonly progress: (line: string) => void },
): Promise<ConnectRateResult> {
  await cycle(c, WARMUP_MS);
  const reps: ConnectRateRep[] = [];
  for (let i = 0; i < s.reps; i++) {
    let connects = 0;
    const sample = await measure(server, async () => {
      connects = await cycle(c, s.durationMs);
    });
    const rep = { ...sample, connects, perSecond: connects / sample.seconds };
    reps.push(rep);
    s.progress(`${c.label}: rep ${i + 1}/${s.reps} ${rep.perSecond.toFixed(0)} CONNECT/s`);
  }
  return {
    id: c.id,
    label: c.label,
    concurrency: c.concurrency,
    reps,
    medianPerSecond: median(reps.map((r) => r.perSecond)),
    clientCpuUsPerConnect: median(reps.map((r) => (r.clientCpuS * MICROS_PER_SECOND) / r.connects)),
    serverCpuUsPerConnect: median(reps.map((r) => (r.serverCpuS * MICROS_PER_SECOND) / r.connects)),
  };
}
