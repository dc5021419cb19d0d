// The bench report's pictures (issue 13, section 2): what each draws is read back from the marks'
// tooltips, so these tests check values and marks, not pixels. Then the files a report writes,
// its links, and a saved run rendered again.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import t from 'tap';
import type { ScaleResult } from '../../bench/results';
import { throughputPicture } from '../../bench/report/throughput-picture';
import { latencyPicture } from '../../bench/report/latency-picture';
import { scalePicture, TUNNEL_SERIES } from '../../bench/report/scale-picture';
import { PICTURE_SUITES, suitePictures } from '../../bench/report/pictures';
import { niceTicks, tickDecimals, wrapText } from '../../bench/report/draw';
import { reportMarkdown } from '../../bench/report/markdown';
import { PUBLISHED_BASE, writeReport } from '../../bench/report/write';
import { parseSavedResults, SavedResultsError } from '../../bench/report/saved';
import { EMPTY_RUN, RESULTS, RUN, withTargets } from './fixtures/results';
import { svgProblems } from './fixtures/svg';

const KB = 1024;

interface Mark {
  readonly title: string;
  readonly attrs: Readonly<Record<string, string>>;
}

/** Every element of the class (bar, point, limit) with its attributes and the text of its <title>, in drawing order. */
function marks(svg: string, cls: string): Mark[] {
  const re = new RegExp(`<(rect|circle|line) class="${cls}"([^>]*)><title>([^<]*)</title></\\1>`, 'g');
  return [...svg.matchAll(re)].map((m) => ({
    title: m[3]
      .replace(/&quot;/g, '"')
      .replace(/&apos;/g, "'")
      .replace(/&lt;/g, '<')
      .replace(/&gt;/g, '>')
      .replace(/&amp;/g, '&'),
    attrs: Object.fromEntries([...m[2].matchAll(/([\w-]+)="([^"]*)"/g)].map((a) => [a[1], a[2]])),
  }));
}

const num = (m: Mark, attr: string): number => Number(m.attrs[attr]);

t.test('throughput: one column per path and connection count, its MB/s in its tooltip, heights in proportion', async (t) => {
  const svg = throughputPicture(RUN.throughput)!;
  t.same(svgProblems(svg), []);
  const bars = marks(svg, 'bar');
  t.same(
    bars.map((b) => b.title),
    [
      'direct TCP, 1 connection: 2,400 MB/s, 2.18x TLS',
      'direct TCP, 8 connections: 3,900 MB/s, 1.50x TLS',
      'TLS 1.3 hop, 1 connection: 1,100 MB/s',
      'TLS 1.3 hop, 8 connections: 2,600 MB/s',
      'one HBONE stream, 1 connection: 990 MB/s, 0.90x TLS',
      'one HBONE stream, 8 connections: 2,100 MB/s, 0.81x TLS',
      'L4 mesh (ztunnel→ztunnel), 1 connection: 440 MB/s, 0.40x TLS',
      'L4 mesh (ztunnel→ztunnel), 8 connections: 900 MB/s, 0.35x TLS',
      'L7 via waypoint (HTTP upload), 1 connection: 180 MB/s, 0.16x TLS',
      'L7 via waypoint (HTTP upload), 8 connections: 350 MB/s, 0.13x TLS',
    ],
    'paths in the table order (the fixture is not), counts within each',
  );
  const tcp8 = num(bars[1], 'height');
  t.ok(Math.abs(num(bars[0], 'height') / tcp8 - 2400 / 3900) < 0.01, 'tcp 1 against tcp 8');
  t.ok(Math.abs(num(bars[9], 'height') / tcp8 - 350 / 3900) < 0.01, 'l7 8 against tcp 8');
  t.equal(new Set(bars.map((b) => b.attrs.fill)).size, 2, 'one colour per connection count');
  t.equal(bars[0].attrs.fill, bars[2].attrs.fill, '1 connection is one colour across paths');
  for (const text of [
    '>Throughput by path<',
    '>1 connection<',
    '>8 connections<',
    '>MB/s (10⁶ bytes per second)<',
    '>3,900<',
    '>Median of 3 repetitions, 1,024 MiB each',
  ]) {
    t.ok(svg.includes(text), text);
  }
  // The axis reaches past the largest value, in round steps.
  t.ok(svg.includes('>4,000<') && !svg.includes('>4,500<'), 'ticks to 4,000');
  t.equal(throughputPicture(RUN.throughput), svg, 'deterministic');
  t.equal(throughputPicture([]), undefined, 'no throughput, no picture');
});

t.test('throughput: a path that was not run has no column and no label', async (t) => {
  const svg = throughputPicture(RUN.throughput.filter((x) => x.path !== 'l7'))!;
  t.equal(marks(svg, 'bar').length, 8);
  t.notMatch(svg, /L7 via waypoint/);
  t.same(
    marks(throughputPicture([...RUN.throughput].reverse())!, 'bar').map((b) => b.title),
    marks(throughputPicture(RUN.throughput)!, 'bar').map((b) => b.title),
    'the order of the results does not change the picture: fewest connections first',
  );
});

t.test('latency: p50, p90 and p99 for each path and generator side by side, with the added ms and the p90 targets on paced', async (t) => {
  const svg = latencyPicture(RUN.latency)!;
  t.same(svgProblems(svg), []);
  const bars = marks(svg, 'bar');
  t.same(
    bars.map((b) => b.title),
    [
      'direct, paced p50: 0.620 ms',
      'direct, paced p90: 1.050 ms',
      'direct, paced p99: 1.600 ms',
      'direct, autocannon p50: 0.210 ms',
      'direct, autocannon p90: 0.350 ms',
      'direct, autocannon p99: 0.910 ms',
      'L4 mesh, paced p50: 0.930 ms (+0.310 ms over direct)',
      'L4 mesh, paced p90: 1.440 ms (+0.390 ms over direct)',
      'L4 mesh, paced p99: 2.900 ms (+1.300 ms over direct)',
      'L4 mesh, autocannon p50: 0.480 ms (+0.270 ms over direct)',
      'L4 mesh, autocannon p90: 0.760 ms (+0.410 ms over direct)',
      'L4 mesh, autocannon p99: 1.900 ms (+0.990 ms over direct)',
      'L7 waypoint, paced p50: 1.700 ms (+1.080 ms over direct)',
      'L7 waypoint, paced p90: 2.680 ms (+1.630 ms over direct)',
      'L7 waypoint, paced p99: 5.100 ms (+3.500 ms over direct)',
      'L7 waypoint, autocannon p50: 1.350 ms (+1.140 ms over direct)',
      'L7 waypoint, autocannon p90: 2.060 ms (+1.710 ms over direct)',
      'L7 waypoint, autocannon p99: 4.100 ms (+3.190 ms over direct)',
    ],
  );
  t.same(
    bars.slice(0, 3).map((b) => b.attrs.fill),
    [bars[3].attrs.fill, bars[4].attrs.fill, bars[5].attrs.fill],
    'a percentile keeps its colour across paths and generators',
  );
  const limits = marks(svg, 'limit');
  t.same(
    limits.map((l) => l.title),
    ['target: L4 mesh, paced p90 at most 0.5 ms over direct, 1.550 ms', 'target: L7 waypoint, paced p90 at most 1.5 ms over direct, 2.550 ms'],
    "the binding lines, over paced direct's p90",
  );
  // L4 is under its line, L7 over it: the column's top is above (a smaller y than) the line.
  const top = (b: Mark) => num(b, 'y');
  t.ok(top(bars[7]) > num(limits[0], 'y1'), 'L4 paced p90 stands below its target');
  t.ok(top(bars[13]) < num(limits[1], 'y1'), 'L7 paced p90 stands above its target');
  t.ok(svg.includes('p90 target (paced): direct&apos;s p90 +0.5 ms (L4 mesh), +1.5 ms (L7 waypoint)'), 'the legend says what the dashed line is');
  t.ok(svg.includes('1,000 requests/s over 16 connections, 1,024 B payloads; median of 3 repetitions.'));
  // The subtitle wraps: read its lines as one.
  const words = [...svg.matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map((m) => m[1]).join(' ');
  t.ok(words.includes('paced: open loop, timed from each intended send'), 'the subtitle says how each generator times');
  t.ok(words.includes('autocannon: closed loop, timed from the actual send'));
  t.ok(svg.includes('>milliseconds per request<'));
  t.equal(latencyPicture([]), undefined, 'no latency, no picture');

  const noDirect = latencyPicture(RUN.latency.filter((l) => l.path !== 'direct'))!;
  t.equal(marks(noDirect, 'bar').length, 12);
  t.equal(marks(noDirect, 'limit').length, 0, 'no direct run, nothing to state the target against');

  const older = latencyPicture(RUN.latency.filter((l) => l.generator === 'autocannon'))!;
  t.equal(marks(older, 'bar').length, 9, 'a run from before the paced generator: its autocannon columns');
  t.equal(marks(older, 'limit').length, 0, 'no paced run, no binding line');
  t.notMatch(older, /paced: open loop/);
});

t.test('latency: drawn at the rate the targets are stated at when there are several', async (t) => {
  const other = RUN.latency.map((l) => ({ ...l, targetRps: 500, ms: { p50: 9, p90: 9, p99: 9 } }));
  const svg = latencyPicture([...other, ...RUN.latency])!;
  t.equal(marks(svg, 'bar').length, 18);
  t.notMatch(svg, /9\.000 ms/);
  t.match(svg, />1,000 requests\/s/);
});

t.test('scale: KB per idle connection by process and for the tunnel, at each count, left to right', async (t) => {
  const svg = scalePicture(RUN.scale)!;
  t.same(svgProblems(svg), []);
  const points = marks(svg, 'point');
  t.same(
    points.map((p) => p.title),
    [
      'ztunnel-node-a at 1,000 connections: 7.4 KB per connection (RSS grew 7.2 MB)',
      'ztunnel-node-a at 10,000 connections: 6.1 KB per connection (RSS grew 59.6 MB)',
      'ztunnel-node-b at 1,000 connections: 7.5 KB per connection (RSS grew 7.3 MB)',
      'ztunnel-node-b at 10,000 connections: 6.2 KB per connection (RSS grew 60.5 MB)',
      'sink at 1,000 connections: 1.9 KB per connection (RSS grew 1.9 MB)',
      'sink at 10,000 connections: 1.4 KB per connection (RSS grew 13.7 MB)',
      `${TUNNEL_SERIES} at 1,000 connections: 14.9 KB per connection (RSS grew 14.6 MB)`,
      `${TUNNEL_SERIES} at 10,000 connections: 12.3 KB per connection (RSS grew 120.1 MB)`,
    ],
    'sorted by count (the fixture is not), processes in first-seen order, the tunnel last',
  );
  t.ok(num(points[0], 'cx') < num(points[1], 'cx'), 'more connections further right');
  t.equal(num(points[0], 'cx'), num(points[6], 'cx'), 'one count, one x');
  t.ok(num(points[7], 'cy') < num(points[5], 'cy'), 'the tunnel (12.3 KB) above the sink (1.4 KB)');
  t.equal(svg.match(/<path d="M/g)?.length, 4, 'a line per series');
  t.same(
    marks(svg, 'limit').map((l) => l.title),
    ['target: the tunnel at most 16 KB per idle connection'],
  );
  t.ok(num(marks(svg, 'limit')[0], 'y1') < num(points[6], 'cy'), 'both tunnel points under the 16 KB line');
  for (const text of [
    '>RSS per idle connection as connections grow<',
    '>KB of RSS growth per connection<',
    '>idle connections held open (log scale)<',
    '>1,000<',
    '>10,000<',
    '>12.3 KB<',
  ]) {
    t.ok(svg.includes(text), text);
  }
  t.equal(scalePicture([]), undefined, 'no scale run, no picture');
});

t.test('scale: one count draws points and no lines; a shrinking process reads as such', async (t) => {
  const one: ScaleResult = { connections: 1000, bytesPerConnection: { 'ztunnel-node-a': -0.5 * KB }, tunnelBytesPerConnection: 20 * KB, openSeconds: 1 };
  const svg = scalePicture([one])!;
  t.same(svgProblems(svg), []);
  t.same(
    marks(svg, 'point').map((p) => p.title),
    [
      'ztunnel-node-a at 1,000 connections: -0.5 KB per connection (RSS fell 0.5 MB)',
      `${TUNNEL_SERIES} at 1,000 connections: 20.0 KB per connection (RSS grew 19.5 MB)`,
    ],
  );
  t.notMatch(svg, /<path /);
  t.ok(num(marks(svg, 'limit')[0], 'y1') > num(marks(svg, 'point')[1], 'cy'), 'a tunnel over its target is drawn above the line');
});

t.test('text from the results is escaped in labels and tooltips', async (t) => {
  const odd: ScaleResult[] = RUN.scale.map((s) => ({ ...s, bytesPerConnection: { ...s.bytesPerConnection, ['<sink & "co">']: 2 * KB } }));
  const svg = scalePicture(odd)!;
  t.same(svgProblems(svg), []);
  t.ok(svg.includes('&lt;sink &amp; &quot;co&quot;&gt;'), 'the legend label, escaped');
  t.notMatch(svg, /<sink/);
  t.ok(
    marks(svg, 'point').some((p) => p.title === '<sink & "co"> at 10,000 connections: 2.0 KB per connection (RSS grew 19.5 MB)'),
    'the tooltip reads back as the name',
  );
});

t.test('a suite that did not run draws no picture', async (t) => {
  t.same(Object.keys(suitePictures(RESULTS)), ['throughput', 'latency', 'scale']);
  t.same(suitePictures(withTargets(EMPTY_RUN)), {});
  t.same(Object.keys(suitePictures(withTargets({ ...EMPTY_RUN, latency: RUN.latency }))), ['latency']);
  t.same(Object.keys(suitePictures(withTargets({ ...EMPTY_RUN, scale: RUN.scale, throughput: RUN.throughput }))), ['throughput', 'scale']);
  t.same(PICTURE_SUITES, ['throughput', 'latency', 'scale']);
});

t.test('drawing helpers: round ticks past the largest value, decimals to tell them apart, wrapped labels', async (t) => {
  t.same(niceTicks(14.674), [0, 5, 10, 15]);
  t.same(niceTicks(1869), [0, 500, 1000, 1500, 2000]);
  t.same(niceTicks(3900), [0, 1000, 2000, 3000, 4000]);
  t.same(niceTicks(0.9), [0, 0.2, 0.4, 0.6, 0.8, 1]);
  t.same(niceTicks(20), [0, 5, 10, 15, 20], 'a value on a tick ends there');
  t.same(niceTicks(0), [0, 1]);
  t.same(niceTicks(NaN), [0, 1]);
  t.equal(tickDecimals([0, 0.2, 0.4]), 1);
  t.equal(tickDecimals([0, 0.05, 0.1]), 2);
  t.equal(tickDecimals([0, 500]), 0);
  t.same(wrapText('L4 mesh (ztunnel→ztunnel)', 12, 120), ['L4 mesh', '(ztunnel→ztunnel)']);
  t.same(wrapText('direct TCP', 12, 120), ['direct TCP']);
});

t.test('markdown: each picture under its suite, before the table; none for a suite not run', async (t) => {
  const pictures = { throughput: 'R-throughput.svg', latency: 'R-latency.svg', scale: 'R (1)-scale.svg' };
  const md = reportMarkdown(RESULTS, 'R.svg', pictures);
  t.ok(md.includes('### Throughput\n\n![throughput by path](R-throughput.svg)\n\n| path | conns | MB/s |'));
  t.ok(md.includes('### Latency\n\n![latency percentiles by path](R-latency.svg)\n\n| path | load | target rps |'));
  t.ok(md.includes('### Idle connections\n\n![RSS per idle connection as connections grow](<R (1)-scale.svg>)\n\n| connections |'));
  t.equal(md.match(/!\[/g)?.length, 4, 'the chart and three pictures');
  t.notMatch(md, /### Cost\n\n!\[/, 'cost shares the latency runs but not its picture');

  const without = reportMarkdown(RESULTS, 'R.svg');
  t.equal(without.match(/!\[/g)?.length, 1, 'no pictures given: only the chart');
  // An image line, its target plain or in angle brackets (which may hold parentheses).
  const image = /!\[[^\]]*\]\((<[^>]*>|[^)]*)\)\n\n/g;
  t.equal(md.replace(image, ''), without.replace(image, ''), 'the pictures are all that changes');

  const latencyOnly = reportMarkdown(withTargets({ ...EMPTY_RUN, latency: RUN.latency }), 'R.svg', { latency: 'R-latency.svg' });
  t.notMatch(latencyOnly, /throughput by path|R-scale/);
});

/** The file names the report links to, images and plain links alike. */
function links(md: string): string[] {
  return [...md.matchAll(/\]\(<?([^)>]+)>?\)/g)].map((m) => m[1]).filter((l) => !/^https?:/.test(l));
}

t.test('a published report: REPORT.md, its chart and a picture per suite, every link a file beside it', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hbone-bench-pictures-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const written = writeReport(RESULTS, dir, PUBLISHED_BASE);
  t.equal(written.report, path.join(dir, 'REPORT.md'));
  t.same(fs.readdirSync(dir).sort(), ['REPORT-latency.svg', 'REPORT-scale.svg', 'REPORT-throughput.svg', 'REPORT.md', 'REPORT.svg']);
  const md = fs.readFileSync(written.report, 'utf8');
  t.same(links(md), ['REPORT.svg', 'REPORT-throughput.svg', 'REPORT-latency.svg', 'REPORT-scale.svg']);
  for (const l of links(md)) {
    t.ok(fs.existsSync(path.join(dir, l)), `${l} exists`);
    t.same(svgProblems(fs.readFileSync(path.join(dir, l), 'utf8')), [], `${l} is well-formed`);
  }
  t.equal(fs.readFileSync(path.join(dir, 'REPORT-latency.svg'), 'utf8'), latencyPicture(RESULTS.latency));

  // Published again from a run without throughput or scale: their old pictures go, with their links.
  writeReport(withTargets({ ...EMPTY_RUN, latency: RUN.latency }), dir, PUBLISHED_BASE);
  t.same(fs.readdirSync(dir).sort(), ['REPORT-latency.svg', 'REPORT.md', 'REPORT.svg']);
  t.same(links(fs.readFileSync(path.join(dir, 'REPORT.md'), 'utf8')), ['REPORT.svg', 'REPORT-latency.svg']);

  // A run's own report sits under its stamp.
  writeReport(RESULTS, path.join(dir, 'results'), '20261126T091402Z');
  t.same(fs.readdirSync(path.join(dir, 'results')).sort(), [
    '20261126T091402Z-latency.svg',
    '20261126T091402Z-scale.svg',
    '20261126T091402Z-throughput.svg',
    '20261126T091402Z.md',
    '20261126T091402Z.svg',
  ]);
});

t.test('a saved run renders as it did: the same report from its JSON, older files without a suite', async (t) => {
  const saved = parseSavedResults(JSON.stringify(RESULTS, null, 2), 'run.json');
  t.same(saved, RESULTS);
  t.equal(reportMarkdown(saved, 'R.svg', { latency: 'l.svg' }), reportMarkdown(RESULTS, 'R.svg', { latency: 'l.svg' }));

  const { hostile: _hostile, targets: _targets, ...older } = RESULTS;
  const old = parseSavedResults(JSON.stringify(older), 'old.json');
  t.same(old.hostile, [], 'no hostile field: the suite did not run');
  t.equal(old.targets.length, 19, 'no targets: judged now (seventeen and two info rows)');
  t.equal(old.targets.find((x) => x.id === 'rapid-reset-p50')?.met, null);

  // Latency runs saved before the paced generator were autocannon's: read as such.
  const beforePaced = { ...older, latency: RESULTS.latency.filter((l) => l.generator === 'autocannon').map(({ generator: _g, ...l }) => l) };
  const read = parseSavedResults(JSON.stringify(beforePaced), 'before-paced.json');
  t.same(
    read.latency.map((l) => l.generator),
    ['autocannon', 'autocannon', 'autocannon'],
  );
  t.equal(read.targets.find((x) => x.id === 'l4-p90-added')?.met, null, 'the paced target: not measured');
  t.equal(read.targets.find((x) => x.id === 'l4-p90-added-autocannon')?.value, 0.41);

  t.throws(() => parseSavedResults('{', 'x.json'), SavedResultsError);
  t.throws(() => parseSavedResults('{"bench":"other"}', 'x.json'), /not the results of an hbone-sim bench run/);
  t.throws(() => parseSavedResults(JSON.stringify({ ...RESULTS, scale: 3 }), 'x.json'), /scale is not a list/);
  t.throws(() => parseSavedResults(JSON.stringify({ bench: 'hbone-sim' }), 'x.json'), /x\.json has no startedAt/);
});
