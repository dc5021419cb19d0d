// Memory per open idle tunneled connection. A fresh mesh for every measurement, so memory freed
// by an earlier one cannot hide the cost of the next: warm the path, read every process's RSS,
// open N connections through the L4 capture to the sink and leave them idle, wait until
// ztunnel-node-b has accepted all N for the pod (its istio_tcp_connections_opened_total), let the
// processes settle, and read RSS again. The growth divided by N is the cost of one connection.
import * as net from 'node:net';
import { BenchMesh, Endpoint, MeshOptions, ROLES } from '../mesh';
import { median } from '../core/measure';
import { sampleProcess } from '../proc';
import { drainTimeWait } from '../time-wait';
import { oneConnection } from './connections';
import { CLIENT } from './throughput';
import type { ScaleResult } from '../results';

/** Connects in flight at once while opening N: fast, without a SYN flood at the capture. */
const OPEN_CONCURRENCY = 256;
/** Tunneled connections made and closed before the baseline: sessions, certificates and JIT in place. */
const WARMUP_CONNECTIONS = 100;
const ACCEPT_TIMEOUT_MS = 120_000;
const POLL_MS = 100;
const PROCESSES = [CLIENT, ROLES.ztunnelA, ROLES.ztunnelB, ROLES.sink] as const;

export interface ScaleSetup {
  readonly mesh: Omit<MeshOptions, 'noPool'>;
  readonly reps: number;
  /** Before each RSS reading: let allocation bursts be collected first. */
  readonly settleMs: number;
  readonly progress: (line: string) => void;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Each measurement opens its connections from an address of its own (127.<block>.6.x): the
 * earlier suites leave tens of thousands of client ports in TIME_WAIT towards the same capture,
 * and 10,000 more from 127.0.0.1 ran out of ports (EADDRNOTAVAIL).
 */
let measurements = 0;
function sourceAddress(block: number): string {
  return `127.${block}.6.${(measurements++ % 250) + 1}`;
}

async function openIdle(to: Endpoint, n: number, localAddress: string): Promise<net.Socket[]> {
  const sockets: net.Socket[] = [];
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < n) {
      next++;
      sockets.push(
        await new Promise<net.Socket>((resolve, reject) => {
          const s = net.connect({ host: to.host, port: to.port, localAddress });
          s.once('error', reject);
          s.once('connect', () => {
            s.off('error', reject);
            // An idle connection may still be reset when the mesh stops; that is not a failure.
            s.on('error', () => undefined);
            resolve(s);
          });
        }),
      );
    }
  };
  await Promise.all(Array.from({ length: Math.min(n, OPEN_CONCURRENCY) }, worker));
  return sockets;
}

async function waitAccepted(mesh: BenchMesh, count: number): Promise<void> {
  const deadline = Date.now() + ACCEPT_TIMEOUT_MS;
  for (;;) {
    const got = await mesh.inboundConnectionsOpened();
    if (got >= count) return;
    if (Date.now() > deadline) throw new Error(`ztunnel-node-b accepted ${got} of ${count} connections in ${ACCEPT_TIMEOUT_MS} ms`);
    await sleep(POLL_MS);
  }
}

async function measureOnce(s: ScaleSetup, n: number): Promise<{ perConn: Record<string, number>; openSeconds: number }> {
  // Each of the N connections binds a port at ztunnel-node-b (see bench/time-wait.ts).
  await drainTimeWait(s.progress);
  const mesh = await BenchMesh.start(s.mesh);
  const sockets: net.Socket[] = [];
  try {
    const to = mesh.addresses.capture.sink;
    for (let i = 0; i < WARMUP_CONNECTIONS; i++) await oneConnection(to);
    const opened0 = await mesh.inboundConnectionsOpened();
    await sleep(s.settleMs);
    const pids = new Map([...mesh.pids, [CLIENT, process.pid]]);
    const before = new Map(PROCESSES.map((p) => [p, sampleProcess(pids.get(p)!).rssBytes]));
    const t0 = performance.now();
    sockets.push(...(await openIdle(to, n, sourceAddress(s.mesh.block))));
    await waitAccepted(mesh, opened0 + n);
    const openSeconds = (performance.now() - t0) / 1000;
    await sleep(s.settleMs);
    const perConn = Object.fromEntries(PROCESSES.map((p) => [p, (sampleProcess(pids.get(p)!).rssBytes - before.get(p)!) / n]));
    const broken = mesh.crashed();
    if (broken.length) throw new Error(`mesh process died holding ${n} connections: ${broken.join('; ')}`);
    return { perConn, openSeconds };
  } finally {
    for (const sock of sockets) sock.destroy();
    await mesh.stop();
  }
}

export async function runScale(s: ScaleSetup, counts: readonly number[]): Promise<ScaleResult[]> {
  const out: ScaleResult[] = [];
  for (const n of counts) {
    const reps: Array<{ perConn: Record<string, number>; openSeconds: number }> = [];
    for (let i = 0; i < s.reps; i++) {
      const r = await measureOnce(s, n);
      reps.push(r);
      const tunnel = r.perConn[ROLES.ztunnelA] + r.perConn[ROLES.ztunnelB];
      s.progress(
        `scale ${n}: rep ${i + 1}/${s.reps} ${(tunnel / 1024).toFixed(1)} KB per connection in the two ztunnels, opened in ${r.openSeconds.toFixed(1)} s`,
      );
    }
    const bytesPerConnection = Object.fromEntries(PROCESSES.map((p) => [p, median(reps.map((r) => r.perConn[p]))]));
    out.push({
      connections: n,
      bytesPerConnection,
      tunnelBytesPerConnection: median(reps.map((r) => r.perConn[ROLES.ztunnelA] + r.perConn[ROLES.ztunnelB])),
      openSeconds: median(reps.map((r) => r.openSeconds)),
    });
  }
  return out;
}
