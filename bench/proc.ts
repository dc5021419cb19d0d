// CPU time and resident memory of any process, read from /proc as top and ps read them, so the
// bench measures ztunnel, the waypoint and the apps from outside without asking them anything.
import * as fs from 'node:fs';
import { execFileSync } from 'node:child_process';

/** Fields of /proc/<pid>/stat counted from 1, as proc(5) numbers them. */
const STAT_UTIME = 14;
const STAT_STIME = 15;
const STAT_RSS = 24;

function getconf(name: string, fallback: number): number {
  try {
    const n = Number(execFileSync('getconf', [name], { encoding: 'utf8' }).trim());
    return Number.isFinite(n) && n > 0 ? n : fallback;
  } catch {
    return fallback;
  }
}

let clockTicks: number | undefined;
let pageBytes: number | undefined;

export interface ProcSample {
  /** user + system CPU seconds since the process started. */
  readonly cpuS: number;
  /** Resident set size in bytes. */
  readonly rssBytes: number;
}

/** Parses the text of /proc/<pid>/stat. The command name may hold spaces and parentheses, so fields are counted from the last ')'. */
export function parseStat(text: string, ticksPerSecond: number, pageSize: number): ProcSample {
  const close = text.lastIndexOf(')');
  if (close === -1) throw new Error(`not a /proc/<pid>/stat line: ${JSON.stringify(text.slice(0, 60))}`);
  // After ") " comes field 3 (state).
  const fields = text
    .slice(close + 2)
    .trim()
    .split(' ');
  const at = (n: number): number => {
    const v = Number(fields[n - 3]);
    if (!Number.isFinite(v)) throw new Error(`/proc/<pid>/stat field ${n} is ${JSON.stringify(fields[n - 3])}`);
    return v;
  };
  return { cpuS: (at(STAT_UTIME) + at(STAT_STIME)) / ticksPerSecond, rssBytes: at(STAT_RSS) * pageSize };
}

export function sampleProcess(pid: number): ProcSample {
  clockTicks ??= getconf('CLK_TCK', 100);
  pageBytes ??= getconf('PAGESIZE', 4096);
  return parseStat(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'), clockTicks, pageBytes);
}

/** CPU seconds each process spent between two samplings, and its RSS at the second. */
export interface ProcDelta {
  readonly cpuS: number;
  readonly rssBytes: number;
}

/** Samples a named set of processes now; call the result to get what each spent since. */
export function startSampling(pids: ReadonlyMap<string, number>): () => Map<string, ProcDelta> {
  const before = new Map([...pids].map(([name, pid]) => [name, sampleProcess(pid)]));
  return () =>
    new Map(
      [...pids].map(([name, pid]) => {
        const now = sampleProcess(pid);
        return [name, { cpuS: now.cpuS - before.get(name)!.cpuS, rssBytes: now.rssBytes }];
      }),
    );
}

/** Open file descriptors of a process (sockets, pipes, files). */
export function fdCount(pid: number): number {
  return fs.readdirSync(`/proc/${pid}/fd`).length;
}

/** The direct children of a process, from /proc/<pid>/task/<tid>/children (every thread's). */
export function childrenOf(pid: number): number[] {
  const kids = new Set<number>();
  for (const tid of fs.readdirSync(`/proc/${pid}/task`)) {
    let text: string;
    try {
      text = fs.readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8');
    } catch {
      continue; // the thread ended meanwhile
    }
    for (const p of text.trim().split(/\s+/)) if (p) kids.add(Number(p));
  }
  return [...kids];
}

/** A process's command line, as its arguments. */
export function commandLine(pid: number): string[] {
  return fs
    .readFileSync(`/proc/${pid}/cmdline`, 'utf8')
    .split('\0')
    .filter((a) => a !== '');
}

/** A process and everything it started, children's children too (a runner and its mesh). */
export function processTree(pid: number): number[] {
  const all = [pid];
  for (let i = 0; i < all.length; i++) {
    try {
      all.push(...childrenOf(all[i]));
    } catch {
      // it exited meanwhile
    }
  }
  return all;
}
