// Throughput cases: N streams each move an equal share of the volume to the server's sink.
// Streams are opened before the clock starts and closed after it stops; one untimed warm-up
// round per case lets the JIT settle first. The median repetition is what the report shows.
import type { Duplex } from 'node:stream';
import { measure, median, Sample } from './measure';
import { transfer, finish } from './transfer';
import type { ServerProcess } from './server-process';

/** Warm-up moves this share of the volume, untimed. */
const WARMUP_FRACTION = 1 / 8;
const BYTES_PER_MB = 1e6;
const BYTES_PER_GIB = 2 ** 30;

export interface ThroughputCase {
  readonly id: string;
  readonly label: string;
  readonly streams: number;
  /** Opens the streams of one repetition (untimed). */
  open(): Promise<Duplex[]>;
}

export interface ThroughputRep extends Sample {
  readonly mbPerS: number;
}

export interface ThroughputResult {
  readonly id: string;
  readonly label: string;
  readonly streams: number;
  readonly bytesPerRep: number;
  readonly reps: readonly ThroughputRep[];
  readonly medianMbPerS: number;
  readonly clientCpuSPerGiB: number;
  readonly serverCpuSPerGiB: number;
}

export interface ThroughputSettings {
  readonly volumeBytes: number;
  readonly chunk: Buffer;
  readonly reps: number;
  readonly progress: (line: string) => void;
}

async function round(c: ThroughputCase, perStream: number, chunk: Buffer, server: ServerProcess): Promise<Sample> {
  const streams = await c.open();
  try {
    return await measure(server, () => Promise.all(streams.map((s) => transfer(s, perStream, chunk))).then(() => undefined));
  } finally {
    await Promise.all(streams.map(finish));
  }
}

/**
 * Runs every case: all warm-ups first, then repetition i of each case in turn, so a busy moment
 * of the machine (other processes share these 2 cores) lands on all cases alike and the
 * HBONE/TLS ratio of one run compares like with like.
 */
export async function runThroughputCases(cases: readonly ThroughputCase[], server: ServerProcess, s: ThroughputSettings): Promise<ThroughputResult[]> {
  const perStream = (c: ThroughputCase): number => Math.floor(s.volumeBytes / c.streams);
  for (const c of cases) await round(c, Math.max(1, Math.floor(perStream(c) * WARMUP_FRACTION)), s.chunk, server);
  const reps = new Map<ThroughputCase, ThroughputRep[]>(cases.map((c) => [c, []]));
  for (let i = 0; i < s.reps; i++) {
    for (const c of cases) {
      const bytes = perStream(c) * c.streams;
      const sample = await round(c, perStream(c), s.chunk, server);
      const rep = { ...sample, mbPerS: bytes / sample.seconds / BYTES_PER_MB };
      reps.get(c)!.push(rep);
      s.progress(`${c.label}: rep ${i + 1}/${s.reps} ${rep.mbPerS.toFixed(0)} MB/s in ${rep.seconds.toFixed(2)} s`);
    }
  }
  return cases.map((c) => summarise(c, perStream(c) * c.streams, reps.get(c)!));
}

function summarise(c: ThroughputCase, bytes: number, reps: ThroughputRep[]): ThroughputResult {
  const gib = bytes / BYTES_PER_GIB;
  return {
    id: c.id,
    label: c.label,
    streams: c.streams,
    bytesPerRep: bytes,
    reps,
    medianMbPerS: median(reps.map((r) => r.mbPerS)),
    clientCpuSPerGiB: median(reps.map((r) => r.clientCpuS / gib)),
    serverCpuSPerGiB: median(reps.map((r) => r.serverCpuS / gib)),
  };
}
