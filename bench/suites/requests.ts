// HTTP request suites, all driven by autocannon against http-echo over three paths: straight to
// the pod (direct), through the two ztunnels (L4 mesh), and through the waypoint (L7).
//  - latency: Istio's published setup, a fixed 1,000 requests/s of 1 KB over 16 connections;
//    percentiles of every request's own time, and what each path adds over direct.
//  - cost: in the same runs, each process's CPU (from /proc) per 1,000 requests/s, and its RSS.
//  - maxrps: 100 connections, as fast as the path goes.
// Repetitions of the paths are interleaved, as in the throughput suite.
import type { BenchMesh, Endpoint } from '../mesh';
import { ROLES } from '../mesh';
import { drive, percentiles, LoadRun } from '../load';
import { median } from '../core/measure';
import { startSampling } from '../proc';
import { CLIENT } from './throughput';
import type { LatencyResult, MaxRpsResult, Percentiles, ProcessCost, RequestPath } from '../results';

export const REQUEST_PATHS: readonly RequestPath[] = ['direct', 'l4', 'l7'];
/** Istio's published latency and cost setup: fortio at 1,000 qps, 1 KB payload, 16 connections. */
export const FIXED_RATE = 1000;
export const FIXED_RATE_CONNECTIONS = 16;
export const PAYLOAD_BYTES = 1024;
export const MAX_RPS_CONNECTIONS = 100;
const BYTES_PER_MIB = 2 ** 20;

const PROCESSES: Readonly<Record<RequestPath, readonly string[]>> = {
  direct: [CLIENT, ROLES.httpEcho],
  l4: [CLIENT, ROLES.ztunnelA, ROLES.ztunnelB, ROLES.httpEcho],
  l7: [CLIENT, ROLES.ztunnelA, ROLES.waypoint, ROLES.ztunnelB, ROLES.httpEcho],
};

export interface RequestSetup {
  readonly mesh: BenchMesh;
  readonly reps: number;
  readonly warmupSeconds: number;
  readonly progress: (line: string) => void;
}

function target(mesh: BenchMesh, path: RequestPath): { url: string; host: string } {
  const at = (e: Endpoint, host: string) => ({ url: `http://${e.host}:${e.port}/echo`, host });
  const a = mesh.addresses;
  if (path === 'direct') return at(a.direct.http, 'http-echo');
  return path === 'l4' ? at(a.capture.httpL4, 'http-l4') : at(a.capture.httpL7, 'http-l7');
}

const medianOf = (xs: readonly Percentiles[]): Percentiles => ({
  p50: median(xs.map((x) => x.p50)),
  p90: median(xs.map((x) => x.p90)),
  p99: median(xs.map((x) => x.p99)),
});

interface Rep {
  readonly run: LoadRun;
  readonly ms: Percentiles;
  readonly cost: Record<string, ProcessCost>;
}

/** Warm-up for every path, then rep i of each path in turn; returns reps by path. */
async function interleaved(s: RequestSetup, label: string, connections: number, rate: number | undefined, seconds: number): Promise<Map<RequestPath, Rep[]>> {
  const body = Buffer.alloc(PAYLOAD_BYTES, 0x61);
  const pids = new Map([...s.mesh.pids, [CLIENT, process.pid]]);
  const spec = (path: RequestPath, secs: number) => {
    const t = target(s.mesh, path);
    return { url: t.url, headers: { host: t.host }, connections, rate, seconds: secs, body };
  };
  for (const path of REQUEST_PATHS) await drive(spec(path, s.warmupSeconds));
  const reps = new Map<RequestPath, Rep[]>(REQUEST_PATHS.map((p) => [p, []]));
  for (let i = 0; i < s.reps; i++) {
    for (const path of REQUEST_PATHS) {
      const sampled = startSampling(pids);
      const run = await drive(spec(path, seconds));
      const used = sampled();
      const cost = Object.fromEntries(
        PROCESSES[path].map((p) => {
          const u = used.get(p)!;
          const vcpu = u.cpuS / run.seconds;
          return [p, { vcpu, vcpuPer1000Rps: vcpu / (run.rps / 1000), rssMB: u.rssBytes / BYTES_PER_MIB }];
        }),
      );
      const ms = percentiles(run.latenciesMs);
      reps.get(path)!.push({ run, ms, cost });
      s.progress(
        `${label} ${path}: rep ${i + 1}/${s.reps} ${run.rps.toFixed(0)} rps, p50 ${ms.p50.toFixed(3)} p90 ${ms.p90.toFixed(3)} p99 ${ms.p99.toFixed(3)} ms`,
      );
    }
  }
  const broken = s.mesh.crashed();
  if (broken.length) throw new Error(`mesh process died during ${label}: ${broken.join('; ')}`);
  return reps;
}

/** The latency suite; its runs also give the cost figures. */
export async function runFixedRate(s: RequestSetup, seconds: number): Promise<LatencyResult[]> {
  const reps = await interleaved(s, 'latency', FIXED_RATE_CONNECTIONS, FIXED_RATE, seconds);
  const msOf = (p: RequestPath) => medianOf(reps.get(p)!.map((r) => r.ms));
  const direct = msOf('direct');
  return REQUEST_PATHS.map((path) => {
    const rs = reps.get(path)!;
    const ms = msOf(path);
    return {
      path,
      targetRps: FIXED_RATE,
      connections: FIXED_RATE_CONNECTIONS,
      payloadBytes: PAYLOAD_BYTES,
      ms,
      addedMs: { p50: ms.p50 - direct.p50, p90: ms.p90 - direct.p90, p99: ms.p99 - direct.p99 },
      achievedRps: median(rs.map((r) => r.run.rps)),
      requests: rs.reduce((n, r) => n + r.run.latenciesMs.length, 0),
      errors: rs.reduce((n, r) => n + r.run.errors, 0),
      non2xx: rs.reduce((n, r) => n + r.run.non2xx, 0),
      repsMs: rs.map((r) => r.ms),
      cost: Object.fromEntries(
        PROCESSES[path].map((p) => [
          p,
          {
            vcpu: median(rs.map((r) => r.cost[p].vcpu)),
            vcpuPer1000Rps: median(rs.map((r) => r.cost[p].vcpuPer1000Rps)),
            rssMB: median(rs.map((r) => r.cost[p].rssMB)),
          },
        ]),
      ),
    };
  });
}

export async function runMaxRps(s: RequestSetup, seconds: number): Promise<MaxRpsResult[]> {
  const reps = await interleaved(s, 'maxrps', MAX_RPS_CONNECTIONS, undefined, seconds);
  return REQUEST_PATHS.map((path) => {
    const rs = reps.get(path)!;
    return {
      path,
      connections: MAX_RPS_CONNECTIONS,
      rps: median(rs.map((r) => r.run.rps)),
      repsRps: rs.map((r) => r.run.rps),
      ms: medianOf(rs.map((r) => r.ms)),
      errors: rs.reduce((n, r) => n + r.run.errors, 0),
      non2xx: rs.reduce((n, r) => n + r.run.non2xx, 0),
    };
  });
}
