// What a second worker buys (`--workers 2` for both ztunnels and the waypoint, Envoy's
// --concurrency 2, ztunnel's worker_threads 2) on this machine: the L4 and L7 request paths
// driven as fast as they go (autocannon, 100 connections, as the maxrps suite) on a mesh with
// one worker per proxy, then on one with two, each a mesh of its own. Reported: requests/s,
// latency, and the CPU of each part, a proxy's primary and workers summed.
import * as os from 'node:os';
import type { Endpoint } from '../mesh';
import { BenchMesh, ROLES } from '../mesh';
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
  /** The 1-minute load average when the worker count's runs were done. */
  readonly loadAverage: number;
}

export interface WorkersSetup {
  readonly block: number;
  readonly reps: number;
  readonly seconds: number;
  readonly warmupSeconds: number;
  readonly progress: (line: string) => void;
  /** Told of each mesh while it runs, so an interrupted bench stops it. */
  readonly track: (mesh: BenchMesh | undefined) => void;
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
  const results: WorkersResult[] = [];
  for (const workers of WORKER_COUNTS) {
    const mesh = await BenchMesh.start({ block: s.block, workers });
    s.track(mesh);
    try {
      const pids = partPids(mesh);
      const load = (path: WorkersPath, secs: number) => {
        const t = target(mesh, path);
        return drive({ url: t.url, headers: { host: t.host }, connections: MAX_RPS_CONNECTIONS, seconds: secs, body });
      };
      for (const path of PATHS) await load(path, s.warmupSeconds);
      const reps = new Map(PATHS.map((p) => [p, [] as Array<{ rps: number; ms: Percentiles; errors: number; non2xx: number; vcpu: Record<string, number> }>]));
      for (let i = 0; i < s.reps; i++) {
        for (const path of PATHS) {
          const sampled = startSampling(pids);
          const started = process.hrtime.bigint();
          const run = await load(path, seconds);
          const used = sampled();
          const wallS = Number(process.hrtime.bigint() - started) / 1e9;
          const vcpu: Record<string, number> = {};
          for (const [name, u] of used) {
            const part = name.replace(/#\d+$/, '');
            vcpu[part] = (vcpu[part] ?? 0) + u.cpuS / wallS;
          }
          const ms = percentiles(run.latenciesMs);
          reps.get(path)!.push({ rps: run.rps, ms, errors: run.errors, non2xx: run.non2xx, vcpu });
          s.progress(
            `workers ${workers} ${path}: rep ${i + 1}/${s.reps} ${run.rps.toFixed(0)} rps, p50 ${ms.p50.toFixed(3)} p99 ${ms.p99.toFixed(3)} ms, ` +
              `proxies ${PROXIES.reduce((sum, p) => sum + (vcpu[p] ?? 0), 0).toFixed(2)} vCPU`,
          );
        }
      }
      const broken = mesh.crashed();
      if (broken.length) throw new Error(`mesh process died during workers: ${broken.join('; ')}`);
      const loadAverage = os.loadavg()[0];
      for (const path of PATHS) {
        const rs = reps.get(path)!;
        results.push({
          workers,
          path,
          connections: MAX_RPS_CONNECTIONS,
          rps: median(rs.map((r) => r.rps)),
          repsRps: rs.map((r) => r.rps),
          ms: { p50: median(rs.map((r) => r.ms.p50)), p90: median(rs.map((r) => r.ms.p90)), p99: median(rs.map((r) => r.ms.p99)) },
          errors: rs.reduce((n, r) => n + r.errors, 0),
          non2xx: rs.reduce((n, r) => n + r.non2xx, 0),
          vcpu: Object.fromEntries([...PROXIES, ...OTHERS].map((p) => [p, median(rs.map((r) => r.vcpu[p] ?? 0))])),
          loadAverage,
        });
      }
    } finally {
      await mesh.stop();
      s.track(undefined);
    }
  }
  return results;
}

/** The proxies' CPU of a result, summed: both ztunnels and the waypoint. */
export function proxiesVcpu(r: WorkersResult): number {
  return PROXIES.reduce((sum, p) => sum + (r.vcpu[p] ?? 0), 0);
}

/** Everything on the machine the run drives: proxies, the client and the echo server. */
export function totalVcpu(r: WorkersResult): number {
  return Object.values(r.vcpu).reduce((a, b) => a + b, 0);
}
