// Summarises V8 .cpuprofile files (from `node --cpu-prof`): the functions with the most self
// time, and self time grouped by where the code lives (node internals by module, our code,
// native/GC). Usage: node dist/bench/core/profile-summary.js [--top N] FILE.cpuprofile...
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { CallFrame, CpuProfile } from './cpu-profile';

const DEFAULT_TOP = 25;
const MICROS_PER_MS = 1000;

/** "node:internal/http2/core", "src/hbone/pipe", "(garbage collector)", "(native)". */
function areaOf(f: CallFrame): string {
  if (!f.url) return f.functionName.startsWith('(') ? f.functionName : '(native)';
  if (f.url.startsWith('node:')) return f.url;
  const m = /\/(dist\/)?((src|bench|node_modules)\/.*?)(\.js)?$/.exec(f.url);
  return m ? m[2] : path.basename(f.url);
}

function nameOf(f: CallFrame): string {
  const fn = f.functionName || '(anonymous)';
  return f.url ? `${fn} ${areaOf(f)}:${f.lineNumber + 1}` : fn;
}

function addTo(m: Map<string, number>, k: string, v: number): void {
  m.set(k, (m.get(k) ?? 0) + v);
}

function top(m: Map<string, number>, n: number, total: number): string[] {
  return [...m.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(([k, us]) => `${((us / total) * 100).toFixed(1).padStart(5)}%  ${(us / MICROS_PER_MS).toFixed(0).padStart(6)} ms  ${k}`);
}

export function summarise(file: string, n: number): string {
  const p = JSON.parse(fs.readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(p.nodes.map((node) => [node.id, node]));
  const selfByFunction = new Map<string, number>();
  const selfByArea = new Map<string, number>();
  let total = 0;
  let idle = 0;
  // Sample i covers timeDeltas[i + 1] (the gap until the next sample); the last one gets none.
  p.samples.forEach((id, i) => {
    const dt = p.timeDeltas[i + 1] ?? 0;
    const frame = byId.get(id)!.callFrame;
    if (frame.functionName === '(idle)') {
      idle += dt;
      return;
    }
    total += dt;
    addTo(selfByFunction, nameOf(frame), dt);
    addTo(selfByArea, areaOf(frame), dt);
  });
  return [
    `${file}: ${(total / MICROS_PER_MS).toFixed(0)} ms busy, ${(idle / MICROS_PER_MS).toFixed(0)} ms idle`,
    `  top ${n} functions by self time:`,
    ...top(selfByFunction, n, total).map((l) => `    ${l}`),
    `  self time by area:`,
    ...top(selfByArea, n, total).map((l) => `    ${l}`),
  ].join('\n');
}

function main(argv: string[]): void {
  let n = DEFAULT_TOP;
  const files: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--top') n = Number(argv[++i]);
    else files.push(argv[i]);
  }
  if (files.length === 0 || !Number.isInteger(n) || n <= 0) {
    process.stderr.write('usage: node dist/bench/core/profile-summary.js [--top N] FILE.cpuprofile...\n');
    process.exitCode = 2;
    return;
  }
  process.stdout.write(files.map((f) => summarise(f, n)).join('\n\n') + '\n');
}

if (require.main === module) main(process.argv.slice(2));
