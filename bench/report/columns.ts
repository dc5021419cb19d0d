// A grouped column chart: one group per path, one column per series (a connection count, a
// percentile), a value axis from zero with gridlines, the value over each column and in its
// tooltip. The throughput and latency pictures are this chart with their own data.
import {
  GRID_COLOUR,
  MUTED_COLOUR,
  TEXT_COLOUR,
  heading,
  legend,
  niceTicks,
  px,
  svgDocument,
  text,
  textWidth,
  tickDecimals,
  tooltip,
  wrapText,
  type LegendEntry,
} from './draw';
import { formatNumber } from './targets';

/** Readable at ~700 px: GitHub's content column is about this wide. */
const WIDTH = 720;
const MARGIN = 16;
const PLOT_HEIGHT = 260;
/** Left of the plot: the rotated axis title, then the tick labels right-aligned against the axis. */
const AXIS_TITLE_WIDTH = 20;
const TICK_LABEL_WIDTH = 48;
/** Above the plot: room for the value over a column that reaches the top tick. */
const VALUE_LABEL_ROOM = 16;
/** Share of a group's width left empty between groups. */
const GROUP_PADDING = 0.22;
const GROUP_LABEL_SIZE = 12;
const GROUP_LABEL_LINE = 15;
const VALUE_LABEL_SIZE = 11;
const TICK_LABEL_SIZE = 11;
/** A limit is drawn a little wider than its column, so it reads as a line across it. */
const LIMIT_OVERHANG = 2;
const LIMIT_COLOUR = '#24292f';

export interface Column {
  /** Index into the chart's series: its colour and legend entry. */
  readonly series: number;
  readonly value: number;
  /** Hover text, and what tests read: the value with its unit and what it is. */
  readonly tooltip: string;
  /** Shown over the column. */
  readonly valueLabel: string;
  /** A line the value should stay under (or over), drawn across the column: a target. */
  readonly limit?: { readonly value: number; readonly tooltip: string };
}

export interface ColumnGroup {
  readonly label: string;
  readonly columns: readonly Column[];
}

export interface ColumnChart {
  readonly title: string;
  readonly subtitle: string;
  /** The value axis' title, with its unit. */
  readonly axisTitle: string;
  readonly series: readonly LegendEntry[];
  readonly groups: readonly ColumnGroup[];
  /** The legend entry for limits, when any column has one. */
  readonly limitLegend?: string;
}

export function columnChartSvg(c: ColumnChart): string {
  const body: string[] = [];
  const head = heading(c.title, c.subtitle, MARGIN, MARGIN, WIDTH - 2 * MARGIN);
  body.push(...head.marks);
  const hasLimits = c.groups.some((g) => g.columns.some((col) => col.limit));
  const entries: LegendEntry[] = [
    ...c.series,
    ...(hasLimits && c.limitLegend ? [{ label: c.limitLegend, colour: LIMIT_COLOUR, line: true, dashed: true }] : []),
  ];
  const key = legend(entries, MARGIN, MARGIN + head.height + 8, WIDTH - MARGIN);
  body.push(...key.marks);

  const plotLeft = MARGIN + AXIS_TITLE_WIDTH + TICK_LABEL_WIDTH;
  const plotRight = WIDTH - MARGIN;
  const plotTop = MARGIN + head.height + 8 + key.height + VALUE_LABEL_ROOM;
  const plotBottom = plotTop + PLOT_HEIGHT;
  const values = c.groups.flatMap((g) => g.columns.flatMap((col) => [col.value, col.limit?.value ?? 0])).filter((v) => Number.isFinite(v));
  const ticks = niceTicks(Math.max(0, ...values));
  const top = ticks[ticks.length - 1];
  const y = (v: number) => plotBottom - (Math.max(0, v) / top) * PLOT_HEIGHT;
  const decimals = tickDecimals(ticks);

  for (const t of ticks) {
    body.push(`<line x1="${px(plotLeft)}" y1="${px(y(t))}" x2="${px(plotRight)}" y2="${px(y(t))}" stroke="${GRID_COLOUR}" stroke-width="1"/>`);
    body.push(text(plotLeft - 6, y(t) + 4, formatNumber(t, decimals), `font-size="${TICK_LABEL_SIZE}" text-anchor="end"`, MUTED_COLOUR));
  }
  const axisMid = (plotTop + plotBottom) / 2;
  const axisX = MARGIN + 12;
  body.push(text(axisX, axisMid, c.axisTitle, `font-size="12" text-anchor="middle" transform="rotate(-90 ${px(axisX)} ${px(axisMid)})"`));

  const groupWidth = (plotRight - plotLeft) / Math.max(1, c.groups.length);
  let labelLines = 1;
  // Limits go on top of every column, so a neighbour drawn later cannot hide one's ends.
  const limits: string[] = [];
  c.groups.forEach((g, gi) => {
    const groupLeft = plotLeft + gi * groupWidth;
    const inner = groupWidth * (1 - GROUP_PADDING);
    const columnWidth = inner / Math.max(1, g.columns.length);
    g.columns.forEach((col, ci) => {
      const x = groupLeft + (groupWidth - inner) / 2 + ci * columnWidth;
      const colour = c.series[col.series]?.colour ?? TEXT_COLOUR;
      const h = plotBottom - y(Number.isFinite(col.value) ? col.value : 0);
      body.push(
        `<rect class="bar" x="${px(x + 1)}" y="${px(plotBottom - h)}" width="${px(columnWidth - 2)}" height="${px(h)}" fill="${colour}">${tooltip(col.tooltip)}</rect>`,
      );
      // A label wider than its column would run into the next one; the tooltip still has it.
      if (textWidth(col.valueLabel, VALUE_LABEL_SIZE) <= columnWidth + 2) {
        body.push(text(x + columnWidth / 2, plotBottom - h - 4, col.valueLabel, `font-size="${VALUE_LABEL_SIZE}" text-anchor="middle"`));
      }
      if (col.limit) {
        const ly = y(col.limit.value);
        limits.push(
          `<line class="limit" x1="${px(x - LIMIT_OVERHANG)}" y1="${px(ly)}" x2="${px(x + columnWidth + LIMIT_OVERHANG)}" y2="${px(ly)}" stroke="${LIMIT_COLOUR}" stroke-width="2" stroke-dasharray="5 3">${tooltip(col.limit.tooltip)}</line>`,
        );
      }
    });
    const lines = wrapText(g.label, GROUP_LABEL_SIZE, groupWidth - 8);
    labelLines = Math.max(labelLines, lines.length);
    lines.forEach((line, li) =>
      body.push(text(groupLeft + groupWidth / 2, plotBottom + 18 + li * GROUP_LABEL_LINE, line, `font-size="${GROUP_LABEL_SIZE}" text-anchor="middle"`)),
    );
  });
  body.push(...limits);
  body.push(`<line x1="${px(plotLeft)}" y1="${px(plotBottom)}" x2="${px(plotRight)}" y2="${px(plotBottom)}" stroke="${TEXT_COLOUR}" stroke-width="1"/>`);

  const height = plotBottom + 18 + (labelLines - 1) * GROUP_LABEL_LINE + MARGIN;
  return svgDocument(WIDTH, height, c.title, body);
}
