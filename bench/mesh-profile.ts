// Where a process's CPU time went, from the .cpuprofile files `--cpu-prof` writes (the pods
// suite with HBONE_BENCH_CPU_PROF=DIR writes one per mesh process): per profile, its busy time
// by kind of work (self time), and the project's own functions by inclusive time, so "signing
// certificates" or "opening listeners" reads as one figure however deep the library calls go.
//
//   node dist/bench/mesh-profile.js DIR [--top N]
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { CallFrame, CpuProfile } from './core/cpu-profile';

const DEFAULT_TOP = 12;
/** processes-<runner pid>.json beside the profiles: pid -> the process's name in the mesh. */
export const PROCESS_NAMES_PREFIX = 'processes-';
/** CPU.<date>.<time>.<pid>.<thread>.<seq>.cpuprofile, as node names them. */
const PID_RE = /^CPU\.\d+\.\d+\.(\d+)\./;
/** Samples V8 attributes to no JavaScript: waiting, not working. */
const IDLE = '(idle)';

export type { CpuProfile } from './core/cpu-profile';

/** Kinds of work, first match wins; matched against "<function> <url>". */
const KINDS: readonly (readonly [string, RegExp])[] = [
  ['garbage collection', /^\(garbage collector\)/],
  ['certificates: x509, ASN.1, WebCrypto', /@peculiar|asn1|pvtsutils|tslib|reflect-metadata|internal\/crypto|webcrypto/],
  ['TLS', /_tls_|tls_wrap|internal\/tls|SecureContext/],
  ['YAML', /node_modules\/yaml\//],
  ['HTTP/2', /internal\/http2/],
  ['HTTP/1', /_http_|node:http\b|internal\/http\b/],
  ['sockets and listeners', /node:net|internal\/net|stream_wrap|tcp_wrap|internal\/stream|node:dgram|node:dns/],
  ['module loading and compiling', /internal\/modules|vm\b|\(program\)/],
  ['other Node internals', /^[^ ]* node:/],
  ['the simulator (dist/src)', /dist\/src\//],
  ['other dependencies', /node_modules/],
];

export function kindOf(frame: CallFrame): string {
  const text = `${frame.functionName || '(anonymous)'} ${frame.url}`;
  return KINDS.find(([, re]) => re.test(text))?.[0] ?? 'other';
}

export interface ProfileSummary {
  readonly file: string;
  /** Wall time the profile spans, and the CPU time in it (samples not idle), ms. */
  readonly wallMs: number;
  readonly busyMs: number;
  readonly byKind: readonly (readonly [string, number])[];
  /** The project's functions (dist/src) by inclusive time, ms: the time under them, callees included. */
  readonly ownInclusive: readonly (readonly [string, number])[];
}

export function summarize(file: string, p: CpuProfile, top = DEFAULT_TOP): ProfileSummary {
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const kinds = new Map<string, number>();
  const inclusive = new Map<string, number>();
  let busy = 0;
  p.samples.forEach((id, i) => {
    const ms = (p.timeDeltas[i] ?? 0) / 1000;
    const node = byId.get(id);
    if (!node || node.callFrame.functionName === IDLE) return;
    busy += ms;
    const kind = kindOf(node.callFrame);
    kinds.set(kind, (kinds.get(kind) ?? 0) + ms);
    // Each of the project's functions on the stack counts once, however often it recurses.
    const seen = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const f = byId.get(at)!.callFrame;
      if (!f.url.includes('/dist/src/')) continue;
      const key = `${f.functionName || '(anonymous)'} ${f.url.slice(f.url.indexOf('/dist/src/') + '/dist/'.length)}:${f.lineNumber + 1}`;
      if (seen.has(key)) continue;
      seen.add(key);
      inclusive.set(key, (inclusive.get(key) ?? 0) + ms);
    }
  });
  const sorted = (m: Map<string, number>) => [...m].sort((a, b) => b[1] - a[1]);
  return {
    file,
    wallMs: (p.endTime - p.startTime) / 1000,
    busyMs: busy,
    byKind: sorted(kinds),
    ownInclusive: sorted(inclusive).slice(0, top),
  };
}

export function formatSummary(s: ProfileSummary): string {
  const pct = (ms: number) => `${((ms / Math.max(1, s.busyMs)) * 100).toFixed(0)}%`.padStart(4);
  const row = ([what, ms]: readonly [string, number]) => `  ${ms.toFixed(0).padStart(7)} ms ${pct(ms)}  ${what}`;
  return [
    `${s.file}: ${s.busyMs.toFixed(0)} ms of CPU in ${s.wallMs.toFixed(0)} ms`,
    ' by kind (self time):',
    ...s.byKind.map(row),
    " the simulator's functions (inclusive time):",
    ...s.ownInclusive.map(row),
  ].join('\n');
}

function main(argv: string[]): number {
  const dir = argv[0];
  const topAt = argv.indexOf('--top');
  const top = topAt >= 0 ? Number(argv[topAt + 1]) : DEFAULT_TOP;
  if (!dir || !Number.isInteger(top) || top <= 0) {
    process.stderr.write('usage: node dist/bench/mesh-profile.js DIR [--top N]\n');
    return 2;
  }
  const files = fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.cpuprofile'))
    .sort();
  const names: Record<string, string> = {};
  for (const f of fs.readdirSync(dir).filter((x) => x.startsWith(PROCESS_NAMES_PREFIX)))
    Object.assign(names, JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8')) as Record<string, string>);
  for (const f of files) {
    const p = JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8')) as CpuProfile;
    const pid = PID_RE.exec(f)?.[1];
    const label = pid !== undefined && names[pid] ? `${names[pid]} (${f})` : f;
    process.stdout.write(formatSummary(summarize(label, p, top)) + '\n\n');
  }
  return 0;
}

if (require.main === module) process.exitCode = main(process.argv.slice(2));
