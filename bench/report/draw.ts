// The SVG pieces every bench picture is built from: escaped text, a white document, a value axis
// with round ticks, a legend that wraps, labels that wrap. No library and nothing fetched, so a
// picture is the same bytes for the same results and GitHub shows it inline.

export const FONT = 'font-family="sans-serif"';
export const TEXT_COLOUR = '#24292f';
/** Secondary text (subtitles, tick labels): still dark enough on white. */
export const MUTED_COLOUR = '#57606a';
export const GRID_COLOUR = '#d0d7de';
/** A white ground, so dark text stays readable on GitHub's dark theme. */
export const BACKGROUND = '#ffffff';
/** One colour per series, told apart without relying on red and green. */
export const PALETTE = ['#4c78a8', '#f58518', '#54a24b', '#b279a2', '#e45756', '#72b7b2', '#9d755d', '#eeca3b'];
/**
 * sans-serif averages a little over half an em per character; layout that must not overlap
 * (legend, wrapped labels) budgets this much, so a wide font still fits.
 */
const CHAR_WIDTH_EM = 0.56;
const LEGEND_SWATCH = 12;
const LEGEND_GAP = 18;
const LEGEND_ROW = 18;

export function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;');
}

/** One decimal is finer than a pixel needs and keeps the output short and stable. */
export const px = (n: number): string => String(Math.round(n * 10) / 10);

export function text(x: number, y: number, content: string, attrs = '', colour = TEXT_COLOUR): string {
  return `<text x="${px(x)}" y="${px(y)}" ${FONT} fill="${colour}"${attrs ? ' ' + attrs : ''}>${escapeXml(content)}</text>`;
}

/** A tooltip: the browser shows it on hover, and tests read the value drawn from it. */
export function tooltip(content: string): string {
  return `<title>${escapeXml(content)}</title>`;
}

export function svgDocument(width: number, height: number, title: string, body: readonly string[]): string {
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${px(height)}" viewBox="0 0 ${width} ${px(height)}" role="img">`,
    tooltip(title),
    `<rect x="0" y="0" width="${width}" height="${px(height)}" fill="${BACKGROUND}"/>`,
    ...body,
    '</svg>',
    '',
  ].join('\n');
}

export function textWidth(content: string, fontSize: number): number {
  return [...content].length * fontSize * CHAR_WIDTH_EM;
}

/** Words into lines no wider than `width`; a single word longer than that keeps a line of its own. */
export function wrapText(content: string, fontSize: number, width: number): string[] {
  const lines: string[] = [];
  for (const word of content.split(/\s+/).filter((w) => w !== '')) {
    const last = lines.length - 1;
    if (last >= 0 && textWidth(`${lines[last]} ${word}`, fontSize) <= width) lines[last] = `${lines[last]} ${word}`;
    else lines.push(word);
  }
  return lines;
}

/**
 * Ticks from zero to at least `max`: steps of 1, 2 or 5 times a power of ten, about `count` of
 * them, so gridlines fall on numbers a reader can add in their head.
 */
export function niceTicks(max: number, count = 5): number[] {
  if (!Number.isFinite(max) || max <= 0) return [0, 1];
  const rough = max / count;
  const power = 10 ** Math.floor(Math.log10(rough));
  const step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= rough) ?? 10 * power;
  const ticks: number[] = [];
  for (let i = 0; ticks.length === 0 || ticks[ticks.length - 1] < max; i++) ticks.push(Number((i * step).toPrecision(12)));
  return ticks;
}

/** Decimals a tick label needs to tell its ticks apart (0.5 steps need one, 20 steps none). */
export function tickDecimals(ticks: readonly number[]): number {
  const step = ticks.length > 1 ? ticks[1] - ticks[0] : 1;
  return step >= 1 ? 0 : Math.min(6, Math.ceil(-Math.log10(step) - 1e-9));
}

export interface LegendEntry {
  readonly label: string;
  readonly colour: string;
  /** Drawn as a line with a dot (a line chart's series) rather than a square (a bar's). */
  readonly line?: boolean;
  readonly dashed?: boolean;
}

/** Entries left to right from (left, top), onto a new row when the next would pass `right`. Returns the marks and the height used. */
export function legend(entries: readonly LegendEntry[], left: number, top: number, right: number, fontSize = 12): { marks: string[]; height: number } {
  const marks: string[] = [];
  let x = left;
  let y = top;
  for (const e of entries) {
    const width = LEGEND_SWATCH + 6 + textWidth(e.label, fontSize);
    if (x > left && x + width > right) {
      x = left;
      y += LEGEND_ROW;
    }
    const mid = y + LEGEND_SWATCH / 2;
    if (e.line) {
      const dash = e.dashed ? ' stroke-dasharray="5 3"' : '';
      marks.push(`<line x1="${px(x)}" y1="${px(mid)}" x2="${px(x + LEGEND_SWATCH)}" y2="${px(mid)}" stroke="${e.colour}" stroke-width="2"${dash}/>`);
      if (!e.dashed) marks.push(`<circle cx="${px(x + LEGEND_SWATCH / 2)}" cy="${px(mid)}" r="3" fill="${e.colour}"/>`);
    } else {
      marks.push(`<rect x="${px(x)}" y="${px(y)}" width="${LEGEND_SWATCH}" height="${LEGEND_SWATCH}" fill="${e.colour}"/>`);
    }
    marks.push(text(x + LEGEND_SWATCH + 6, mid + fontSize * 0.35, e.label, `font-size="${fontSize}"`));
    x += width + LEGEND_GAP;
  }
  return { marks, height: entries.length === 0 ? 0 : y - top + LEGEND_ROW };
}

const TITLE_SIZE = 16;
const SUBTITLE_SIZE = 12;
const SUBTITLE_LINE = 16;

/** A title in bold and, under it, muted lines saying what was measured and how. Returns the marks and the height used. */
export function heading(title: string, subtitle: string, left: number, top: number, width: number): { marks: string[]; height: number } {
  const marks = [text(left, top + TITLE_SIZE, title, `font-size="${TITLE_SIZE}" font-weight="bold"`)];
  const lines = wrapText(subtitle, SUBTITLE_SIZE, width);
  lines.forEach((line, i) => marks.push(text(left, top + TITLE_SIZE + 6 + (i + 1) * SUBTITLE_LINE - 4, line, `font-size="${SUBTITLE_SIZE}"`, MUTED_COLOUR)));
  return { marks, height: TITLE_SIZE + 6 + lines.length * SUBTITLE_LINE };
}
