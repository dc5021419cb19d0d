// New tunneled connections per second through the L4 path. Each is a whole connection's life:
// the client connects to the capture, ztunnel-node-a opens a CONNECT to ztunnel-node-b, which
// dials the sink; the client half-closes at once, and the connection counts when the sink's
// answer ("0", nothing received) and its FIN have come back. With the pool, every CONNECT is a
// new stream on a warm HBONE session; with --no-pool, each one pays a TLS 1.3 handshake.
import * as net from 'node:net';
import type { BenchMesh, Endpoint } from '../mesh';
import { median } from '../core/measure';
import type { ConnectionsResult } from '../results';

/** Connections opened at once: a busy client pod, not a flood. */
export const CONCURRENCY = 16;
/** A connection that has not finished by then counts as failed. */
const CONNECTION_TIMEOUT_MS = 10_000;

export interface ConnectionsSetup {
  readonly reps: number;
  readonly seconds: number;
  readonly warmupSeconds: number;
  readonly progress: (line: string) => void;
}

interface Rep {
  readonly perSecond: number;
  readonly times: number[];
  readonly failures: number;
}

/** One tunneled connection, start to finish; resolves with its time in ms. */
export function oneConnection(to: Endpoint): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const s = net.connect({ host: to.host, port: to.port, allowHalfOpen: true });
    let answer = '';
    const timer = setTimeout(() => s.destroy(new Error(`no answer through ${to.host}:${to.port} within ${CONNECTION_TIMEOUT_MS} ms`)), CONNECTION_TIMEOUT_MS);
    s.setEncoding('utf8');
    s.on('data', (d: string) => (answer += d));
    s.once('connect', () => s.end());
    s.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    s.once('end', () => {
      clearTimeout(timer);
      s.destroy();
      if (answer === '0') resolve(performance.now() - t0);
      else reject(new Error(`the sink answered ${JSON.stringify(answer)}, expected "0"`));
    });
  });
}

async function rep(to: Endpoint, seconds: number): Promise<Rep> {
  const times: number[] = [];
  let failures = 0;
  const t0 = performance.now();
  const deadline = t0 + seconds * 1000;
  const worker = async (): Promise<void> => {
    while (performance.now() < deadline) {
      try {
        times.push(await oneConnection(to));
      } catch {
        failures++;
      }
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  const elapsed = (performance.now() - t0) / 1000;
  return { perSecond: times.length / elapsed, times, failures };
}

/** Runs one mode against a mesh started for it (pooled, or with the ztunnels' --no-pool). */
export async function runConnections(mesh: BenchMesh, mode: ConnectionsResult['mode'], s: ConnectionsSetup): Promise<ConnectionsResult> {
  const to = mesh.addresses.capture.sink;
  await rep(to, s.warmupSeconds);
  const reps: Rep[] = [];
  for (let i = 0; i < s.reps; i++) {
    const r = await rep(to, s.seconds);
    reps.push(r);
    s.progress(`connections ${mode}: rep ${i + 1}/${s.reps} ${r.perSecond.toFixed(0)}/s, ${r.failures} failed`);
  }
  const broken = mesh.crashed();
  if (broken.length) throw new Error(`mesh process died during connections ${mode}: ${broken.join('; ')}`);
  return {
    mode,
    concurrency: CONCURRENCY,
    perSecond: median(reps.map((r) => r.perSecond)),
    repsPerSecond: reps.map((r) => r.perSecond),
    medianMs: median(reps.flatMap((r) => r.times)),
    failures: reps.reduce((n, r) => n + r.failures, 0),
  };
}
