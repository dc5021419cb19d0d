// What a second worker buys (`--workers 2` for both ztunnels and the waypoint, Envoy's
// --concurrency 2, ztunnel's worker_threads 2) on this machine: the L4 and L7 request paths
// driven as fast as they go (autocannon, 100 connections, as the maxrps suite) on a mesh with
// one worker per proxy and on one with two, both up at once on neighbouring blocks, their
// repetitions alternating. Reported: requests/s, latency, and the CPU of each part, a proxy's
// primary and workers summed.
import * as os from 'node:os';
import type { Endpoint } from '../mesh';
import { BenchMesh, ROLES, neighbourBlock } from '../mesh';
import { drive, percentiles } from '../load';
import { median } from '../core/measure';
import { childrenOf, startSampling } from '../proc';
import { CLIENT } from './throughput';
import { MAX_RPS_CONNECTIONS, PAYLOAD_BYTES } from './requests';
import type { Percentiles } from '../results';

/** The worker counts compared: today's single process, and one more worker than that. */
export const WORKER_COUNTS = [1, 2] as const;
export type WorkersPath = 'l4' | 'l7';
const PATHS: readonly WorkersPath[] = ['l4', 'l7'];
/** The proxies given workers, and the rest of the machine's load, as the table groups them. */
const PROXIES = [ROLES.ztunnelA, ROLES.waypoint, ROLES.ztunnelB] as const;
const OTHERS = [CLIENT, ROLES.httpEcho] as const;
/** A timed repetition lasts at most this long: two meshes, two paths and three reps stay under a minute. */
const MAX_SECONDS = 3;

/** One path at one worker count; figures are medians over repetitions. */
export interface WorkersResult {
  readonly workers: number;
  readonly path: WorkersPath;
  readonly connections: number;
  readonly rps: number;
  readonly repsRps: readonly number[];
  readonly ms: Percentiles;
  readonly errors: number;
  readonly non2xx: number;
  /** CPU seconds per second of each process on the path (a proxy: its primary and workers). */
  readonly vcpu: Readonly<Record<string, number>>;
  /** The 1-minute load average at the end of each of its repetitions, median. */
  readonly loadAverage: number;
}

export interface WorkersSetup {
  readonly block: number;
  readonly reps: number;
  readonly seconds: number;
  readonly warmupSeconds: number;
  readonly progress: (line: string) => void;
  /** Told of each mesh when it starts and stops, so an interrupted bench stops it. */
  readonly track: (mesh: BenchMesh, running: boolean) => void;
}

/** Every process whose CPU counts for a part: a proxy with workers is its primary and each worker. */
function partPids(mesh: BenchMesh): Map<string, number> {
  const pids = new Map<string, number>([[CLIENT, process.pid]]);
  for (const name of [...PROXIES, ROLES.httpEcho]) {
    const pid = mesh.pid(name);
    pids.set(name, pid);
    childrenOf(pid).forEach((worker, i) => pids.set(`${name}#${i}`, worker));
  }
  return pids;
}

function target(mesh: BenchMesh, path: WorkersPath): { url: string; host: string } {
  const at = (e: Endpoint, host: string) => ({ url: `http://${e.host}:${e.port}/echo`, host });
  return path === 'l4' ? at(mesh.addresses.capture.httpL4, 'http-l4') : at(mesh.addresses.capture.httpL7, 'http-l7');
}

export async function runWorkers(s: WorkersSetup): Promise<WorkersResult[]> {
  const seconds = Math.min(s.seconds, MAX_SECONDS);
  const body = Buffer.alloc(PAYLOAD_BYTES, 0x61);
  // Both meshes run at once, on neighbouring blocks, and the repetitions alternate between them
  // (1, 2, 2, 1, ...): a busy moment of the shared machine lands on both worker counts alike.
  const meshes: Array<{ readonly workers: number; readonly mesh: BenchMesh; readonly pids: Map<string, number> }> = [];
  try {
    for (const [i, workers] of WORKER_COUNTS.entries()) {
      const mesh = await BenchMesh.start({ block: neighbourBlock(s.block, i), workers });
      s.track(mesh, true);
      meshes.push({ workers, mesh, pids: partPids(mesh) });
    }
    const load = (mesh: BenchMesh, path: WorkersPath, secs: number) => {
      const t = target(mesh, path);
      return drive({ url: t.url, headers: { host: t.host }, connections: MAX_RPS_CONNECTIONS, seconds: secs, body });
    };
    for (const m of meshes) for (const path of PATHS) await load(m.mesh, path, s.warmupSeconds);
    const reps = new Map(meshes.map((m) => [m.workers, new Map(PATHS.map((p) => [p, [] as Rep[]]))]));
    for (let i = 0; i < s.reps; i++) {
      const order = i % 2 === 0 ? meshes : [...meshes].reverse();
      for (const m of order)
        for (const path of PATHS) {
          const sampled = startSampling(m.pids);
          const started = process.hrtime.bigint();
          const run = await load(m.mesh, path, seconds);
          const used = sampled();
          const wallS = Number(process.hrtime.bigint() - started) / 1e9;
          const vcpu: Record<string, number> = {};
          for (const [name, u] of used) {
            const part = name.replace(/#\d+$/, '');
            vcpu[part] = (vcpu[part] ?? 0) + u.cpuS / wallS;
          }
          const ms = percentiles(run.latenciesMs);
          reps.get(m.workers)!.get(path)!.push({ rps: run.rps, ms, errors: run.errors, non2xx: run.non2xx, vcpu, loadAverage: os.loadavg()[0] });
          s.progress(
            `workers ${m.workers} ${path}: rep ${i + 1}/${s.reps} ${run.rps.toFixed(0)} rps, p50 ${ms.p50.toFixed(3)} p99 ${ms.p99.toFixed(3)} ms, ` +
              `proxies ${PROXIES.reduce((sum, p) => sum + (vcpu[p] ?? 0), 0).toFixed(2)} vCPU`,
          );
        }
    }
    const results: WorkersResult[] = [];
    for (const m of meshes) {
      const broken = m.mesh.crashed();
      if (broken.length) throw new Error(`mesh process died during workers: ${broken.join('; ')}`);
      // A worker replaced mid-run (its primary survives) would leave its successor unsampled.
      const replaced = [...m.pids].filter(([, pid]) => !isAlive(pid)).map(([name]) => name);
      if (replaced.length) throw new Error(`workers ${m.workers}: ${replaced.join(', ')} exited during the runs (a worker was replaced)`);
      for (const path of PATHS) {
        const rs = reps.get(m.workers)!.get(path)!;
        results.push({
          workers: m.workers,
          path,
          connections: MAX_RPS_CONNECTIONS,
          rps: median(rs.map((r) => r.rps)),
          repsRps: rs.map((r) => r.rps),
          ms: { p50: median(rs.map((r) => r.ms.p50)), p90: median(rs.map((r) => r.ms.p90)), p99: median(rs.map((r) => r.ms.p99)) },
          errors: rs.reduce((n, r) => n + r.errors, 0),
          non2xx: rs.reduce((n, r) => n + r.non2xx, 0),
          vcpu: Object.fromEntries([...PROXIES, ...OTHERS].map((p) => [p, median(rs.map((r) => r.vcpu[p] ?? 0))])),
          loadAverage: median(rs.map((r) => r.loadAverage)),
        });
      }
    }
    return results;
  } finally {
    for (const m of meshes) {
      await m.mesh.stop();
      s.track(m.mesh, false);
    }
  }
}

/** One repetition of a path on one mesh. */
interface Rep {
  readonly rps: number;
  readonly ms: Percentiles;
  readonly errors: number;
  readonly non2xx: number;
  readonly vcpu: Record<string, number>;
  readonly loadAverage: number;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** The proxies' CPU of a result, summed: both ztunnels and the waypoint. */
export function proxiesVcpu(r: WorkersResult): number {
  return PROXIES.reduce((sum, p) => sum + (r.vcpu[p] ?? 0), 0);
}

/** Everything on the machine the run drives: proxies, the client and the echo server. */
export function totalVcpu(r: WorkersResult): number {
  return Object.values(r.vcpu).reduce((a, b) => a + b, 0);
}
