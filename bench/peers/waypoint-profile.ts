// Where the waypoint's CPU goes under the L7 comparison's load: a short mesh of its own, on a
// block of its own, every process under --cpu-prof, the same route and policy pushed, the same
// paced load through the L7 path. The profile is read for the load's window alone (V8 stamps its
// samples with the monotonic clock process.hrtime reads), so start-up and shutdown are left out.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { BenchMesh, ROLES } from '../mesh';
import { drivePaced } from '../paced-load';
import { ProfileSummary, kindOf, summarize } from '../mesh-profile';
import type { CpuProfile } from '../core/cpu-profile';
import { routedScenario } from './l7-route';

const WARMUP_SECONDS = 1;
/** Own functions kept in the summary: enough that the report can skip the wrappers among them. */
const TOP_FUNCTIONS = 16;

export interface ProfileLoad {
  /** The free address block for the profile's mesh (not the compared mesh's). */
  readonly block: number;
  readonly seconds: number;
  readonly rate: number;
  readonly connections: number;
  readonly body: Buffer;
  readonly headers: Readonly<Record<string, string>>;
  readonly path: string;
  readonly progress: (line: string) => void;
}

/** The samples of `p` between two monotonic times, µs, as a profile of that window. */
export function profileWindow(p: CpuProfile, fromUs: number, toUs: number): CpuProfile {
  const samples: number[] = [];
  const timeDeltas: number[] = [];
  let at = p.startTime;
  let last = fromUs;
  p.samples.forEach((id, i) => {
    at += p.timeDeltas[i] ?? 0;
    if (at < fromUs || at > toUs) return;
    samples.push(id);
    timeDeltas.push(at - last);
    last = at;
  });
  return { nodes: p.nodes, startTime: fromUs, endTime: toUs, samples, timeDeltas };
}

/**
 * V8's "(program)": native code with no JavaScript on the stack. At start-up that is mostly
 * compiling (mesh-profile.ts counts it so); in a serving process it is the C++ reached straight
 * from the event loop: OpenSSL decrypting what arrived, nghttp2 framing HTTP/2, libuv.
 */
const PROGRAM = '(program)';
export const NATIVE_KIND = 'native code outside JavaScript (OpenSSL, nghttp2, libuv)';

/** The summary of a serving process: as mesh-profile.ts's, with "(program)" read as native work, not start-up. */
export function summarizeServing(label: string, p: CpuProfile, top: number): ProfileSummary {
  const s = summarize(label, p, top);
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const kinds = new Map<string, number>();
  p.samples.forEach((id, i) => {
    const frame = byId.get(id)?.callFrame;
    if (!frame || frame.functionName === '(idle)') return;
    const kind = frame.functionName === PROGRAM ? NATIVE_KIND : kindOf(frame);
    kinds.set(kind, (kinds.get(kind) ?? 0) + (p.timeDeltas[i] ?? 0) / 1000);
  });
  return { ...s, byKind: [...kinds].sort((a, b) => b[1] - a[1]) };
}

const nowUs = (): number => Number(process.hrtime.bigint() / 1000n);

/** Runs the load on a profiled mesh and summarizes the waypoint's profile over the load's window. */
export async function profileWaypoint(load: ProfileLoad): Promise<ProfileSummary> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hbone-peers-l7-prof-'));
  try {
    load.progress(`l7 profile: a mesh on 10.${load.block} under --cpu-prof`);
    const mesh = await BenchMesh.start({ block: load.block, cpuProfileDir: dir });
    let pid: number;
    let window: [number, number];
    try {
      const synced = await mesh.pushConfig(routedScenario(load.block, mesh.scenario.trustDomain));
      if (synced.nacked.length > 0) throw new Error(`the route was refused: ${JSON.stringify(synced.nacked)}`);
      const capture = mesh.addresses.capture.httpL7;
      const url = `http://${capture.host}:${capture.port}${load.path}`;
      const spec = { url, headers: load.headers, connections: load.connections, rate: load.rate, body: load.body };
      await drivePaced({ ...spec, seconds: WARMUP_SECONDS });
      const from = nowUs();
      const run = await drivePaced({ ...spec, seconds: load.seconds });
      window = [from, nowUs()];
      if (run.errors + run.non2xx > 0) throw new Error(`the profiled run lost requests: ${run.errors} errors, ${run.non2xx} not 2xx`);
      pid = mesh.pid(ROLES.waypoint);
    } finally {
      // The profiles are written as the processes exit.
      await mesh.stop();
    }
    const file = fs.readdirSync(dir).find((f) => f.endsWith('.cpuprofile') && f.includes(`.${pid}.`));
    if (!file) throw new Error(`the waypoint (pid ${pid}) wrote no profile in ${dir}`);
    const profile = JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8')) as CpuProfile;
    return summarizeServing(`${ROLES.waypoint} under ${load.rate} rps`, profileWindow(profile, ...window), TOP_FUNCTIONS);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
