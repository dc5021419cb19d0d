// HTTP request suites against http-echo over three paths: straight to the pod (direct), through
// the two ztunnels (L4 mesh), and through the waypoint (L7).
//  - latency: Istio's published setup, a fixed 1,000 requests/s of 1 KB over 16 connections, driven
//    twice per path: by the paced generator (bench/paced-load.ts, fortio's model, what the targets
//    judge) and by autocannon (what users run for their own load tests); percentiles of every
//    request's own time, and what each path adds over direct under the same generator.
//  - cost: in the same runs, each process's CPU (from /proc) per 1,000 requests/s, and its RSS.
//  - maxrps: autocannon, 100 connections, as fast as the path goes.
// Repetitions of the paths are interleaved, as in the throughput suite.
import type { BenchMesh, Endpoint } from '../mesh';
import { ROLES } from '../mesh';
import { drive, percentiles, LoadRun } from '../load';
import { drivePaced } from '../paced-load';
import { median } from '../core/measure';
import { startSampling } from '../proc';
import { CLIENT } from './throughput';
import type { LatencyResult, LoadGenerator, MaxRpsResult, Percentiles, ProcessCost, RequestPath, Spread } from '../results';

export const REQUEST_PATHS: readonly RequestPath[] = ['direct', 'l4', 'l7'];
/** The latency suite's generators, in run order within each path's repetition. */
export const FIXED_RATE_GENERATORS: readonly LoadGenerator[] = ['paced', 'autocannon'];
/**
 * A paced run's first requests are sent but not counted: its sockets are fresh, and the proxies'
 * first bytes on them (the HBONE stream behind a new capture) are set up as they arrive.
 */
const PACED_RUN_WARMUP_SECONDS = 0.1;
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

/** A timed run of either generator: the paced one adds its send lateness and its uncounted warm-up. */
type Run = LoadRun & { readonly sendLatenessMs?: Float64Array; readonly warmupSent?: number };

interface Rep {
  readonly run: Run;
  readonly ms: Percentiles;
  readonly maxMs: number;
  readonly lateness?: Spread;
  readonly cost: Record<string, ProcessCost>;
}

const maxOf = (xs: Float64Array): number => xs.reduce((a, b) => Math.max(a, b), -Infinity);
const spreadOf = (xs: Float64Array): Spread => ({ ...percentiles(xs), max: maxOf(xs) });

/** Warm-up for every path and generator, then rep i of each path in turn, each generator within it; reps by path and generator. */
async function interleaved(
  s: RequestSetup,
  label: string,
  generators: readonly LoadGenerator[],
  connections: number,
  rate: number | undefined,
  seconds: number,
): Promise<Map<string, Rep[]>> {
  const body = Buffer.alloc(PAYLOAD_BYTES, 0x61);
  const pids = new Map([...s.mesh.pids, [CLIENT, process.pid]]);
  const load = (generator: LoadGenerator, path: RequestPath, secs: number, warmupSeconds = 0): Promise<Run> => {
    const t = target(s.mesh, path);
    const spec = { url: t.url, headers: { host: t.host }, connections, seconds: secs, body };
    if (generator === 'autocannon') return drive({ ...spec, rate });
    if (rate === undefined) throw new Error('the paced generator needs a rate');
    return drivePaced({ ...spec, rate, warmupSeconds });
  };
  for (const path of REQUEST_PATHS) for (const g of generators) await load(g, path, s.warmupSeconds);
  const reps = new Map<string, Rep[]>(REQUEST_PATHS.flatMap((p) => generators.map((g) => [key(p, g), []])));
  for (let i = 0; i < s.reps; i++) {
    for (const path of REQUEST_PATHS) {
      for (const generator of generators) {
        const sampled = startSampling(pids);
        const started = process.hrtime.bigint();
        const run = await load(generator, path, seconds, PACED_RUN_WARMUP_SECONDS);
        const used = sampled();
        // CPU is sampled over the whole call, a paced run's connecting and uncounted warm-up too, so
        // it is divided by the whole call's time and requests.
        const wallS = Number(process.hrtime.bigint() - started) / 1e9;
        const windowRps = (run.latenciesMs.length + run.errors + (run.warmupSent ?? 0)) / wallS;
        const cost = Object.fromEntries(
          PROCESSES[path].map((p) => {
            const u = used.get(p)!;
            const vcpu = u.cpuS / wallS;
            return [p, { vcpu, vcpuPer1000Rps: vcpu / (windowRps / 1000), rssMB: u.rssBytes / BYTES_PER_MIB }];
          }),
        );
        const ms = percentiles(run.latenciesMs);
        const lateness = run.sendLatenessMs ? spreadOf(run.sendLatenessMs) : undefined;
        reps.get(key(path, generator))!.push({ run, ms, maxMs: maxOf(run.latenciesMs), cost, ...(lateness ? { lateness } : {}) });
        const late = lateness ? `; sent late p50 ${lateness.p50.toFixed(3)} p99 ${lateness.p99.toFixed(3)} ms` : '';
        s.progress(
          `${label} ${path}${generators.length > 1 ? ` ${generator}` : ''}: rep ${i + 1}/${s.reps} ${run.rps.toFixed(0)} rps, ` +
            `p50 ${ms.p50.toFixed(3)} p90 ${ms.p90.toFixed(3)} p99 ${ms.p99.toFixed(3)} ms${late}`,
        );
      }
    }
  }
  const broken = s.mesh.crashed();
  if (broken.length) throw new Error(`mesh process died during ${label}: ${broken.join('; ')}`);
  return reps;
}

const key = (path: RequestPath, generator: LoadGenerator): string => `${path}/${generator}`;

/** The latency suite; its runs also give the cost figures. */
export async function runFixedRate(s: RequestSetup, seconds: number): Promise<LatencyResult[]> {
  // A paced run is counted after its own short warm-up: the same counted length as autocannon's.
  const reps = await interleaved(s, 'latency', FIXED_RATE_GENERATORS, FIXED_RATE_CONNECTIONS, FIXED_RATE, seconds);
  const msOf = (p: RequestPath, g: LoadGenerator) => medianOf(reps.get(key(p, g))!.map((r) => r.ms));
  return REQUEST_PATHS.flatMap((path) =>
    FIXED_RATE_GENERATORS.map((generator): LatencyResult => {
      const rs = reps.get(key(path, generator))!;
      const ms = msOf(path, generator);
      const direct = msOf('direct', generator);
      const late = rs.flatMap((r) => (r.lateness ? [r.lateness] : []));
      return {
        path,
        generator,
        targetRps: FIXED_RATE,
        connections: FIXED_RATE_CONNECTIONS,
        payloadBytes: PAYLOAD_BYTES,
        ms,
        maxMs: Math.max(...rs.map((r) => r.maxMs)),
        addedMs: { p50: ms.p50 - direct.p50, p90: ms.p90 - direct.p90, p99: ms.p99 - direct.p99 },
        achievedRps: median(rs.map((r) => r.run.rps)),
        requests: rs.reduce((n, r) => n + r.run.latenciesMs.length, 0),
        errors: rs.reduce((n, r) => n + r.run.errors, 0),
        non2xx: rs.reduce((n, r) => n + r.run.non2xx, 0),
        repsMs: rs.map((r) => r.ms),
        ...(late.length > 0 ? { sendLatenessMs: { ...medianOf(late), max: Math.max(...late.map((l) => l.max)) } } : {}),
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
    }),
  );
}

export async function runMaxRps(s: RequestSetup, seconds: number): Promise<MaxRpsResult[]> {
  const reps = await interleaved(s, 'maxrps', ['autocannon'], MAX_RPS_CONNECTIONS, undefined, seconds);
  return REQUEST_PATHS.map((path) => {
    const rs = reps.get(key(path, 'autocannon'))!;
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
