// The report's chart: throughput and latency of each path as labelled horizontal bars, one
// self-contained SVG that GitHub shows inline. Same results, same bytes: no dates, no ids.
import type { BenchResults, LatencyResult, ThroughputResult } from '../results';
import { formatNumber, LATENCY_TARGET_GENERATOR, TARGET_RPS } from './targets';
import { REQUEST_LABELS, REQUEST_ORDER, THROUGHPUT_LABELS, THROUGHPUT_ORDER } from './table';
import { PALETTE, px, svgDocument, text } from './draw';

export { escapeXml } from './draw';

const WIDTH = 760;
const MARGIN = 16;
/** Room left of the bars for "8 conns" or "p99", right-aligned against the bar. */
const SERIES_LABEL_WIDTH = 70;
/** Room right of the longest bar for its number. */
const VALUE_LABEL_WIDTH = 80;
const BAR_AREA = WIDTH - 2 * MARGIN - SERIES_LABEL_WIDTH - VALUE_LABEL_WIDTH;
const BAR_HEIGHT = 14;
const BAR_GAP = 4;
const GROUP_HEADER = 18;
const GROUP_GAP = 8;
const PANEL_TITLE = 28;
const PANEL_GAP = 16;
const CHART_TITLE = 'hbone-sim: paths compared';

interface Bar {
  readonly series: string;
  readonly colour: string;
  readonly value: number;
}

interface Group {
  readonly label: string;
  readonly bars: readonly Bar[];
}

interface Panel {
  readonly title: string;
  readonly groups: readonly Group[];
  readonly decimals: number;
}

function throughputPanel(results: readonly ThroughputResult[]): Panel | undefined {
  const counts = [...new Set(results.map((t) => t.connections))].sort((a, b) => a - b);
  const groups = THROUGHPUT_ORDER.map((path) => ({
    label: THROUGHPUT_LABELS[path],
    bars: counts.flatMap((n, i) => {
      const t = results.find((x) => x.path === path && x.connections === n);
      return t ? [{ series: n === 1 ? '1 conn' : `${n} conns`, colour: PALETTE[i % PALETTE.length], value: t.mbPerS }] : [];
    }),
  })).filter((g) => g.bars.length > 0);
  return groups.length === 0 ? undefined : { title: 'Throughput, MB/s', groups, decimals: 0 };
}

function latencyPanel(results: readonly LatencyResult[]): Panel | undefined {
  if (results.length === 0) return undefined;
  const rps = latencyRate(results);
  // The generator the targets judge; a run saved before it existed has autocannon's figures alone.
  const generator = results.some((l) => l.generator === LATENCY_TARGET_GENERATOR) ? LATENCY_TARGET_GENERATOR : results[0].generator;
  const groups = REQUEST_ORDER.flatMap((path) => {
    const l = results.find((x) => x.path === path && x.generator === generator && x.targetRps === rps);
    if (!l) return [];
    const bars = (['p50', 'p90', 'p99'] as const).map((p, i) => ({ series: p, colour: PALETTE[i % PALETTE.length], value: l.ms[p] }));
    return [{ label: REQUEST_LABELS[path], bars }];
  });
  return { title: `Latency at ${formatNumber(rps, 0)} rps (${generator} load), ms`, groups, decimals: 3 };
}

/** The rate the latency figures are drawn at: the one the targets are stated at, else the lowest run. */
export function latencyRate(results: readonly LatencyResult[]): number {
  const rates = results.map((l) => l.targetRps);
  return rates.includes(TARGET_RPS) ? TARGET_RPS : Math.min(...rates);
}

function panelHeight(p: Panel): number {
  return PANEL_TITLE + p.groups.reduce((h, g) => h + GROUP_HEADER + g.bars.length * (BAR_HEIGHT + BAR_GAP) + GROUP_GAP, 0);
}

function drawPanel(p: Panel, top: number): string[] {
  const values = p.groups.flatMap((g) => g.bars.map((b) => b.value)).filter((v) => Number.isFinite(v) && v > 0);
  const max = values.length === 0 ? 1 : Math.max(...values);
  const barLeft = MARGIN + SERIES_LABEL_WIDTH;
  const out = [text(MARGIN, top + 18, p.title, 'font-size="15" font-weight="bold"')];
  let y = top + PANEL_TITLE;
  for (const g of p.groups) {
    out.push(text(MARGIN, y + 13, g.label, 'font-size="13" font-weight="bold"'));
    y += GROUP_HEADER;
    for (const b of g.bars) {
      const width = Number.isFinite(b.value) && b.value > 0 ? (b.value / max) * BAR_AREA : 0;
      const mid = y + BAR_HEIGHT / 2 + 4;
      out.push(text(barLeft - 6, mid, b.series, 'font-size="12" text-anchor="end"'));
      out.push(`<rect x="${px(barLeft)}" y="${px(y)}" width="${px(width)}" height="${BAR_HEIGHT}" fill="${b.colour}"/>`);
      out.push(text(barLeft + width + 6, mid, Number.isFinite(b.value) ? formatNumber(b.value, p.decimals) : 'n/a', 'font-size="12"'));
      y += BAR_HEIGHT + BAR_GAP;
    }
    y += GROUP_GAP;
  }
  return out;
}

export function chartSvg(r: BenchResults): string {
  const panels = [throughputPanel(r.throughput), latencyPanel(r.latency)].filter((p): p is Panel => p !== undefined);
  if (panels.length === 0) return svgDocument(360, 40, CHART_TITLE, [text(MARGIN, 25, 'no throughput or latency measured', 'font-size="13"')]);
  const body: string[] = [];
  let top = MARGIN;
  for (const p of panels) {
    body.push(...drawPanel(p, top));
    top += panelHeight(p) + PANEL_GAP;
  }
  return svgDocument(WIDTH, top - PANEL_GAP + MARGIN, CHART_TITLE, body);
}
