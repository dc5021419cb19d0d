// What an authenticated mesh peer can do to a :15008 server, measured on the bench mesh's real
// processes: HTTP/2 rapid reset (CVE-2023-44487) against ztunnel-node-b's inbound listener for
// the http-echo pod, then against the waypoint. For each victim, legitimate requests that cross
// it (the L4 path through ztunnel-node-b; the L7 path through the waypoint) are timed before and
// during the attack, and the victim's CPU and RSS are read from /proc before, during and after.
// The attacker is a process of its own (bench/attack/rapid-reset-main.ts) holding a workload
// certificate from the mesh CA, as a compromised pod would.
import * as path from 'node:path';
import { spawn, ChildProcess } from 'node:child_process';
import type { BenchMesh } from '../mesh';
import { ROLES } from '../mesh';
import { drive, percentiles, LoadRun } from '../load';
import { sampleProcess } from '../proc';
import { median } from '../core/measure';
import { PAYLOAD_BYTES } from './requests';
import type { AttackerSpec } from '../attack/rapid-reset-main';
import type { RapidResetResult } from '../attack/rapid-reset';
import type { HostileResult, HostileVictim, RequestPath } from '../results';

const ATTACKER = path.resolve(__dirname, '..', 'attack', 'rapid-reset-main.js');
/** The attacker's identity: a workload of the mesh that is not in the scenario. */
const ATTACKER_NS = 'bench';
const ATTACKER_SA = 'attacker';
/** Attacker connections kept up at once, each reconnecting when the victim drops it. */
export const ATTACK_CONNECTIONS = 4;
/** Legitimate load meanwhile: a steady rate a learner's curl loop or a small service would make. */
export const LEGIT_RPS = 200;
export const LEGIT_CONNECTIONS = 8;
/** The attacker's process start and handshakes happen before legitimate requests are timed. */
const ATTACK_LEAD_MS = 700;
const RSS_POLL_MS = 200;
/** "After": the victim's RSS is read once it is back within this of its baseline, or at the deadline. */
const RSS_BACK_RATIO = 1.05;
const BYTES_PER_MB = 2 ** 20;

export interface HostileSetup {
  readonly mesh: BenchMesh;
  readonly attackSeconds: number;
  /** Untimed legitimate load before the baseline, at least as long as the attack. */
  readonly warmupSeconds: number;
  /** How long the victim gets after the attack to give back what it took. */
  readonly settleMs: number;
  readonly progress: (line: string) => void;
}

interface VictimSpec {
  readonly victim: HostileVictim;
  readonly process: string;
  readonly legitPath: RequestPath;
  readonly host: string;
  readonly port: number;
  readonly authority: string;
}

function victims(mesh: BenchMesh): VictimSpec[] {
  const h = mesh.addresses.hbone;
  return [
    { victim: 'ztunnel', process: ROLES.ztunnelB, legitPath: 'l4', ...h.ztunnelB },
    { victim: 'waypoint', process: ROLES.waypoint, legitPath: 'l7', ...h.waypoint },
  ];
}

/** Attacker processes still running, so an interrupted bench can end them at once. */
const attackers = new Set<ChildProcess>();

export function killAttackers(): void {
  for (const a of attackers) a.kill('SIGKILL');
}

function startAttacker(spec: AttackerSpec): { done: Promise<RapidResetResult> } {
  const child = spawn(process.execPath, [ATTACKER, JSON.stringify(spec)], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NODE_OPTIONS: '' } });
  attackers.add(child);
  let out = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => (out += d));
  child.stderr!.on('data', (d: Buffer) => (err += d));
  const done = new Promise<RapidResetResult>((resolve, reject) =>
    child.on('exit', (code) => {
      attackers.delete(child);
      if (code !== 0) return reject(new Error(`rapid reset attacker exited ${code}: ${err.slice(-500)}`));
      resolve(JSON.parse(out.trim().split('\n').pop()!) as RapidResetResult);
    }),
  );
  return { done };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function legit(mesh: BenchMesh, p: RequestPath, seconds: number): Promise<LoadRun> {
  const e = p === 'l4' ? mesh.addresses.capture.httpL4 : mesh.addresses.capture.httpL7;
  return drive({
    url: `http://${e.host}:${e.port}/echo`,
    headers: { host: p === 'l4' ? 'http-l4' : 'http-l7' },
    connections: LEGIT_CONNECTIONS,
    rate: LEGIT_RPS,
    seconds,
    body: Buffer.alloc(PAYLOAD_BYTES, 0x61),
  });
}

/** Victim CPU seconds per wall second over `run`, and its RSS every RSS_POLL_MS meanwhile (MB). */
async function watched<T>(pid: number, run: () => Promise<T>): Promise<{ value: T; vcpu: number; rssMB: number[] }> {
  const s0 = sampleProcess(pid);
  const t0 = process.hrtime.bigint();
  const rss = [s0.rssBytes / BYTES_PER_MB];
  const timer = setInterval(() => rss.push(sampleProcess(pid).rssBytes / BYTES_PER_MB), RSS_POLL_MS);
  try {
    const value = await run();
    const s1 = sampleProcess(pid);
    rss.push(s1.rssBytes / BYTES_PER_MB);
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    return { value, vcpu: (s1.cpuS - s0.cpuS) / seconds, rssMB: rss };
  } finally {
    clearInterval(timer);
  }
}

async function attackOne(s: HostileSetup, v: VictimSpec): Promise<HostileResult> {
  const pid = s.mesh.pid(v.process);
  // Warm up as long as the attack lasts: a waypoint's RSS climbs for about ten seconds of
  // requests before it levels off, and that climb is not the attack's doing.
  await legit(s.mesh, v.legitPath, Math.max(s.warmupSeconds, s.attackSeconds));
  const before = await watched(pid, () => legit(s.mesh, v.legitPath, s.attackSeconds));
  // The baseline is the victim's median RSS over as long a run of legitimate traffic as the
  // attack lasts: a single reading swings by 10 MB with the garbage collector, and a waypoint
  // grows with requests alone (issue 9, section 5) by about as much over such a run.
  const rssBefore = median(before.rssMB);

  const attacker = startAttacker({
    caDir: s.mesh.caDir,
    namespace: ATTACKER_NS,
    serviceAccount: ATTACKER_SA,
    host: v.host,
    port: v.port,
    authority: v.authority,
    connections: ATTACK_CONNECTIONS,
    durationMs: ATTACK_LEAD_MS + s.attackSeconds * 1000,
  });
  const during = await watched(pid, async () => {
    await sleep(ATTACK_LEAD_MS);
    return legit(s.mesh, v.legitPath, s.attackSeconds);
  });
  const attack = await attacker.done;

  // After: the victim gets up to settleMs to give back what the attack made it hold; its RSS
  // after is the first reading back within 5% of the baseline, or the lowest seen by then.
  const deadline = Date.now() + s.settleMs;
  let rssAfter = sampleProcess(pid).rssBytes / BYTES_PER_MB;
  while (rssAfter > rssBefore * RSS_BACK_RATIO && Date.now() < deadline) {
    await sleep(RSS_POLL_MS);
    rssAfter = Math.min(rssAfter, sampleProcess(pid).rssBytes / BYTES_PER_MB);
  }
  // Then its CPU over a quiet second.
  const after = await watched(pid, () => sleep(1000));
  const survived = s.mesh.pids.get(v.process) === pid && s.mesh.crashed().length === 0;

  const failures = (r: LoadRun) => r.errors + r.non2xx;
  const result: HostileResult = {
    attack: 'rapid-reset',
    victim: v.victim,
    process: v.process,
    legitPath: v.legitPath,
    attackSeconds: attack.seconds,
    resetsPerSecond: attack.resets / attack.seconds,
    attackerConnections: attack.connections,
    attackerRefused: attack.failures,
    goaways: attack.goaways,
    victimVcpu: { before: before.vcpu, during: during.vcpu, after: after.vcpu },
    victimRssMB: { before: rssBefore, during: Math.max(...during.rssMB), after: rssAfter },
    legitMs: { before: percentiles(before.value.latenciesMs), during: percentiles(during.value.latenciesMs) },
    legitRequests: { before: before.value.latenciesMs.length, during: during.value.latenciesMs.length },
    legitFailures: { before: failures(before.value), during: failures(during.value) },
    survived,
  };
  s.progress(
    `hostile rapid-reset ${v.process}: ${result.resetsPerSecond.toFixed(0)} resets/s over ${attack.connections} connections, ${attack.failures} refused ` +
      `(GOAWAY ${
        Object.entries(attack.goaways)
          .map(([k, n]) => `${k} x${n}`)
          .join(', ') || 'none'
      }); ` +
      `legit p50 ${result.legitMs.before.p50.toFixed(1)} -> ${result.legitMs.during.p50.toFixed(1)} ms, ` +
      `p99 ${result.legitMs.before.p99.toFixed(1)} -> ${result.legitMs.during.p99.toFixed(1)} ms; ` +
      `victim ${before.vcpu.toFixed(2)} -> ${during.vcpu.toFixed(2)} -> ${after.vcpu.toFixed(2)} vCPU, ` +
      `RSS ${rssBefore.toFixed(0)} -> ${Math.max(...during.rssMB).toFixed(0)} -> ${rssAfter.toFixed(0)} MB`,
  );
  if (!survived) throw new Error(`${v.process} died under rapid reset: ${s.mesh.crashed().join('; ')}`);
  return result;
}

export async function runHostile(s: HostileSetup): Promise<HostileResult[]> {
  const results: HostileResult[] = [];
  for (const v of victims(s.mesh)) results.push(await attackOne(s, v));
  return results;
}
