import t from 'tap';
import type { BenchResults, TargetResult } from '../../bench/results';
import { evaluateTargets, formatNumber, NOT_MEASURED } from '../../bench/report/targets';
import { formatTables } from '../../bench/report/table';
import { chartSvg, escapeXml } from '../../bench/report/svg';
import { reportMarkdown } from '../../bench/report/markdown';
import { EMPTY_RUN, RESULTS, RUN, withTargets } from './fixtures/results';
import { svgProblems } from './fixtures/svg';

type Run = Omit<BenchResults, 'targets'>;

const IDS = [
  'hbone-stream',
  'l4-path',
  'l4-p90-added',
  'l7-p90-added',
  'l4-p90-added-autocannon',
  'l7-p90-added-autocannon',
  'ztunnel-cost',
  'waypoint-cost',
  'waypoint-cost-x-echo',
  'new-connections',
  'idle-connection',
  'rapid-reset-p50',
  'rapid-reset-rss',
  'soak-flat',
  'push-acked',
  'page-first-paint',
  'page-weight',
  'pods-ready',
  'pods-rss',
];

function target(targets: readonly TargetResult[], id: string): TargetResult {
  const found = targets.find((x) => x.id === id);
  if (!found) throw new Error(`no target ${id}`);
  return found;
}

/** The fixture with one latency result's fields replaced. */
function withLatency(path: 'direct' | 'l4' | 'l7', change: (l: Run['latency'][number]) => Run['latency'][number]): Run {
  return { ...RUN, latency: RUN.latency.map((l) => (l.path === path ? change(l) : l)) };
}

/** Bars of the chart, each with its width, in drawing order; the background rect is left out. */
function barWidths(svg: string): number[] {
  return [...svg.matchAll(/<rect x="[\d.]+" y="[\d.]+" width="([\d.]+)" height="14"/g)].map((m) => Number(m[1]));
}

/** The lines of one section of formatTables' output, by its title. */
function sectionLines(text: string, title: string): string[] {
  const block = text.split('\n\n').find((b) => b.split('\n')[0] === title);
  if (!block) throw new Error(`no section ${title}`);
  return block.split('\n');
}

t.test('the fixture: all seventeen targets and two info rows, in order, with values, verdicts and margins', async (t) => {
  const targets = evaluateTargets(RUN);
  t.same(
    targets.map((x) => x.id),
    IDS,
  );
  const expect: Record<string, [number, boolean, string, string]> = {
    'hbone-stream': [990 / 1100, true, 'met by 0.10x', '>= 0.8x'],
    'l4-path': [440 / 1100, false, 'missed by 0.05x', '>= 0.45x'],
    // Paced: the binding lines.
    'l4-p90-added': [0.39, true, 'met by 0.11 ms', '<= 0.5 ms'],
    'l7-p90-added': [1.63, false, 'missed by 0.13 ms', '<= 1.5 ms'],
    // autocannon: the same lines, for information; the margin does not read as a verdict.
    'l4-p90-added-autocannon': [0.41, true, 'inside by 0.09 ms', '<= 0.5 ms'],
    'l7-p90-added-autocannon': [1.71, false, 'outside by 0.21 ms', '<= 1.5 ms'],
    'ztunnel-cost': [0.084, true, 'met by 0.016 vCPU', '<= 0.10 vCPU'],
    'waypoint-cost': [0.312, false, 'missed by 0.062 vCPU', '<= 0.25 vCPU'],
    // The same L7 runs' http-echo spent 0.044: the waypoint 7.09 times as much per request.
    'waypoint-cost-x-echo': [0.312 / 0.044, false, 'missed by 4.59x', '<= 2.5x'],
    'new-connections': [1912, true, 'met by 412/s', '>= 1,500/s'],
    'idle-connection': [12.3, true, 'met by 3.7 KB', '<= 16 KB'],
    // The worse victim counts: the waypoint's 104.5 ms, and its RSS 12.5% over 80 MB.
    'rapid-reset-p50': [104.5, false, 'missed by 4.50 ms', '<= 100 ms'],
    'rapid-reset-rss': [12.5, false, 'missed by 2.5 points', '<= 10%'],
    'soak-flat': [8, true, 'met by 7.0 points', '<= 15%'],
    'push-acked': [9.8, true, 'met by 90.20 ms', '<= 100 ms'],
    // The median paint is judged; the one slow load (1,104.8 ms) is in the table, not the verdict.
    'page-first-paint': [248.3, true, 'met by 751.70 ms', '<= 1,000 ms'],
    'page-weight': [29_961 / 1024, true, 'met by 70.7 KB', '<= 100 KB'],
    // Judged at 1,000 pods only; 2,150 MB is 2.10 GB of 2^30 bytes.
    'pods-ready': [12.5, true, 'met by 2.5 s', '<= 15 s'],
    'pods-rss': [2150 / 1024, false, 'missed by 0.10 GB', '<= 2 GB'],
  };
  for (const x of targets) {
    const [value, met, margin, line] = expect[x.id];
    t.ok(Math.abs((x.value ?? NaN) - value) < 1e-9, `${x.id} value ${x.value} is ${value}`);
    t.equal(x.met, met, `${x.id} met`);
    t.equal(x.margin, margin, `${x.id} margin`);
    t.equal(x.target, line, `${x.id} target`);
  }
  t.equal(target(targets, 'hbone-stream').unit, 'x TLS');
  t.equal(target(targets, 'ztunnel-cost').what, 'Cost per 1,000 rps, ztunnel');
  t.equal(target(targets, 'l4-p90-added').what, 'p90 added at 1,000 rps, L4 (paced)');
  t.equal(target(targets, 'l7-p90-added-autocannon').what, 'p90 added at 1,000 rps, L7 (autocannon, info)');
  t.same(
    targets.filter((x) => x.info).map((x) => x.id),
    ['l4-p90-added-autocannon', 'l7-p90-added-autocannon'],
    'only autocannon latency rows are info',
  );
});

t.test('latency targets judge the paced runs; autocannon alone (an older run) leaves them unmeasured', async (t) => {
  const autocannonOnly = evaluateTargets({ ...RUN, latency: RUN.latency.filter((l) => l.generator === 'autocannon') });
  t.equal(target(autocannonOnly, 'l4-p90-added').met, null);
  t.equal(target(autocannonOnly, 'l7-p90-added').met, null);
  t.equal(target(autocannonOnly, 'l7-p90-added-autocannon').value, 1.71);
  t.equal(target(autocannonOnly, 'ztunnel-cost').value, 0.084, 'the cost targets judge the autocannon runs');
  const pacedOnly = evaluateTargets({ ...RUN, latency: RUN.latency.filter((l) => l.generator === 'paced') });
  t.equal(target(pacedOnly, 'l4-p90-added').value, 0.39);
  t.equal(target(pacedOnly, 'l4-p90-added-autocannon').met, null);
  t.equal(target(pacedOnly, 'ztunnel-cost').met, null);
});

t.test('nothing run: every target and info row, none measured', async (t) => {
  const targets = evaluateTargets(EMPTY_RUN);
  t.same(
    targets.map((x) => x.id),
    IDS,
  );
  for (const x of targets) {
    t.equal(x.value, null, x.id);
    t.equal(x.met, null, x.id);
    t.equal(x.margin, NOT_MEASURED, x.id);
  }
});

t.test('exactly on the line counts as met, for >= and <= alike', async (t) => {
  const run: Run = {
    ...withLatency('l4', (l) => ({ ...l, addedMs: { ...l.addedMs, p90: 0.5 } })),
    throughput: RUN.throughput.map((x) => (x.path === 'hbone' && x.connections === 1 ? { ...x, mbPerS: 880 } : x)),
    connections: [{ ...RUN.connections[1], perSecond: 1500 }],
    scale: [{ ...RUN.scale[0], tunnelBytesPerConnection: 16 * 1024 }],
  };
  const targets = evaluateTargets(run);
  for (const id of ['hbone-stream', 'l4-p90-added', 'new-connections', 'idle-connection']) {
    t.equal(target(targets, id).met, true, id);
    t.equal(target(targets, id).margin, 'met, exactly on the line', id);
  }
});

t.test('a miss smaller than the shown digits still reads as a miss', async (t) => {
  const l4 = target(evaluateTargets(withLatency('l4', (l) => ({ ...l, addedMs: { ...l.addedMs, p90: 0.5001 } }))), 'l4-p90-added');
  t.equal(l4.met, false);
  t.equal(l4.margin, 'missed by < 0.01 ms');
  const slow = target(evaluateTargets({ ...RUN, connections: [{ ...RUN.connections[1], perSecond: 1499.7 }] }), 'new-connections');
  t.equal(slow.met, false);
  t.equal(slow.margin, 'missed by < 1/s');
});

t.test('each target goes unmeasured when its own data is missing, and only then', async (t) => {
  const noTls = evaluateTargets({ ...RUN, throughput: RUN.throughput.filter((x) => x.path !== 'tls') });
  t.equal(target(noTls, 'hbone-stream').met, null);
  t.equal(target(noTls, 'l4-path').met, null);
  t.equal(target(noTls, 'l4-p90-added').met, true, 'latency targets unaffected');

  const zeroTls = evaluateTargets({ ...RUN, throughput: RUN.throughput.map((x) => (x.path === 'tls' ? { ...x, mbPerS: 0 } : x)) });
  t.equal(target(zeroTls, 'hbone-stream').value, null, 'a zero baseline is no ratio');

  const onlyEight = evaluateTargets({ ...RUN, throughput: RUN.throughput.filter((x) => !(x.path === 'hbone' && x.connections === 1)) });
  t.equal(target(onlyEight, 'hbone-stream').met, null, '8 connections do not stand in for 1');

  const otherRate = evaluateTargets({ ...RUN, latency: RUN.latency.map((l) => ({ ...l, targetRps: 500 })) });
  for (const id of ['l4-p90-added', 'l7-p90-added', 'ztunnel-cost', 'waypoint-cost']) t.equal(target(otherRate, id).met, null, `${id} at 500 rps`);

  const unpooledOnly = evaluateTargets({ ...RUN, connections: RUN.connections.filter((c) => c.mode === 'unpooled') });
  t.equal(target(unpooledOnly, 'new-connections').value, null);

  const noWaypoint = evaluateTargets(withLatency('l7', (l) => ({ ...l, cost: {} })));
  t.equal(target(noWaypoint, 'waypoint-cost').met, null);
  t.equal(target(noWaypoint, 'l7-p90-added').met, false);
});

t.test('ztunnel cost is the busier ztunnel', async (t) => {
  const aBusier = withLatency('l4', (l) => ({ ...l, cost: { ...l.cost, 'ztunnel-node-a': { vcpu: 0.12, vcpuPer1000Rps: 0.121, rssMB: 50 } } }));
  const z = target(evaluateTargets(aBusier), 'ztunnel-cost');
  t.equal(z.value, 0.121);
  t.equal(z.met, false);
  t.equal(z.margin, 'missed by 0.021 vCPU');
  const onlyB = withLatency('l4', (l) => ({ ...l, cost: { 'ztunnel-node-b': l.cost['ztunnel-node-b'] } }));
  t.equal(target(evaluateTargets(onlyB), 'ztunnel-cost').value, 0.084);
});

t.test('the live page: the median paint is judged, the weight in KB; misses read as misses; no page, not measured', async (t) => {
  const page = RUN.page!;
  const slow = evaluateTargets({ ...RUN, page: { ...page, firstPaintP50Ms: 1200, htmlBytes: 120 * 1024 } });
  t.match(target(slow, 'page-first-paint'), { value: 1200, met: false, margin: 'missed by 200.00 ms', unit: 'ms' });
  t.match(target(slow, 'page-weight'), { value: 120, met: false, margin: 'missed by 20.0 KB', unit: 'KB' });
  const onLine = evaluateTargets({ ...RUN, page: { ...page, firstPaintP50Ms: 1000, htmlBytes: 100 * 1024 } });
  t.equal(target(onLine, 'page-first-paint').margin, 'met, exactly on the line');
  t.equal(target(onLine, 'page-weight').margin, 'met, exactly on the line');
  t.equal(target(evaluateTargets(RUN), 'page-first-paint').what, 'Live page with bookinfo: first contentful paint, p50');
  // The suite is skipped without chromium: no page field, both targets unmeasured, the rest as before.
  const skipped = evaluateTargets({ ...RUN, page: undefined });
  for (const id of ['page-first-paint', 'page-weight']) t.match(target(skipped, id), { value: null, met: null, margin: NOT_MEASURED }, id);
  t.equal(target(skipped, 'push-acked').met, true);
});

t.test('tables: the live page, its times with the max and every load, its weight and stream', async (t) => {
  const text = formatTables(RESULTS);
  const page = sectionLines(text, 'Live page');
  t.match(page[1], /^measure\s+measured\s+max\s+detail$/);
  t.match(
    page.find((l) => l.startsWith('first contentful paint')),
    /first contentful paint\s+248 ms\s+1,105 ms\s+213 \/ 248 \/ 1,105$/,
  );
  t.match(
    page.find((l) => l.startsWith('DOMContentLoaded')),
    /DOMContentLoaded\s+152 ms\s+980 ms\s+140 \/ 152 \/ 980$/,
  );
  t.match(
    page.find((l) => l.startsWith('stream live, edges drawn')),
    /301 ms\s+1,191 ms\s+261 \/ 301 \/ 1,191$/,
  );
  t.match(
    page.find((l) => l.startsWith('weight: the HTML document')),
    /29\.3 KB\s+-\s+29,961 bytes, the topology 3\.3 KB of it; gzip 8\.9 KB \(not served compressed\)$/,
  );
  t.match(
    page.find((l) => l.startsWith('one graph event')),
    /3\.2 KB\s+-\s+7 edges, sent once a second: the stream ran 3\.2 KB\/s; its topology event 3\.4 KB, once$/,
  );
  const note = page[page.length - 1];
  t.match(note, /^bookinfo-ambient \(8 pods, its waypoint applied, a few requests made\) held by hbone-sim up; chromium 156\.0\.8078\.114, headless\./);
  t.match(note, /the median of 3 loads, each in a fresh browser context/);
  t.match(note, /the first page opened after up \(paint 390 ms, live 821 ms/);
  t.match(note, /Requests while loading: \/, \/api\/events\./);
  t.match(
    sectionLines(text, 'Targets').find((l) => l.startsWith('Live page with bookinfo: first contentful paint')),
    /<= 1,000 ms\s+248\.300 ms\s+met\s+met by 751\.70 ms$/,
  );
  t.match(
    sectionLines(text, 'Targets').find((l) => l.startsWith('Live page with bookinfo: weight')),
    /<= 100 KB\s+29\.3 KB\s+met\s+met by 70\.7 KB$/,
  );
  t.notMatch(formatTables(withTargets({ ...RUN, page: undefined })), /^Live page$/m, 'skipped: no section');
});

t.test('formatNumber groups thousands and never prints -0', async (t) => {
  t.equal(formatNumber(1234567.8, 0), '1,234,568');
  t.equal(formatNumber(-1234.5, 1), '-1,234.5');
  t.equal(formatNumber(-0.0001, 2), '0.00');
  t.equal(formatNumber(999.999, 2), '1,000.00');
});

t.test('tables: every suite, its key figures, aligned columns', async (t) => {
  const text = formatTables(RESULTS);
  for (const title of [
    'Throughput',
    'Latency',
    'Cost',
    'Max requests/s',
    'New connections',
    'Idle connections',
    'Hostile: HTTP/2 rapid reset',
    'Live page',
    'Targets',
  ]) {
    t.ok(sectionLines(text, title).length > 3, `${title} has rows`);
  }
  const throughput = sectionLines(text, 'Throughput');
  const hbone = throughput.find((l) => l.startsWith('one HBONE stream') && / 1 {2}/.test(l));
  t.match(hbone, /one HBONE stream\s+1\s+990\s+0\.90x\s+0\.61\s+0\.58/);
  t.ok(
    throughput.some((l) => /^L4 mesh \(ztunnel→ztunnel\)\s+8\s+900\s+0\.35x/.test(l)),
    'L4 at 8 conns against TLS at 8',
  );
  t.ok(
    throughput.some((l) => l.startsWith('L7 via waypoint (HTTP upload)') && l.includes('4.20')),
    'waypoint CPU column',
  );
  t.match(throughput[1], /MB\/s\s+x TLS\s+client\s+server\s+sink\s+ztunnel-node-a\s+ztunnel-node-b\s+http-echo\s+waypoint$/, 'per-process columns');
  t.ok(throughput.findIndex((l) => l.startsWith('direct TCP')) < throughput.findIndex((l) => l.startsWith('TLS 1.3 hop')), 'path order');

  const latency = sectionLines(text, 'Latency');
  t.match(
    latency[1],
    /^path\s+load\s+target rps\s+conns\s+p50 ms\s+p90 ms\s+p99 ms\s+max ms\s+added p50\s+added p90\s+added p99\s+achieved rps\s+errors \/ non-2xx\s+sent late p50 \/ p99 \/ max$/,
  );
  t.same(
    latency.slice(3, 9).map((l) =>
      l
        .split(/\s{2,}/)
        .slice(0, 2)
        .join(' | '),
    ),
    ['direct | paced', 'direct | autocannon', 'L4 mesh | paced', 'L4 mesh | autocannon', 'L7 waypoint | paced', 'L7 waypoint | autocannon'],
    'rows per path and generator, paced first',
  );
  t.match(
    latency.find((l) => /^L7 waypoint\s+paced/.test(l)),
    /1,000\s+16\s+1\.700\s+2\.680\s+5\.100\s+21\.600\s+1\.080\s+1\.630\s+3\.500\s+1,000\s+0 \/ 2\s+0\.520 \/ 1\.400 \/ 9\.300$/,
  );
  t.match(
    latency.find((l) => /^L7 waypoint\s+autocannon/.test(l)),
    /1,000\s+16\s+1\.350\s+2\.060\s+4\.100\s+-\s+1\.140\s+1\.710\s+3\.190\s+996\s+0 \/ 2\s+-$/,
  );
  const cost = sectionLines(text, 'Cost');
  t.match(
    cost.find((l) => /^L7 waypoint\s+autocannon\s+1,000\s+waypoint\s/.test(l)),
    /0\.311\s+0\.312\s+71\.4\s+0\.25 vCPU, 60 MB/,
  );
  t.match(
    cost.find((l) => /^L7 waypoint\s+paced\s+1,000\s+waypoint\s/.test(l)),
    /0\.334\s+0\.334\s+71\.9\s+0\.25 vCPU, 60 MB/,
  );
  t.match(
    cost.find((l) => /^L4 mesh\s+autocannon/.test(l) && l.includes('ztunnel-node-b')),
    /0\.083\s+0\.084\s+45\.9\s+0\.06 vCPU, 12 MB/,
  );
  t.match(
    sectionLines(text, 'Max requests/s').find((l) => l.startsWith('L7')),
    /16\s+1,904\s+8\.200\s+21\.700\s+3 \/ 1/,
  );
  t.match(
    sectionLines(text, 'New connections').find((l) => l.startsWith('pooled')),
    /32\s+1,912\s+14\.700\s+0/,
  );
  const scale = sectionLines(text, 'Idle connections');
  t.match(scale[3], /^\s*1,000\s+7\.4\s+7\.5\s+1\.9\s+14\.9\s+1\.1$/, 'smaller count first');
  t.match(scale[4], /^\s*10,000\s+6\.1\s+6\.2\s+1\.4\s+12\.3\s+9\.4$/);
  const hostile = sectionLines(text, 'Hostile: HTTP/2 rapid reset');
  t.match(
    hostile.find((l) => l.startsWith('ztunnel :15008')),
    /L4 mesh\s+16\s+8\s+1,089\s+GOAWAY ENHANCE_YOUR_CALM x8\s+0\.01 \/ 0\.06 \/ 0\.00\s+70 \/ 91 \/ 76\s+2\.3 \/ 2\.5\s+18\.9 \/ 80\.7\s+0 of 1,996$/,
  );
  t.match(
    hostile.find((l) => l.startsWith('waypoint :15008')),
    /L7 waypoint\s+16\s+8\s+1,102\s+.*3\.7 \/ 104\.5\s+21\.5 \/ 248\.1\s+2 of 1,732$/,
  );
  const targets = sectionLines(text, 'Targets');
  t.match(
    targets.find((l) => l.startsWith('Legit p50 under rapid reset')),
    /<= 100 ms\s+104\.500 ms\s+missed\s+missed by 4\.50 ms/,
  );
  t.match(
    targets.find((l) => l.startsWith('L4 mesh path')),
    />= 0\.45x\s+0\.40x TLS\s+missed\s+missed by 0\.05x/,
  );
  t.match(
    targets.find((l) => l.startsWith('p90 added at 1,000 rps, L7 (paced)')),
    /<= 1\.5 ms\s+1\.630 ms\s+missed\s+missed by 0\.13 ms$/,
  );
  t.match(
    targets.find((l) => l.startsWith('p90 added at 1,000 rps, L7 (autocannon, info)')),
    /<= 1\.5 ms\s+1\.710 ms\s+info\s+outside by 0\.21 ms$/,
  );
  t.match(
    targets.find((l) => l.startsWith('New tunneled connections')),
    />= 1,500\/s\s+1,912\/s\s+met\s+met by 412\/s/,
  );

  // The rule under the header marks each column; the gaps between must be blank on every line.
  for (const block of text.trimEnd().split('\n\n')) {
    const lines = block.split('\n');
    const rule = lines[2];
    t.match(rule, /^[- ]+$/, `${lines[0]} has a rule`);
    const gaps = [...rule].flatMap((c, i) => (c === ' ' ? [i] : []));
    const table = lines.slice(1).filter((l) => !/[.:]$/.test(l));
    for (const line of table) {
      t.ok(line.length <= rule.length, `${lines[0]}: ${JSON.stringify(line)} fits the rule`);
      t.ok(
        gaps.every((i) => i >= line.length || line[i] === ' '),
        `${lines[0]}: ${JSON.stringify(line)} keeps to its columns`,
      );
    }
  }
});

t.test('tables: a suite not run has no section', async (t) => {
  const text = formatTables(withTargets({ ...EMPTY_RUN, connections: RUN.connections }));
  t.match(text, /^New connections$/m);
  for (const title of ['Throughput', 'Latency', 'Cost', 'Max requests/s', 'Idle connections', 'Hostile: HTTP/2 rapid reset', 'Live page'])
    t.notMatch(text, new RegExp(`^${title.replace('/', '\\/')}$`, 'm'), title);
  t.match(text, /One HBONE stream\s+>= 0\.8x\s+-\s+not measured\s+not measured/);
  t.match(text, /New tunneled connections\s+>= 1,500\/s\s+1,912\/s\s+met/);
  t.equal(formatTables({ ...EMPTY_RUN, targets: [] }), 'nothing measured\n');
});

t.test('chart: one well-formed SVG with both panels, numbers on the bars', async (t) => {
  const svg = chartSvg(RESULTS);
  t.same(svgProblems(svg), []);
  t.match(svg, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
  t.ok(svg.includes('>Throughput, MB/s<'));
  t.ok(svg.includes('>Latency at 1,000 rps (paced load), ms<'));
  t.ok(svg.includes('>L4 mesh (ztunnel→ztunnel)<'));
  t.ok(svg.includes('>L7 waypoint<'));
  // The paced figures: what the targets judge.
  for (const label of ['>3,900<', '>990<', '>1 conn<', '>8 conns<', '>1.440<', '>5.100<', '>p99<']) t.ok(svg.includes(label), label);
  t.notMatch(svg, />4\.100</, "autocannon's figures are in the table and the latency picture");
  t.notMatch(svg, /https?:\/\/(?!www\.w3\.org\/2000\/svg)/, 'nothing external');
  t.notMatch(svg, /<script|@import|<image/);
  t.equal(chartSvg(RESULTS), svg, 'deterministic');

  // 5 paths x 2 counts, then 3 paths x 3 percentiles; lengths follow the values within a panel.
  const widths = barWidths(svg);
  t.equal(widths.length, 19);
  const [tcp1, tcp8, tls1] = widths;
  t.ok(Math.abs(tcp1 / tcp8 - 2400 / 3900) < 0.01, 'tcp 1 vs 8');
  t.ok(Math.abs(tls1 / tcp8 - 1100 / 3900) < 0.01, 'tls 1 vs tcp 8');
  t.equal(Math.max(...widths.slice(0, 10)), tcp8, 'the largest throughput has the longest bar');
  t.equal(Math.max(...widths.slice(10)), widths[18], 'L7 p99 is the longest latency bar');
  t.equal(widths[10], Math.round((0.62 / 5.1) * widths[18] * 10) / 10);
});

t.test('chart: panels without data are left out', async (t) => {
  const latencyOnly = chartSvg(withTargets({ ...EMPTY_RUN, latency: RUN.latency }));
  t.same(svgProblems(latencyOnly), []);
  t.notMatch(latencyOnly, /Throughput/);
  t.match(latencyOnly, /Latency at 1,000 rps \(paced load\), ms/);
  t.equal(barWidths(latencyOnly).length, 9);
  const older = chartSvg(withTargets({ ...EMPTY_RUN, latency: RUN.latency.filter((l) => l.generator === 'autocannon') }));
  t.match(older, /Latency at 1,000 rps \(autocannon load\), ms/, 'a run from before the paced generator: its autocannon figures');
  t.ok(older.includes('>4.100<'));

  const none = chartSvg(withTargets(EMPTY_RUN));
  t.same(svgProblems(none), []);
  t.match(none, />no throughput or latency measured</);
  t.equal(barWidths(none).length, 0);
});

t.test('chart: text is escaped, and the checker catches what it should', async (t) => {
  t.equal(escapeXml(`a & <b> "c" 'd'`), 'a &amp; &lt;b&gt; &quot;c&quot; &apos;d&apos;');
  t.same(svgProblems('<svg xmlns="http://www.w3.org/2000/svg"><text>a &amp; b</text></svg>'), []);
  t.not(svgProblems('<svg xmlns="http://www.w3.org/2000/svg"><text>a & b</text></svg>').length, 0, 'raw &');
  t.not(svgProblems('<svg xmlns="http://www.w3.org/2000/svg"><text>a < b</text></svg>').length, 0, 'raw <');
  t.not(svgProblems('<svg xmlns="http://www.w3.org/2000/svg"><g><text>x</g></text></svg>').length, 0, 'crossed tags');
  t.not(svgProblems('<svg xmlns="http://www.w3.org/2000/svg"><g></svg>').length, 0, 'unclosed');
  t.not(svgProblems('<svg><rect/></svg>').length, 0, 'no xmlns');
  t.not(svgProblems('<svg xmlns="http://www.w3.org/2000/svg"/><svg xmlns="http://www.w3.org/2000/svg"/>').length, 0, 'two roots');
});

t.test('markdown: run, machine, targets, chart, tables, anchors, method', async (t) => {
  const md = reportMarkdown(RESULTS, 'chart.svg');
  t.match(md, /^# hbone-sim benchmark report\n/);
  t.match(md, /Regenerated by every `npm run bench`\. This one: full run started 2026-11-26T09:14:02\.117Z/);
  t.match(md, /suites: throughput, latency, maxrps, cost, connections, scale, hostile; 3 repetitions/);
  t.match(md, /## Machine\n\n- CPU: AMD EPYC 7B13 64-Core Processor, 2 cores\n- Memory: 7\.8 GiB\n- Node v20\.19\.5 on linux x64\n/);
  t.ok(md.includes('- Load average (1, 5, 15 min): 0.31 / 0.42 / 0.38 before, 1.87 / 1.12 / 0.64 after'));

  t.ok(md.includes('| What | Target | Measured | Verdict | Margin |'));
  t.ok(md.includes('| One HBONE stream | >= 0.8x | 0.90x TLS | ✅ met | met by 0.10x |'));
  t.ok(md.includes('| p90 added at 1,000 rps, L7 (paced) | <= 1.5 ms | 1.630 ms | ❌ missed | missed by 0.13 ms |'));
  t.ok(md.includes('| p90 added at 1,000 rps, L7 (autocannon, info) | <= 1.5 ms | 1.710 ms | ℹ️ info | outside by 0.21 ms |'));
  t.equal(md.match(/^\| .+ \| ℹ️ info \|/gm)?.length, 2, 'two info rows');
  t.ok(md.includes('| Cost per 1,000 rps, ztunnel | <= 0.10 vCPU | 0.084 vCPU | ✅ met | met by 0.016 vCPU |'));
  t.ok(md.includes('| Idle tunneled connection | <= 16 KB | 12.3 KB | ✅ met | met by 3.7 KB |'));
  t.equal(md.match(/^\| .+ \| (✅ met|❌ missed|— not measured) \|/gm)?.length, 17, 'seventeen target rows');
  t.ok(md.includes('| Soak: RSS growth after warm-up, worst process | <= 15% | 8.0% | ✅ met | met by 7.0 points |'));
  t.ok(md.includes('### Soak: 10 min on the L7 path'), 'the soak table');
  t.ok(md.includes('| Live page with bookinfo: first contentful paint, p50 | <= 1,000 ms | 248.300 ms | ✅ met | met by 751.70 ms |'));
  t.ok(md.includes('| Live page with bookinfo: weight (one HTML document) | <= 100 KB | 29.3 KB | ✅ met | met by 70.7 KB |'));
  t.ok(md.includes('### Live page\n\n| measure | measured | max | detail |\n| --- | ---: | ---: | --- |\n'), 'the live page table, no picture');
  t.ok(md.includes('| first contentful paint | 248 ms | 1,105 ms | 213 / 248 / 1,105 |'));
  t.ok(md.includes('| weight: the HTML document | 29.3 KB | — | 29,961 bytes, the topology 3.3 KB of it; gzip 8.9 KB (not served compressed) |'));
  t.ok(md.indexOf('### Push: an apply to every proxy') < md.indexOf('### Live page') && md.indexOf('### Live page') < md.indexOf('### Soak'), 'in suite order');
  t.ok(md.includes('| waypoint | 110.0 | 118.8 | 140.0 | 8.0% | 26 | 26 | yes |'), 'a soak row: low-water marks, growth, fds, verdict');

  t.ok(md.includes('![paths compared](chart.svg)'));
  t.ok(md.indexOf('## Targets') < md.indexOf('![paths compared]'), 'chart after the verdicts');
  t.ok(md.includes('| one HBONE stream | 1 | 990 | 0.90x | 0.61 | 0.58 | — | — | — | — | — |'), 'throughput row, absent processes as dashes');
  t.ok(md.includes('| L7 waypoint | autocannon | 1,000 | waypoint | 0.311 | 0.312 | 71.4 | 0.25 vCPU, 60 MB |'));
  t.ok(md.includes('| L4 mesh | paced | 1,000 | 16 | 0.930 | 1.440 | 2.900 | 12.200 | 0.310 | 0.390 | 1.300 | 1,000 | 0 / 0 | 0.510 / 1.300 / 8.100 |'));
  t.ok(md.includes('| L4 mesh | autocannon | 1,000 | 16 | 0.480 | 0.760 | 1.900 | — | 0.270 | 0.410 | 0.990 | 998 | 0 / 0 | — |'));
  t.ok(md.includes('| pooled | 32 | 1,912 | 14.700 | 0 |'));
  t.match(md, /\| path \| conns \| MB\/s \| x TLS \|.*\n\| --- \| ---: \| ---: \| ---: \|/);

  t.match(md, /## Istio's published figures \(context, not targets\)/);
  t.ok(md.includes('ztunnel: ≈0.06 vCPU and 12 MB'));
  t.ok(md.includes('waypoint: ≈0.25 vCPU and 60 MB'));
  t.match(md, /1,000 requests\/s with 1 KB payloads over 16 connections/);
  t.match(md, /Rust ztunnel and an Envoy waypoint/);
  t.match(md, /## Method/);
  for (const phrase of [
    'median',
    'interleaved',
    '`response` event',
    'process.hrtime',
    'fortio',
    'intended time',
    'coordinated omission',
    '/proc/<pid>/stat',
    'RSS growth divided by the connection count',
  ]) {
    t.ok(md.includes(phrase), phrase);
  }
  t.equal(reportMarkdown(RESULTS, 'chart.svg'), md, 'deterministic');
});

t.test('markdown: nothing measured, quick run, awkward chart name', async (t) => {
  const md = reportMarkdown(withTargets({ ...EMPTY_RUN, quick: true, machine: { ...RUN.machine, loadAverageAfter: undefined } }), 'my chart (1).svg');
  t.match(md, /This one: quick run/);
  t.match(md, /suites: none/);
  t.match(md, /before, not recorded after/);
  t.equal(md.match(/\| — \| — not measured \| not measured \|/g)?.length, 17);
  t.equal(md.match(/\| — \| ℹ️ info, not measured \| not measured \|/g)?.length, 2);
  t.ok(md.includes('No suite produced data.'));
  t.notMatch(md, /### /, 'no suite tables');
  t.ok(md.includes('![paths compared](<my chart (1).svg>)'));
});

t.test('pods: a row per count, smallest first, with the cost of each added pod from the previous count', async (t) => {
  const rows = sectionLines(formatTables(RESULTS), "Pods: the simulator's own cost as the mesh grows");
  // 100 pods: no previous count, no per-pod cost.
  t.match(rows[3], /^\s*100\s+10\s+8\s+1\.8\s+2\.5\s+0\s+400\s+100\s+80\s+120\s+100\s+-\s+-\s+1\.50$/);
  // 1,000: (12.5 - 2.5) s over 900 pods is 11.1 ms; (2,150 - 400) MB over 900 is 1,991 KB.
  t.match(rows[4], /^\s*1,000\s+100\s+8\s+11\.0\s+12\.5\s+0\s+2,150\s+150\s+200\s+1,100\s+700\s+11\.1\s+1,991\s+2\.25$/);
  const reversed = withTargets({ ...RUN, pods: [...(RUN.pods ?? [])].reverse() });
  t.same(sectionLines(formatTables(reversed), "Pods: the simulator's own cost as the mesh grows").slice(3, 5), rows.slice(3, 5), 'sorted by count');
  t.notOk(suiteTitles(withTargets({ ...RUN, pods: [] })).includes("Pods: the simulator's own cost as the mesh grows"), 'no section when the suite did not run');
  const md = reportMarkdown(RESULTS, 'REPORT.svg');
  t.ok(md.includes("### Pods: the simulator's own cost as the mesh grows"), 'the report has the section');
  t.ok(md.includes('| 1,000 pods over 3 nodes: total RSS | <= 2 GB | 2.10 GB | ❌ missed | missed by 0.10 GB |'), 'and both targets');
});

t.test('pods: other counts than 1,000 judge nothing', async (t) => {
  const targets = evaluateTargets({ ...RUN, pods: RUN.pods?.filter((p) => p.pods !== 1000) });
  t.equal(target(targets, 'pods-ready').met, null);
  t.equal(target(targets, 'pods-rss').met, null);
});

function suiteTitles(r: BenchResults): string[] {
  return formatTables(r)
    .split('\n\n')
    .map((b) => b.split('\n')[0]);
}
