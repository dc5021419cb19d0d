// The report's chart: throughput and latency of each path as labelled horizontal bars, one
// self-contained SVG that GitHub shows inline. Same results, same bytes: no dates, no ids.
import type { BenchResults, LatencyResult, ThroughputResult } from '../results';
import { formatNumber } from './targets';
import { REQUEST_LABELS, REQUEST_ORDER, THROUGHPUT_LABELS, THROUGHPUT_ORDER } from './table';

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
const FONT = 'font-family="sans-serif"';
const TEXT_COLOUR = '#24292f';
/** A white ground, so dark text stays readable on GitHub's dark theme. */
const BACKGROUND = '#ffffff';
/** One colour per series, told apart without relying on red and green. */
const PALETTE = ['#4c78a8', '#f58518', '#54a24b', '#b279a2'];
/** The latency panel prefers the rate the targets are stated at. */
const PREFERRED_RPS = 1000;

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

export function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;');
}

/** One decimal is finer than a pixel needs and keeps the output short and stable. */
const px = (n: number): string => String(Math.round(n * 10) / 10);

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
  const rates = results.map((l) => l.targetRps);
  const rps = rates.includes(PREFERRED_RPS) ? PREFERRED_RPS : Math.min(...rates);
  const groups = REQUEST_ORDER.flatMap((path) => {
    const l = results.find((x) => x.path === path && x.targetRps === rps);
    if (!l) return [];
    const bars = (['p50', 'p90', 'p99'] as const).map((p, i) => ({ series: p, colour: PALETTE[i % PALETTE.length], value: l.ms[p] }));
    return [{ label: REQUEST_LABELS[path], bars }];
  });
  return { title: `Latency at ${formatNumber(rps, 0)} rps, ms`, groups, decimals: 3 };
}

function panelHeight(p: Panel): number {
  return PANEL_TITLE + p.groups.reduce((h, g) => h + GROUP_HEADER + g.bars.length * (BAR_HEIGHT + BAR_GAP) + GROUP_GAP, 0);
}

function text(x: number, y: number, content: string, attrs = ''): string {
  return `<text x="${px(x)}" y="${px(y)}" ${FONT} fill="${TEXT_COLOUR}"${attrs ? ' ' + attrs : ''}>${escapeXml(content)}</text>`;
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

function svg(width: number, height: number, body: readonly string[]): string {
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${px(height)}" viewBox="0 0 ${width} ${px(height)}" role="img">`,
    '<title>hbone-sim: paths compared</title>',
    `<rect x="0" y="0" width="${width}" height="${px(height)}" fill="${BACKGROUND}"/>`,
    ...body,
    '</svg>',
    '',
  ].join('\n');
}

export function chartSvg(r: BenchResults): string {
  const panels = [throughputPanel(r.throughput), latencyPanel(r.latency)].filter((p): p is Panel => p !== undefined);
  if (panels.length === 0) return svg(360, 40, [text(MARGIN, 25, 'no throughput or latency measured', 'font-size="13"')]);
  const body: string[] = [];
  let top = MARGIN;
  for (const p of panels) {
    body.push(...drawPanel(p, top));
    top += panelHeight(p) + PANEL_GAP;
  }
  return svg(WIDTH, top - PANEL_GAP + MARGIN, body);
}
