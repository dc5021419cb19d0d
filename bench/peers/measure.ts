// The two measurements every peers job shares, taken the same way for both implementations:
// repetitions interleaved (ours, theirs, ours, theirs...) so a busy moment of the shared machine
// lands on both alike, medians reported.
//  - transfer: one tunnel moves a fixed volume, timed until the sink has acknowledged every byte
//    (bench/core/transfer.ts's length framing); CPU of the job's process read from /proc.
//  - tunnels: new tunnels per second at a fixed concurrency, each opened, crossed once (an empty
//    payload acknowledged by the sink) and dropped.
import type { Duplex } from 'node:stream';
import { transfer, finish } from '../core/transfer';
import { median } from '../core/measure';
import { startSampling } from '../proc';

const BYTES_PER_MB = 1e6;
const BYTES_PER_GIB = 2 ** 30;
/** Application write size, as the throughput suite's. */
const CHUNK_BYTES = 64 * 1024;
/** Warm-up moves this share of a repetition's volume, untimed, so the JIT has settled. */
const WARMUP_FRACTION = 1 / 8;
/** Tunnels opened at once: the connections suite's busy client pod. */
export const TUNNEL_CONCURRENCY = 16;
/** A tunnel that has not crossed by then counts as failed. */
const TUNNEL_TIMEOUT_MS = 10_000;
/** A stream whose close does not follow its end by then is dropped (nghttpx resets on FIN). */
const FINISH_TIMEOUT_MS = 2000;

/** One implementation of the job: how the client opens a tunnel through it, and its process. */
export interface Contender {
  /** 'ours' or 'theirs'. */
  readonly side: 'ours' | 'theirs';
  /** For progress lines: "ztunnel-node-a", "nghttpx". */
  readonly name: string;
  readonly pid: number;
  /** An open tunnel to the sink, ready for payload. */
  readonly dial: () => Promise<Duplex>;
}

export interface TransferFigures {
  /** Medians over the repetitions. */
  readonly mbPerS: number;
  readonly cpuSPerGiB: number;
  readonly repsMbPerS: readonly number[];
}

export interface TransferPlan {
  readonly bytes: number;
  readonly reps: number;
  readonly progress: (line: string) => void;
  /** For progress lines: "outbound", "inbound". */
  readonly job: string;
}

/** Resolves with `work`, or rejects with `message` after `ms` (then `onTimeout` cleans up). */
async function within<T>(work: Promise<T>, ms: number, message: string, onTimeout: () => void): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>(
    (_, reject) =>
      (timer = setTimeout(() => {
        onTimeout();
        reject(new Error(message));
      }, ms)),
  );
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** A stalled transfer fails the run rather than hanging it: slower than this many bytes a second is a stall. */
const STALL_BYTES_PER_S = 5e6;
const MIN_TRANSFER_TIMEOUT_MS = 30_000;

async function moveOnce(c: Contender, bytes: number, chunk: Buffer): Promise<{ seconds: number; cpuS: number }> {
  const stream = await c.dial();
  try {
    const sampled = startSampling(new Map([[c.name, c.pid]]));
    const t0 = process.hrtime.bigint();
    const limitMs = Math.max(MIN_TRANSFER_TIMEOUT_MS, (bytes / STALL_BYTES_PER_S) * 1000);
    await within(transfer(stream, bytes, chunk), limitMs, `${bytes} bytes through ${c.name} not acknowledged within ${limitMs} ms`, () => stream.destroy());
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    const cpuS = sampled().get(c.name)!.cpuS;
    return { seconds, cpuS };
  } finally {
    await finishWithin(stream, FINISH_TIMEOUT_MS);
  }
}

/** Ends the stream politely; if the peer never closes it (a reset that leaves it open), drops it. */
async function finishWithin(stream: Duplex, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([finish(stream), new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)))]);
  clearTimeout(timer);
  stream.destroy();
}

/** Both contenders' MB/s and CPU s/GiB of their process, interleaved repetitions, medians. */
export async function measureTransfers(contenders: readonly Contender[], plan: TransferPlan): Promise<Map<Contender, TransferFigures>> {
  const chunk = Buffer.alloc(CHUNK_BYTES, 0xa5);
  for (const c of contenders) await moveOnce(c, Math.max(1, Math.floor(plan.bytes * WARMUP_FRACTION)), chunk);
  const reps = new Map(contenders.map((c) => [c, [] as Array<{ mbPerS: number; cpuSPerGiB: number }>]));
  for (let i = 0; i < plan.reps; i++) {
    for (const c of contenders) {
      const { seconds, cpuS } = await moveOnce(c, plan.bytes, chunk);
      const r = { mbPerS: plan.bytes / seconds / BYTES_PER_MB, cpuSPerGiB: cpuS / (plan.bytes / BYTES_PER_GIB) };
      reps.get(c)!.push(r);
      plan.progress(`peers ${plan.job} ${c.name}: rep ${i + 1}/${plan.reps} ${r.mbPerS.toFixed(0)} MB/s, ${r.cpuSPerGiB.toFixed(2)} CPU s/GiB`);
    }
  }
  return new Map(
    contenders.map((c) => {
      const rs = reps.get(c)!;
      return [c, { mbPerS: median(rs.map((r) => r.mbPerS)), cpuSPerGiB: median(rs.map((r) => r.cpuSPerGiB)), repsMbPerS: rs.map((r) => r.mbPerS) }];
    }),
  );
}

/** One tunnel's whole life: open, an empty payload acknowledged through the sink, dropped. */
async function oneTunnel(c: Contender, chunk: Buffer): Promise<void> {
  let stream: Duplex | undefined;
  let timedOut = false;
  try {
    await within(
      (async () => {
        stream = await c.dial();
        // Opened after its time ran out: nobody waits for it any more.
        if (timedOut) return void stream.destroy();
        await transfer(stream, 0, chunk);
      })(),
      TUNNEL_TIMEOUT_MS,
      `no tunnel through ${c.name} within ${TUNNEL_TIMEOUT_MS} ms`,
      () => (timedOut = true),
    );
  } finally {
    stream?.destroy();
  }
}

export interface TunnelPlan {
  readonly seconds: number;
  readonly warmupSeconds: number;
  readonly reps: number;
  readonly progress: (line: string) => void;
  readonly job: string;
}

export interface TunnelFigures {
  readonly perSecond: number;
  /** CPU of the contender's process per tunnel, ms (its teardown may land in the next repetition). */
  readonly cpuMsPerTunnel: number;
  readonly repsPerSecond: readonly number[];
  readonly failures: number;
}

interface TunnelRep {
  readonly perSecond: number;
  readonly cpuMsPerTunnel: number;
  readonly failures: number;
  readonly firstError?: string;
}

async function tunnelRep(c: Contender, seconds: number, chunk: Buffer): Promise<TunnelRep> {
  const sampled = startSampling(new Map([[c.name, c.pid]]));
  let done = 0;
  let failures = 0;
  let firstError: string | undefined;
  const t0 = performance.now();
  const deadline = t0 + seconds * 1000;
  const worker = async (): Promise<void> => {
    while (performance.now() < deadline) {
      try {
        await oneTunnel(c, chunk);
        done++;
      } catch (err) {
        failures++;
        firstError ??= (err as Error).message;
      }
    }
  };
  await Promise.all(Array.from({ length: TUNNEL_CONCURRENCY }, worker));
  const cpuS = sampled().get(c.name)!.cpuS;
  return {
    perSecond: done / ((performance.now() - t0) / 1000),
    cpuMsPerTunnel: done > 0 ? (cpuS * 1000) / done : Number.NaN,
    failures,
    ...(firstError !== undefined ? { firstError } : {}),
  };
}

/** Both contenders' new tunnels per second, interleaved repetitions, medians. */
export async function measureTunnels(contenders: readonly Contender[], plan: TunnelPlan): Promise<Map<Contender, TunnelFigures>> {
  const chunk = Buffer.alloc(CHUNK_BYTES, 0xa5);
  for (const c of contenders) await tunnelRep(c, plan.warmupSeconds, chunk);
  const reps = new Map(contenders.map((c) => [c, [] as TunnelRep[]]));
  for (let i = 0; i < plan.reps; i++) {
    for (const c of contenders) {
      const r = await tunnelRep(c, plan.seconds, chunk);
      reps.get(c)!.push(r);
      plan.progress(
        `peers ${plan.job} ${c.name}: tunnels rep ${i + 1}/${plan.reps} ${r.perSecond.toFixed(0)}/s, ${r.cpuMsPerTunnel.toFixed(3)} CPU ms each, ${r.failures} failed${r.firstError ? ` (${r.firstError})` : ''}`,
      );
    }
  }
  return new Map(
    contenders.map((c) => {
      const rs = reps.get(c)!;
      return [
        c,
        {
          perSecond: median(rs.map((r) => r.perSecond)),
          cpuMsPerTunnel: median(rs.map((r) => r.cpuMsPerTunnel)),
          repsPerSecond: rs.map((r) => r.perSecond),
          failures: rs.reduce((n, r) => n + r.failures, 0),
        },
      ];
    }),
  );
}
