// The printed table, the target verdict and the JSON file of one bench run.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { ThroughputResult } from './throughput';
import type { ConnectRateResult } from './connect-rate';
import { median } from './measure';

/** The goal this bench exists to check: one HBONE stream keeps up with plain mutual TLS. */
export const TARGET_RATIO = 0.8;
export const TARGET_TEXT = `one HBONE stream >= ${TARGET_RATIO}x one TLS connection's throughput (same run)`;
/** Where results go (git-ignored except .gitkeep); dist/bench/core -> bench/results. */
export const RESULTS_DIR = path.resolve(__dirname, '..', '..', '..', 'bench', 'results');

export interface TargetVerdict {
  readonly text: string;
  readonly met: boolean;
  readonly ratio: number;
  readonly hboneMbPerS: number;
  readonly tlsMbPerS: number;
  /** hbone - TARGET_RATIO * tls: positive when met. */
  readonly marginMbPerS: number;
  /**
   * Median over i of hbone rep i / tls rep i. Reps are interleaved, so each pair ran seconds
   * apart; this ratio shrugs off load that hit both alike. Shown beside the verdict, not used by it.
   */
  readonly pairedRatio: number;
}

export function verdict(tls: ThroughputResult | undefined, hbone1: ThroughputResult | undefined): TargetVerdict | undefined {
  if (!tls || !hbone1) return undefined;
  const ratio = hbone1.medianMbPerS / tls.medianMbPerS;
  return {
    text: TARGET_TEXT,
    met: ratio >= TARGET_RATIO,
    ratio,
    hboneMbPerS: hbone1.medianMbPerS,
    tlsMbPerS: tls.medianMbPerS,
    marginMbPerS: hbone1.medianMbPerS - TARGET_RATIO * tls.medianMbPerS,
    pairedRatio: median(hbone1.reps.map((r, i) => r.mbPerS / tls.reps[i].mbPerS)),
  };
}

function row(cells: readonly string[], widths: readonly number[]): string {
  return cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
}

function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const lines = [row(header, widths), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map((r) => row(r, widths))];
  return lines.join('\n');
}

const f0 = (x: number): string => (Number.isFinite(x) ? x.toFixed(0) : '-');
const f2 = (x: number): string => (Number.isFinite(x) ? x.toFixed(2) : '-');

export function formatThroughput(results: readonly ThroughputResult[], tls: ThroughputResult | undefined): string {
  const tlsCpu = tls ? tls.clientCpuSPerGiB + tls.serverCpuSPerGiB : NaN;
  const rows = results.map((r) => {
    const cpu = r.clientCpuSPerGiB + r.serverCpuSPerGiB;
    return [
      r.label,
      String(r.streams),
      f0(r.medianMbPerS),
      r.reps.map((x) => f0(x.mbPerS)).join('/'),
      f2(r.clientCpuSPerGiB),
      f2(r.serverCpuSPerGiB),
      f2(cpu),
      tls ? `${f2(r.medianMbPerS / tls.medianMbPerS)}x` : '-',
      tls ? `${f2(cpu / tlsCpu)}x` : '-',
    ];
  });
  return table(['case', 'streams', 'MB/s', 'reps MB/s', 'client CPU s/GiB', 'server CPU s/GiB', 'both', 'MB/s vs TLS', 'CPU vs TLS'], rows);
}

export function formatConnectRate(results: readonly ConnectRateResult[]): string {
  const rows = results.map((r) => [
    r.label,
    String(r.concurrency),
    f0(r.medianPerSecond),
    r.reps.map((x) => f0(x.perSecond)).join('/'),
    f0(r.clientCpuUsPerConnect),
    f0(r.serverCpuUsPerConnect),
  ]);
  return table(['case', 'concurrency', 'CONNECT/s', 'reps CONNECT/s', 'client CPU us/CONNECT', 'server CPU us/CONNECT'], rows);
}

export function formatVerdict(v: TargetVerdict | undefined): string {
  if (!v) return `target: ${TARGET_TEXT}: not evaluated (needs both the tls and hbone-1 cases)`;
  const bar = TARGET_RATIO * v.tlsMbPerS;
  const pct = (Math.abs(v.marginMbPerS) / bar) * 100;
  const how = v.met
    ? `${f0(v.marginMbPerS)} MB/s (${pct.toFixed(0)}%) above the bar`
    : `short by ${f0(-v.marginMbPerS)} MB/s (HBONE needs +${pct.toFixed(0)}%)`;
  return (
    `target: ${TARGET_TEXT}: ${v.met ? 'MET' : 'MISSED'} - ` +
    `HBONE x1 ${f0(v.hboneMbPerS)} MB/s = ${f2(v.ratio)}x TLS ${f0(v.tlsMbPerS)} MB/s; bar ${f0(bar)} MB/s, ${how}; ` +
    `median of per-rep ratios ${f2(v.pairedRatio)}x`
  );
}

/** ISO 8601 basic format (no colons), safe in file names: 20250101T120000Z. */
export function fileTimestamp(d: Date): string {
  return d
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
}

export function saveResults(doc: object, at: Date): string {
  fs.mkdirSync(RESULTS_DIR, { recursive: true });
  const file = path.join(RESULTS_DIR, `core-${fileTimestamp(at)}.json`);
  fs.writeFileSync(file, JSON.stringify(doc, null, 2) + '\n');
  return file;
}
