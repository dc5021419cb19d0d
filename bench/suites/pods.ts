// The pods suite: what the simulator itself costs as the mesh grows. For each pod count (10, 100
// and 1,000 by default) over 3 nodes (bench/pods-scenario.ts), the runner holds the mesh as a user
// holds one (`hbone-sim scenario --hold`: itself, istiod, a ztunnel and a node agent per node),
// and once it says the mesh stays up, one request goes to every Service through the mesh, each
// from a pod of another Service on another node, through that pod's own SOCKS5 capture. Ready
// is the last of those answers, timed from the runner's spawn; then the RSS of every process of
// the mesh is read from /proc and summed. The cost of an added pod is the difference between
// two counts divided by the pods added.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { startHeldRunner, stopHeldRunner } from '../held-runner';
import { commandLine, processTree, sampleProcess } from '../proc';
import { DEFAULT_NODES, PodsMesh, askerOf, podsScenario } from '../pods-scenario';
import { askThrough, inBatches } from '../pods-ask';
import { median } from '../core/measure';
import { ENV_HOME } from '../../src/runner/kubeconfig';
import { ENV_CHILD_CPU_PROF } from '../../src/runner/run';
import { ENV_CPU_PROF } from '../mesh';
import type { PodsResult, PodsRoleRss } from '../results';
import { PROCESS_NAMES_PREFIX } from '../mesh-profile';

/** Requests in flight at once: every Service gets one, none waits behind a hundred others. */
const PARALLEL = 20;
/** The held runner's own ready timeout is READY_TIMEOUT_MS; this only bounds a hang. */
const HOLD_TIMEOUT_MS = 120_000;
const MiB = 2 ** 20;
const READY_RE = /mesh ready in (\d+) ms: (\d+) processes/;

export interface PodsSetup {
  /** Address block: the mesh's 10.<n>, served at 127.<n>. */
  readonly block: number;
  readonly counts: readonly number[];
  readonly reps: number;
  readonly progress: (line: string) => void;
  /** Told of each held runner as soon as it is spawned (and of none once stopped), so a Ctrl-C of the bench takes it down. */
  readonly held?: (child: ChildProcess | undefined) => void;
}

interface Rep {
  readonly runnerReadyMs: number;
  readonly holdingSeconds: number;
  readonly answeredSeconds: number;
  readonly answered: number;
  readonly processes: number;
  readonly rss: PodsRoleRss;
}

/** Which part of the mesh a process is, from the subcommand on its command line. */
function roleOf(pid: number, runnerPid: number): keyof PodsRoleRss {
  if (pid === runnerPid) return 'runner';
  const args = commandLine(pid);
  const sub = args.find((a, i) => i > 0 && args[i - 1].endsWith('main.js'));
  return sub === 'istiod' ? 'istiod' : sub === 'ztunnel' ? 'ztunnels' : sub === 'node' ? 'nodeAgents' : 'other';
}

function meshRss(runnerPid: number): { rss: PodsRoleRss; processes: number } {
  const rss = { runner: 0, istiod: 0, ztunnels: 0, nodeAgents: 0, other: 0 };
  const pids = processTree(runnerPid);
  for (const pid of pids) {
    try {
      rss[roleOf(pid, runnerPid)] += sampleProcess(pid).rssBytes / MiB;
    } catch {
      // gone meanwhile: counts for nothing
    }
  }
  return { rss, processes: pids.length };
}

/** The runner's name for each process of the mesh (runner, istiod, ztunnel-node-0, node-node-0), by pid. */
function processNames(runnerPid: number): Record<number, string> {
  const names: Record<number, string> = { [runnerPid]: 'runner' };
  for (const pid of processTree(runnerPid).slice(1)) {
    try {
      const args = commandLine(pid);
      const at = args.findIndex((a) => a.endsWith('main.js'));
      const node = args.indexOf('--node');
      names[pid] = [args[at + 1], node >= 0 ? args[node + 1] : undefined].filter((x) => x !== undefined).join('-');
    } catch {
      // gone meanwhile
    }
  }
  return names;
}

/** HBONE_BENCH_CPU_PROF=DIR: a .cpuprofile of the runner and of every process it starts. */
function profiling(): { env: NodeJS.ProcessEnv; nodeArgs: string[] } {
  const dir = process.env[ENV_CPU_PROF];
  if (!dir) return { env: {}, nodeArgs: [] };
  return { env: { [ENV_CHILD_CPU_PROF]: path.resolve(dir) }, nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${path.resolve(dir)}`] };
}

async function measureOnce(s: PodsSetup, mesh: PodsMesh): Promise<Rep> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hbone-bench-pods-'));
  const file = path.join(dir, `${mesh.name}.yaml`);
  fs.writeFileSync(file, mesh.text);
  const prof = profiling();
  const started = performance.now();
  let runner: ChildProcess | undefined;
  try {
    const held = await startHeldRunner(
      ['scenario', file, '--hold', '--ca-dir', path.join(dir, 'certs')],
      { [ENV_HOME]: path.join(dir, 'home'), ...prof.env },
      HOLD_TIMEOUT_MS,
      prof.nodeArgs,
      (child) => {
        runner = child;
        s.held?.(child);
      },
    );
    const holdingSeconds = (performance.now() - started) / 1000;
    const ready = READY_RE.exec(held.output);
    const answers = await inBatches(
      mesh.services.map((svc, k) => () => askThrough(askerOf(mesh, k), { host: svc.vip, port: svc.port }, `to ${svc.name}`)),
      PARALLEL,
    );
    const answeredSeconds = (performance.now() - started) / 1000;
    const answered = answers.filter((a, k) => a === `200 to ${mesh.services[k].name}`).length;
    const { rss, processes } = meshRss(held.child.pid!);
    // Profiles are named by pid: which process each was, for bench/mesh-profile.ts.
    const profDir = process.env[ENV_CPU_PROF];
    if (profDir) fs.writeFileSync(path.join(profDir, `${PROCESS_NAMES_PREFIX}${held.child.pid}.json`), JSON.stringify(processNames(held.child.pid!)));
    return { runnerReadyMs: Number(ready?.[1] ?? NaN), holdingSeconds, answeredSeconds, answered, processes, rss };
  } finally {
    // Also when it never held the mesh (it exited, or timed out and is stopped here).
    if (runner) await stopHeldRunner(runner);
    s.held?.(undefined);
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const total = (r: PodsRoleRss): number => r.runner + r.istiod + r.ztunnels + r.nodeAgents + r.other;

export async function runPods(s: PodsSetup): Promise<PodsResult[]> {
  const out: PodsResult[] = [];
  for (const n of s.counts) {
    const mesh = podsScenario(s.block, n, DEFAULT_NODES);
    const reps: Rep[] = [];
    for (let i = 0; i < s.reps; i++) {
      const r = await measureOnce(s, mesh);
      reps.push(r);
      s.progress(
        `pods ${n}: rep ${i + 1}/${s.reps} runner ready in ${(r.runnerReadyMs / 1000).toFixed(1)} s, every service answered at ${r.answeredSeconds.toFixed(1)} s ` +
          `(${r.answered}/${mesh.services.length}), ${r.processes} processes, ${total(r.rss).toFixed(0)} MB RSS; load ${os.loadavg()[0].toFixed(2)}`,
      );
    }
    const med = (f: (r: Rep) => number) => median(reps.map(f));
    out.push({
      pods: n,
      nodes: DEFAULT_NODES,
      services: mesh.services.length,
      processes: med((r) => r.processes),
      runnerReadyMs: med((r) => r.runnerReadyMs),
      holdingSeconds: med((r) => r.holdingSeconds),
      answeredSeconds: med((r) => r.answeredSeconds),
      repsAnsweredSeconds: reps.map((r) => r.answeredSeconds),
      // Every rep's losses count: a median would hide one bad run.
      unanswered: reps.reduce((sum, r) => sum + (mesh.services.length - r.answered), 0),
      rssMB: med((r) => total(r.rss)),
      rssByRoleMB: {
        runner: med((r) => r.rss.runner),
        istiod: med((r) => r.rss.istiod),
        ztunnels: med((r) => r.rss.ztunnels),
        nodeAgents: med((r) => r.rss.nodeAgents),
        other: med((r) => r.rss.other),
      },
      loadAverage: os.loadavg()[0],
    });
  }
  return out;
}
