// The scale suite's picture: KB of RSS each idle tunneled connection costs, by process, against
// how many are held open. A cost that falls as connections grow is a fixed overhead being shared
// out; one that stays flat is truly per connection. The 16 KB target is drawn across.
import type { ScaleResult } from '../results';
import {
  GRID_COLOUR,
  MUTED_COLOUR,
  PALETTE,
  TEXT_COLOUR,
  heading,
  legend,
  niceTicks,
  px,
  svgDocument,
  text,
  tickDecimals,
  tooltip,
  type LegendEntry,
} from './draw';
import { formatNumber, IDLE_CONNECTION_MAX_KB } from './targets';

export const SCALE_PICTURE_TITLE = 'RSS per idle connection as connections grow';
export const TUNNEL_SERIES = 'tunnel (both ztunnels)';
const WIDTH = 720;
const MARGIN = 16;
const PLOT_HEIGHT = 260;
const AXIS_TITLE_WIDTH = 20;
const TICK_LABEL_WIDTH = 40;
/** Points stay this far inside the plot's sides, so none sits on the axis. */
const X_INSET = 48;
/** Above the plot: room for a value label over the top point. */
const TOP_ROOM = 16;
const X_AXIS_ROOM = 44;
const POINT_RADIUS = 4;
const LINE_WIDTH = 2;
/** The tunnel is what the target is about: drawn heavier, its values written by its points. */
const TUNNEL_LINE_WIDTH = 3;
const TUNNEL_COLOUR = TEXT_COLOUR;
const TARGET_COLOUR = '#cf222e';
const KB = 1024;
const MB = 2 ** 20;
const Y_AXIS_TITLE = 'KB of RSS growth per connection';
const X_AXIS_TITLE = 'idle connections held open (log scale)';

interface Series {
  readonly name: string;
  readonly colour: string;
  readonly width: number;
  /** [connections, bytes per connection], by connections. */
  readonly points: readonly (readonly [number, number])[];
}

function seriesOf(rows: readonly ScaleResult[]): Series[] {
  const names: string[] = [];
  for (const r of rows) for (const n of Object.keys(r.bytesPerConnection)) if (!names.includes(n)) names.push(n);
  const byProcess = names.map((name, i) => ({
    name,
    colour: PALETTE[i % PALETTE.length],
    width: LINE_WIDTH,
    points: rows.flatMap((r) => (r.bytesPerConnection[name] === undefined ? [] : [[r.connections, r.bytesPerConnection[name]] as const])),
  }));
  const tunnel = {
    name: TUNNEL_SERIES,
    colour: TUNNEL_COLOUR,
    width: TUNNEL_LINE_WIDTH,
    points: rows.map((r) => [r.connections, r.tunnelBytesPerConnection] as const),
  };
  return [...byProcess, tunnel];
}

/** The picture, or undefined when the suite did not run. */
export function scalePicture(results: readonly ScaleResult[]): string | undefined {
  if (results.length === 0) return undefined;
  const rows = [...results].sort((a, b) => a.connections - b.connections);
  const series = seriesOf(rows);
  const body: string[] = [];
  const counts = rows.map((r) => r.connections);
  const head = heading(
    SCALE_PICTURE_TITLE,
    `RSS after opening N idle connections through the L4 capture, minus RSS before, divided by N; median over the repetitions, each on a fresh mesh. Lower is better.`,
    MARGIN,
    MARGIN,
    WIDTH - 2 * MARGIN,
  );
  body.push(...head.marks);
  const entries: LegendEntry[] = [
    ...series.map((s) => ({ label: s.name, colour: s.colour, line: true })),
    { label: `target: tunnel at most ${IDLE_CONNECTION_MAX_KB} KB`, colour: TARGET_COLOUR, line: true, dashed: true },
  ];
  const key = legend(entries, MARGIN, MARGIN + head.height + 8, WIDTH - MARGIN);
  body.push(...key.marks);

  const plotLeft = MARGIN + AXIS_TITLE_WIDTH + TICK_LABEL_WIDTH;
  const plotRight = WIDTH - MARGIN;
  const plotTop = MARGIN + head.height + 8 + key.height + TOP_ROOM;
  const plotBottom = plotTop + PLOT_HEIGHT;
  const kbs = series.flatMap((s) => s.points.map(([, b]) => b / KB)).filter((v) => Number.isFinite(v));
  const ticks = niceTicks(Math.max(IDLE_CONNECTION_MAX_KB, ...kbs));
  const top = ticks[ticks.length - 1];
  // Growth can be slightly negative (a collection between readings); it is drawn at zero, and its tooltip says so.
  const y = (kb: number) => plotBottom - (Math.min(top, Math.max(0, kb)) / top) * PLOT_HEIGHT;
  // Counts grow by factors (1,000 then 10,000), so their logarithms are spaced evenly.
  const lo = Math.log10(counts[0]);
  const hi = Math.log10(counts[counts.length - 1]);
  const x = (n: number) =>
    hi === lo ? (plotLeft + plotRight) / 2 : plotLeft + X_INSET + ((Math.log10(n) - lo) / (hi - lo)) * (plotRight - plotLeft - 2 * X_INSET);
  const decimals = tickDecimals(ticks);

  for (const t of ticks) {
    body.push(`<line x1="${px(plotLeft)}" y1="${px(y(t))}" x2="${px(plotRight)}" y2="${px(y(t))}" stroke="${GRID_COLOUR}" stroke-width="1"/>`);
    body.push(text(plotLeft - 6, y(t) + 4, formatNumber(t, decimals), 'font-size="11" text-anchor="end"', MUTED_COLOUR));
  }
  for (const n of counts) {
    body.push(`<line x1="${px(x(n))}" y1="${px(plotBottom)}" x2="${px(x(n))}" y2="${px(plotBottom + 5)}" stroke="${TEXT_COLOUR}" stroke-width="1"/>`);
    body.push(text(x(n), plotBottom + 18, formatNumber(n, 0), 'font-size="12" text-anchor="middle"'));
  }
  body.push(`<line x1="${px(plotLeft)}" y1="${px(plotBottom)}" x2="${px(plotRight)}" y2="${px(plotBottom)}" stroke="${TEXT_COLOUR}" stroke-width="1"/>`);
  body.push(text((plotLeft + plotRight) / 2, plotBottom + 38, X_AXIS_TITLE, 'font-size="12" text-anchor="middle"'));
  const axisMid = (plotTop + plotBottom) / 2;
  const axisX = MARGIN + 12;
  body.push(text(axisX, axisMid, Y_AXIS_TITLE, `font-size="12" text-anchor="middle" transform="rotate(-90 ${px(axisX)} ${px(axisMid)})"`));

  const targetY = y(IDLE_CONNECTION_MAX_KB);
  body.push(
    `<line class="limit" x1="${px(plotLeft)}" y1="${px(targetY)}" x2="${px(plotRight)}" y2="${px(targetY)}" stroke="${TARGET_COLOUR}" stroke-width="2" stroke-dasharray="6 4">${tooltip(`target: the tunnel at most ${IDLE_CONNECTION_MAX_KB} KB per idle connection`)}</line>`,
  );

  for (const s of series) {
    if (s.points.length > 1) {
      const d = s.points.map(([n, b], i) => `${i === 0 ? 'M' : 'L'}${px(x(n))} ${px(y(b / KB))}`).join(' ');
      body.push(`<path d="${d}" fill="none" stroke="${s.colour}" stroke-width="${s.width}" stroke-linejoin="round"/>`);
    }
    for (const [n, b] of s.points) {
      const kb = b / KB;
      const what = `${s.name} at ${formatNumber(n, 0)} connections: ${formatNumber(kb, 1)} KB per connection (RSS ${b < 0 ? 'fell' : 'grew'} ${formatNumber(Math.abs(b * n) / MB, 1)} MB)`;
      body.push(
        `<circle class="point" cx="${px(x(n))}" cy="${px(y(kb))}" r="${POINT_RADIUS}" fill="${s.colour}" stroke="#ffffff" stroke-width="1">${tooltip(what)}</circle>`,
      );
      if (s.name === TUNNEL_SERIES) body.push(text(x(n) + 8, y(kb) - 8, `${formatNumber(kb, 1)} KB`, 'font-size="12" font-weight="bold"'));
    }
  }
  return svgDocument(WIDTH, plotBottom + X_AXIS_ROOM + MARGIN, SCALE_PICTURE_TITLE, body);
}
