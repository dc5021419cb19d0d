// The per-suite tables of a bench run: their rows, built once, and their plain-text form for the
// terminal. The markdown report renders the same rows, so the two never disagree.
import type { PushResult } from '../suites/push';
import type { PageLoadTimes, PageResult } from '../suites/page';
import { proxiesVcpu, totalVcpu, type WorkersResult } from '../suites/workers';
import type { Suite } from '../options';
import type {
  BenchResults,
  ConnectionsResult,
  HostileResult,
  LatencyResult,
  MaxRpsResult,
  PodsResult,
  RequestPath,
  ScaleResult,
  SoakResult,
  TargetResult,
  ThroughputPath,
  ThroughputResult,
  LoadGenerator,
} from '../results';
import type { PeerJob, PeersResult } from '../peers/types';
import { formatNumber, formatTargetValue } from './targets';

export const THROUGHPUT_LABELS: Readonly<Record<ThroughputPath, string>> = {
  tcp: 'direct TCP',
  tls: 'TLS 1.3 hop',
  hbone: 'one HBONE stream',
  l4: 'L4 mesh (ztunnel→ztunnel)',
  l7: 'L7 via waypoint (HTTP upload)',
};
export const REQUEST_LABELS: Readonly<Record<RequestPath, string>> = { direct: 'direct', l4: 'L4 mesh', l7: 'L7 waypoint' };
/** Table and chart order: from the least on the path to the most. */
export const THROUGHPUT_ORDER: readonly ThroughputPath[] = ['tcp', 'tls', 'hbone', 'l4', 'l7'];
export const REQUEST_ORDER: readonly RequestPath[] = ['direct', 'l4', 'l7'];
/** Within a path: the generator the targets judge first. */
export const GENERATOR_ORDER: readonly LoadGenerator[] = ['paced', 'autocannon'];

/** Latency results by path, then generator, then rate. */
function latencyOrder(results: readonly LatencyResult[]): LatencyResult[] {
  return [...results].sort(
    (a, b) =>
      REQUEST_ORDER.indexOf(a.path) - REQUEST_ORDER.indexOf(b.path) ||
      GENERATOR_ORDER.indexOf(a.generator) - GENERATOR_ORDER.indexOf(b.generator) ||
      a.targetRps - b.targetRps,
  );
}

/** Istio's published per-proxy figures at 1,000 requests/s, 1 KB payloads, 16 connections. */
export const ISTIO_ZTUNNEL = { vcpu: 0.06, rssMB: 12 } as const;
export const ISTIO_WAYPOINT = { vcpu: 0.25, rssMB: 60 } as const;
export const ISTIO_ANCHOR_TEXT = `Istio's figures at 1,000 rps, 1 KB: ztunnel ${ISTIO_ZTUNNEL.vcpu} vCPU and ${ISTIO_ZTUNNEL.rssMB} MB, waypoint ${ISTIO_WAYPOINT.vcpu} vCPU and ${ISTIO_WAYPOINT.rssMB} MB`;

const KB = 1024;
const COLUMN_GAP = '  ';
/** The text form's stand-in for a missing figure. */
const NONE = '-';

export type Align = 'left' | 'right';

export interface Column {
  readonly header: string;
  readonly align: Align;
}

/** One table: what the terminal prints and the report shows under one heading. */
export interface Section {
  /** The suite it comes from: the report puts that suite's picture above the table. */
  readonly suite?: Suite;
  readonly title: string;
  readonly columns: readonly Column[];
  readonly rows: readonly (readonly string[])[];
  /** One short line under the table: what a column means. */
  readonly note?: string;
  /** Paragraphs under the note, each a line of its own (the peers suite's differences and gaps). */
  readonly details?: readonly string[];
}

const left = (header: string): Column => ({ header, align: 'left' });
const right = (header: string): Column => ({ header, align: 'right' });

export function fixed(x: number | undefined, decimals: number): string {
  return x === undefined || !Number.isFinite(x) ? NONE : formatNumber(x, decimals);
}

/** An info row is judged against its line but is not a verdict: it says so. */
export function verdictWord(met: boolean | null, info = false): string {
  if (info) return met === null ? 'info, not measured' : 'info';
  return met === null ? 'not measured' : met ? 'met' : 'missed';
}

function byOrder<T, K>(items: readonly T[], key: (t: T) => K, order: readonly K[], then: (t: T) => number): T[] {
  return [...items].sort((a, b) => order.indexOf(key(a)) - order.indexOf(key(b)) || then(a) - then(b));
}

/** Process names in first-seen order, so columns follow the rows (client and server first, the mesh after). */
function processNames(records: readonly Readonly<Record<string, unknown>>[]): string[] {
  const names: string[] = [];
  for (const r of records) for (const n of Object.keys(r)) if (!names.includes(n)) names.push(n);
  return names;
}

function throughputSection(results: readonly ThroughputResult[]): Section {
  const rows = byOrder(
    results,
    (t) => t.path,
    THROUGHPUT_ORDER,
    (t) => t.connections,
  );
  const procs = processNames(rows.map((t) => t.cpuSPerGiB));
  const tlsAt = (n: number) => results.find((t) => t.path === 'tls' && t.connections === n)?.mbPerS;
  return {
    suite: 'throughput',
    title: 'Throughput',
    columns: [left('path'), right('conns'), right('MB/s'), right('x TLS'), ...procs.map((p) => right(p))],
    rows: rows.map((t) => {
      const tls = tlsAt(t.connections);
      return [
        THROUGHPUT_LABELS[t.path],
        String(t.connections),
        fixed(t.mbPerS, 0),
        tls === undefined ? NONE : `${fixed(t.mbPerS / tls, 2)}x`,
        ...procs.map((p) => fixed(t.cpuSPerGiB[p], 2)),
      ];
    }),
    note: 'x TLS: MB/s over the TLS 1.3 hop at the same connection count. By process: CPU seconds (user + system) per GiB moved.',
  };
}

function latencySection(results: readonly LatencyResult[]): Section {
  return {
    suite: 'latency',
    title: 'Latency',
    columns: [
      left('path'),
      left('load'),
      right('target rps'),
      right('conns'),
      right('p50 ms'),
      right('p90 ms'),
      right('p99 ms'),
      right('max ms'),
      right('added p50'),
      right('added p90'),
      right('added p99'),
      right('achieved rps'),
      right('errors / non-2xx'),
      right('sent late p50 / p99 / max'),
    ],
    rows: latencyOrder(results).map((l) => [
      REQUEST_LABELS[l.path],
      l.generator,
      formatNumber(l.targetRps, 0),
      String(l.connections),
      fixed(l.ms.p50, 3),
      fixed(l.ms.p90, 3),
      fixed(l.ms.p99, 3),
      fixed(l.maxMs, 3),
      fixed(l.addedMs.p50, 3),
      fixed(l.addedMs.p90, 3),
      fixed(l.addedMs.p99, 3),
      fixed(l.achievedRps, 0),
      `${l.errors} / ${l.non2xx}`,
      l.sendLatenessMs ? `${fixed(l.sendLatenessMs.p50, 3)} / ${fixed(l.sendLatenessMs.p99, 3)} / ${fixed(l.sendLatenessMs.max, 3)}` : NONE,
    ]),
    note:
      "load: paced is open loop, requests evenly spaced, each timed from when it should have been sent (fortio's model; the targets judge it); " +
      'autocannon is closed loop, timed from the actual send. added: ms over direct at the same percentile, same generator. ' +
      'sent late: how late the paced generator wrote its requests (against direct, its own noise floor), included in its latencies. max: of all repetitions.',
  };
}

function istioAnchor(process: string): string {
  if (process.startsWith('ztunnel')) return `${ISTIO_ZTUNNEL.vcpu} vCPU, ${ISTIO_ZTUNNEL.rssMB} MB`;
  if (process.startsWith('waypoint')) return `${ISTIO_WAYPOINT.vcpu} vCPU, ${ISTIO_WAYPOINT.rssMB} MB`;
  return '';
}

function costSection(results: readonly LatencyResult[]): Section {
  const rows = latencyOrder(results).flatMap((l) =>
    Object.entries(l.cost).map(([process, c]) => [
      REQUEST_LABELS[l.path],
      l.generator,
      formatNumber(l.targetRps, 0),
      process,
      fixed(c.vcpu, 3),
      fixed(c.vcpuPer1000Rps, 3),
      fixed(c.rssMB, 1),
      istioAnchor(process),
    ]),
  );
  return {
    suite: 'cost',
    title: 'Cost',
    columns: [left('path'), left('load'), right('rps'), left('process'), right('vCPU'), right('vCPU / 1,000 rps'), right('RSS MB'), left("Istio's figure")],
    rows,
    note: `The cost targets judge the autocannon runs. ${ISTIO_ANCHOR_TEXT}; context, not targets.`,
  };
}

function maxRpsSection(results: readonly MaxRpsResult[]): Section {
  return {
    suite: 'maxrps',
    title: 'Max requests/s',
    columns: [left('path'), right('conns'), right('rps'), right('p50 ms'), right('p99 ms'), right('errors / non-2xx')],
    rows: byOrder(
      results,
      (m) => m.path,
      REQUEST_ORDER,
      (m) => m.connections,
    ).map((m) => [REQUEST_LABELS[m.path], String(m.connections), fixed(m.rps, 0), fixed(m.ms.p50, 3), fixed(m.ms.p99, 3), `${m.errors} / ${m.non2xx}`]),
  };
}

function connectionsSection(results: readonly ConnectionsResult[]): Section {
  return {
    suite: 'connections',
    title: 'New connections',
    columns: [left('mode'), right('concurrency'), right('conns/s'), right('median ms'), right('failures')],
    rows: byOrder(
      results,
      (c) => c.mode,
      ['pooled', 'unpooled'] as const,
      (c) => c.concurrency,
    ).map((c) => [c.mode, String(c.concurrency), fixed(c.perSecond, 0), fixed(c.medianMs, 3), String(c.failures)]),
  };
}

function scaleSection(results: readonly ScaleResult[]): Section {
  const rows = [...results].sort((a, b) => a.connections - b.connections);
  const procs = processNames(rows.map((s) => s.bytesPerConnection));
  return {
    suite: 'scale',
    title: 'Idle connections',
    columns: [right('connections'), ...procs.map((p) => right(p)), right('tunnel KB/conn'), right('open s')],
    rows: rows.map((s) => [
      formatNumber(s.connections, 0),
      ...procs.map((p) => fixed(s.bytesPerConnection[p] === undefined ? undefined : s.bytesPerConnection[p] / KB, 1)),
      fixed(s.tunnelBytesPerConnection / KB, 1),
      fixed(s.openSeconds, 1),
    ]),
    note: 'By process: KB of RSS growth per idle connection. tunnel: both ztunnels together.',
  };
}

const HOSTILE_VICTIM_LABELS: Readonly<Record<HostileResult['victim'], string>> = { ztunnel: 'ztunnel :15008', waypoint: 'waypoint :15008' };

/** "a / b / c", each to `decimals`. */
function triple(a: number, b: number, c: number, decimals: number): string {
  return [a, b, c].map((x) => fixed(x, decimals)).join(' / ');
}

function hostileSection(results: readonly HostileResult[]): Section {
  return {
    suite: 'hostile',
    title: 'Hostile: HTTP/2 rapid reset',
    columns: [
      left('victim'),
      left('legit path'),
      right('resets/s'),
      right('attacker conns'),
      right('refused at accept'),
      left('answer'),
      right('vCPU before / during / after'),
      right('RSS MB before / peak / after'),
      right('legit p50 ms before / during'),
      right('legit p99 ms before / during'),
      right('legit failed'),
    ],
    rows: results.map((h) => [
      HOSTILE_VICTIM_LABELS[h.victim],
      REQUEST_LABELS[h.legitPath],
      fixed(h.resetsPerSecond, 0),
      formatNumber(h.attackerConnections, 0),
      formatNumber(h.attackerRefused ?? 0, 0),
      Object.entries(h.goaways)
        .map(([code, n]) => `GOAWAY ${code} x${n}`)
        .join(', ') || 'none',
      triple(h.victimVcpu.before, h.victimVcpu.during, h.victimVcpu.after, 2),
      triple(h.victimRssMB.before, h.victimRssMB.during, h.victimRssMB.after, 0),
      `${fixed(h.legitMs.before.p50, 1)} / ${fixed(h.legitMs.during.p50, 1)}`,
      `${fixed(h.legitMs.before.p99, 1)} / ${fixed(h.legitMs.during.p99, 1)}`,
      `${h.legitFailures.during} of ${formatNumber(h.legitRequests.during + h.legitFailures.during, 0)}`,
    ]),
    note: 'resets/s: RST_STREAMs the victim took in (up to its GOAWAY). refused at accept: attacker reconnects closed before TLS. answer: how the victim ended the connections it took. legit: requests through the victim meanwhile.',
  };
}

function soakSection(r: SoakResult): Section {
  return {
    suite: 'soak',
    title: `Soak: ${formatNumber(r.minutes, r.minutes < 1 ? 2 : 0)} min on the L7 path`,
    columns: [
      left('process'),
      right('MB after warm-up'),
      right('low-water MB, last third'),
      right('max MB'),
      right('growth'),
      right('fds after warm-up'),
      right('fds at end'),
      left('flat'),
    ],
    rows: r.processes.map((p) => [
      p.name,
      fixed(p.rssWarmMB, 1),
      fixed(p.rssEndMB, 1),
      fixed(p.rssMaxMB, 1),
      `${fixed(p.rssGrowth * 100, 1)}%`,
      String(p.fdsWarm),
      String(p.fdsEnd),
      p.flat ? 'yes' : 'NO',
    ]),
    note:
      `${formatNumber(r.requests, 0)} requests after ${r.warmupSeconds} s of warm-up, ${fixed(r.rps, 0)} rps over ${r.connections} connections, ${r.errors} errors / ${r.non2xx} non-2xx. ` +
      'The mesh is held by the runner itself (hbone-sim scenario --hold). RSS is read every few seconds after warm-up; a garbage-collected heap saws up and down between collections, so the end of the run is judged by its low-water RSS over the last third (what the process keeps after collecting), against its RSS after warm-up (the first sample, or the low-water of the first third if higher). Flat: at most 15% growth and no file descriptors gained.',
  };
}

function pushSection(r: PushResult): Section {
  return {
    suite: 'push',
    title: 'Push: an apply to every proxy',
    columns: [
      right('changes'),
      right('proxies'),
      right('processes'),
      right('apply p50 ms'),
      right('apply p90 ms'),
      right('apply max ms'),
      right('push p50 ms'),
      right('push max ms'),
      right('NACKs'),
      right('timed out'),
    ],
    rows: [
      [
        String(r.pushes),
        String(r.proxies),
        String(r.processes),
        fixed(r.applyP50Ms, 1),
        fixed(r.applyP90Ms, 1),
        fixed(r.applyMaxMs, 1),
        fixed(r.p50Ms, 1),
        fixed(r.maxMs, 1),
        String(r.nacks),
        String(r.timedOut),
      ],
    ],
    note: "A mesh held by `hbone-sim up` (istiod, 4 ztunnels, 3 waypoints, 4 node agents). Each change is an apply through the API server with --wait, one at a time, adding or removing an AuthorizationPolicy that every ztunnel and waypoint takes. apply: from sending the apply to its answer, once every proxy ACKed (the API server's checks, the store, istiod's push, the ACKs). push: from istiod's push to the last ACK (delta ADS).",
  };
}

function pageSection(r: PageResult): Section {
  const ms = (x: number) => `${fixed(x, 0)} ms`;
  const kb = (bytes: number) => `${fixed(bytes / KB, 1)} KB`;
  const times = (label: string, p50: number, max: number, of: (t: PageLoadTimes) => number): string[] => [
    label,
    ms(p50),
    ms(max),
    r.repsMs.map((t) => fixed(of(t), 0)).join(' / '),
  ];
  return {
    suite: 'page',
    title: 'Live page',
    columns: [left('measure'), right('measured'), right('max'), left('detail')],
    rows: [
      times('first contentful paint', r.firstPaintP50Ms, r.firstPaintMaxMs, (t) => t.firstContentfulPaintMs),
      times('DOMContentLoaded', r.domContentLoadedP50Ms, r.domContentLoadedMaxMs, (t) => t.domContentLoadedMs),
      times('stream live, edges drawn', r.liveP50Ms, r.liveMaxMs, (t) => t.liveWithEdgesMs),
      [
        'weight: the HTML document',
        kb(r.htmlBytes),
        NONE,
        `${formatNumber(r.htmlBytes, 0)} bytes, the topology ${kb(r.topologyBytes)} of it; gzip ${kb(r.htmlGzipBytes)} (not served compressed)`,
      ],
      [
        'one graph event',
        kb(r.graphEventBytes),
        NONE,
        `${r.edges} edges, sent once a second: the stream ran ${kb(r.streamBytesPerSecond)}/s; its topology event ${kb(r.topologyEventBytes)}, once`,
      ],
    ],
    note:
      `${r.scenario} (${r.pods} pods, its waypoint applied, a few requests made) held by hbone-sim up; ${r.browser}, headless. ` +
      `measured: the median of ${r.repsMs.length} loads, each in a fresh browser context; detail: every load. They follow one untimed load, the first page opened after up ` +
      `(paint ${ms(r.coldMs.firstContentfulPaintMs)}, live ${ms(r.coldMs.liveWithEdgesMs)}: its graph waited for the first scrape; later pages get the last one at once). ` +
      `Times from the start of navigation, by the page's clock; live: the stream open and an edge drawn, read when the next frame began and not before the first contentful paint. ` +
      `Requests while loading: ${r.requests.join(', ')}. KB: 1,024 bytes.`,
  };
}

/** Per added pod between this count and the previous one: the fixed costs cancel out. */
function perAddedPod(rows: readonly PodsResult[], i: number, of: (p: PodsResult) => number): number | undefined {
  if (i === 0) return undefined;
  const added = rows[i].pods - rows[i - 1].pods;
  return added > 0 ? (of(rows[i]) - of(rows[i - 1])) / added : undefined;
}

function podsSection(results: readonly PodsResult[]): Section {
  const rows = [...results].sort((a, b) => a.pods - b.pods);
  return {
    suite: 'pods',
    title: "Pods: the simulator's own cost as the mesh grows",
    columns: [
      right('pods'),
      right('services'),
      right('processes'),
      right('runner ready s'),
      right('ready s'),
      right('unanswered'),
      right('RSS MB'),
      right('runner'),
      right('istiod'),
      right('ztunnels'),
      right('node agents'),
      right('ms per added pod'),
      right('KB per added pod'),
      right('load'),
    ],
    rows: rows.map((p, i) => [
      formatNumber(p.pods, 0),
      String(p.services),
      String(p.processes),
      fixed(p.runnerReadyMs / 1000, 1),
      fixed(p.answeredSeconds, 1),
      String(p.unanswered),
      fixed(p.rssMB, 0),
      fixed(p.rssByRoleMB.runner, 0),
      fixed(p.rssByRoleMB.istiod, 0),
      fixed(p.rssByRoleMB.ztunnels, 0),
      fixed(p.rssByRoleMB.nodeAgents, 0),
      fixed(
        perAddedPod(rows, i, (x) => x.answeredSeconds * 1000),
        1,
      ),
      fixed(
        perAddedPod(rows, i, (x) => x.rssMB * KB),
        0,
      ),
      fixed(p.loadAverage, 2),
    ]),
    note:
      `http-echo pods over ${rows[0]?.nodes ?? 3} nodes, ten to a Service (and its service account), held by hbone-sim scenario --hold: the runner, istiod, and a ztunnel and a node agent per node. ` +
      'runner ready: what the runner says (its start to every readiness probe answered). ready: from spawning the runner until one request to every Service, each from a pod of another Service on another node through its own SOCKS5 capture, was answered; unanswered: those that were not, over every repetition. ' +
      'RSS: every process of the mesh, read from /proc once every Service answered, MB (2^20 bytes). Per added pod: the difference from the previous count over the pods added. load: the 1-minute load average after the count (the machine is shared). Medians over the repetitions.',
  };
}

/** Decimals a peers figure shows, by its unit. */
function peerDecimals(metric: string): number {
  if (/ms\/tunnel/.test(metric)) return 3;
  if (/s\/GiB|vCPU/.test(metric)) return 2;
  if (/\bms\b/.test(metric)) return 3;
  return 0;
}

export const PEERS_JOB_LABELS: Readonly<Record<PeerJob, string>> = {
  outbound: 'outbound encapsulation',
  inbound: 'inbound termination',
  l7: 'L7 hop',
};
const PEERS_JOB_ORDER: readonly PeerJob[] = ['outbound', 'inbound', 'l7'];

/** A sentence without its closing full stop, so one can be put after it in a list. */
function unstop(text: string): string {
  return text.replace(/\.+$/, '');
}

/** "1.23x": a peers ratio, or the missing mark when it could not be taken. */
export function formatRatio(ratio: number): string {
  return Number.isFinite(ratio) ? `${formatNumber(ratio, 2)}x` : NONE;
}

/** One row per job and figure (ours, the peer's, the ratio), then one per skipped peer. */
export function peersSection(r: PeersResult): Section {
  const comparisons = byOrder(
    r.comparisons,
    (c) => c.job,
    PEERS_JOB_ORDER,
    () => 0,
  );
  const rows: string[][] = comparisons.flatMap((c) =>
    c.figures.map((f) => {
      const d = peerDecimals(f.metric);
      return [PEERS_JOB_LABELS[c.job], c.oursName, c.peer, f.metric, fixed(f.ours, d), fixed(f.theirs, d), formatRatio(f.ratio)];
    }),
  );
  for (const s of byOrder(
    r.skipped,
    (x) => x.job,
    PEERS_JOB_ORDER,
    () => 0,
  ))
    rows.push([PEERS_JOB_LABELS[s.job], NONE, s.peer, `skipped: ${s.reason}`, NONE, NONE, NONE]);
  const details = comparisons.flatMap((c) => [
    `${PEERS_JOB_LABELS[c.job]}, ${c.oursName} and ${c.peer} differ: ${c.differences.map(unstop).join('; ')}.`,
    ...(c.behind ? [`${PEERS_JOB_LABELS[c.job]}, where ${c.oursName} is behind: ${unstop(c.behind)}.`] : []),
    ...(c.failures && c.failures.ours + c.failures.theirs > 0
      ? [
          `${PEERS_JOB_LABELS[c.job]}: ${c.failures.ours} tunnels through ${c.oursName} and ${c.failures.theirs} through ${c.peer} did not cross (not counted in tunnels/s).`,
        ]
      : []),
  ]);
  return {
    suite: 'peers',
    title: 'Peers: other implementations of the same job',
    columns: [left('job'), left('ours'), left('peer'), left('figure'), right('ours'), right('peer'), right('ratio')],
    rows,
    note: 'ratio: above 1 = we do better (the peer’s cost ÷ ours for CPU, our rate ÷ the peer’s for MB/s and tunnels/s). Same machine, run, client, certificates and sink; repetitions interleaved, medians.',
    ...(details.length > 0 ? { details } : {}),
  };
}

/** Why a second worker buys little here: the words the workers table ends with. */
export const WORKERS_NOTE =
  'Both ztunnels and the waypoint with --workers 1 and with --workers 2 (two meshes up at once, their repetitions alternating; node:cluster workers behind a primary that keeps istiod, the CA and the admin ports), autocannon at 100 connections as in Max requests/s. ' +
  'vCPU: CPU seconds per second, a proxy counted with all its workers; proxies: both ztunnels and the waypoint; all: those, the client (autocannon) and http-echo. load: the 1-minute load average at the end of each repetition, median. ' +
  "The limit is the machine's cores (2 where this report is made): one request crosses the client, ztunnel A, the waypoint (L7), ztunnel B and http-echo, all on them. One worker is one event loop, so a proxy gets at most about 1 vCPU: " +
  'when the waypoint sits near that with all well under 2, it was the bottleneck and a second worker lets it use the idle core; once all nears the core count, every process only takes turns on the same cores, and a second worker adds its own cost (a heap, an event loop and TLS sessions of its own, and node:cluster handing each accepted connection from the primary to a worker). ' +
  'A worker serves whole connections, and HBONE pools one TLS connection per pair of proxies, so traffic spreads over workers only as far as there are connections (each worker of ztunnel A opens its own). ' +
  'On a shared machine (load above 2), more processes also win a larger share of the CPU from other programs, which flatters the second worker: compare runs on a quiet machine.';

function workersSection(results: readonly WorkersResult[]): Section {
  const rows = [...results].sort((a, b) => REQUEST_ORDER.indexOf(a.path) - REQUEST_ORDER.indexOf(b.path) || a.workers - b.workers);
  return {
    suite: 'workers',
    title: 'Workers',
    columns: [
      left('path'),
      right('workers'),
      right('rps'),
      right('vs 1 worker'),
      right('p50 ms'),
      right('p99 ms'),
      right('waypoint vCPU'),
      right('proxies vCPU'),
      right('all vCPU'),
      right('errors / non-2xx'),
      right('load'),
    ],
    rows: rows.map((w) => {
      const one = rows.find((x) => x.path === w.path && x.workers === 1);
      return [
        REQUEST_LABELS[w.path],
        String(w.workers),
        fixed(w.rps, 0),
        one && one.rps > 0 ? `${fixed(w.rps / one.rps, 2)}x` : NONE,
        fixed(w.ms.p50, 3),
        fixed(w.ms.p99, 3),
        w.path === 'l7' ? fixed(w.vcpu.waypoint, 2) : NONE,
        fixed(proxiesVcpu(w), 2),
        fixed(totalVcpu(w), 2),
        `${w.errors} / ${w.non2xx}`,
        fixed(w.loadAverage, 2),
      ];
    }),
    note: WORKERS_NOTE,
  };
}

/** The per-suite tables with data, in suite order; a suite not run has no section. */
export function suiteSections(r: BenchResults): Section[] {
  const sections: Section[] = [];
  if (r.throughput.length > 0) sections.push(throughputSection(r.throughput));
  if (r.latency.length > 0) sections.push(latencySection(r.latency));
  // Cost comes from the latency runs; a run without process samples has nothing to show.
  const cost = costSection(r.latency);
  if (cost.rows.length > 0) sections.push(cost);
  if (r.maxRps.length > 0) sections.push(maxRpsSection(r.maxRps));
  if (r.connections.length > 0) sections.push(connectionsSection(r.connections));
  if (r.scale.length > 0) sections.push(scaleSection(r.scale));
  // Results written before the hostile suite existed have no such field.
  if ((r.hostile ?? []).length > 0) sections.push(hostileSection(r.hostile));
  if (r.peers && r.peers.comparisons.length + r.peers.skipped.length > 0) sections.push(peersSection(r.peers));
  if (r.push) sections.push(pushSection(r.push));
  if (r.page) sections.push(pageSection(r.page));
  if (r.pods && r.pods.length > 0) sections.push(podsSection(r.pods));
  if (r.workers && r.workers.length > 0) sections.push(workersSection(r.workers));
  if (r.soak) sections.push(soakSection(r.soak));
  return sections;
}

function targetsSection(targets: readonly TargetResult[]): Section {
  return {
    title: 'Targets',
    columns: [left('what'), left('target'), right('measured'), left('verdict'), left('margin')],
    rows: targets.map((t) => [t.what, t.target, formatTargetValue(t), verdictWord(t.met, t.info), t.margin]),
  };
}

function pad(text: string, width: number, align: Align): string {
  return align === 'left' ? text.padEnd(width) : text.padStart(width);
}

export function formatSection(s: Section): string {
  const widths = s.columns.map((c, i) => Math.max(c.header.length, ...s.rows.map((row) => row[i].length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, i) => pad(cell, widths[i], s.columns[i].align))
      .join(COLUMN_GAP)
      .trimEnd();
  const lines = [
    s.title,
    line(s.columns.map((c) => c.header)),
    widths
      .map((w) => '-'.repeat(w))
      .join(COLUMN_GAP)
      .trimEnd(),
    ...s.rows.map(line),
  ];
  if (s.note) lines.push(s.note);
  for (const d of s.details ?? []) lines.push(`- ${d}`);
  return lines.join('\n');
}

export function formatTables(r: BenchResults): string {
  const sections = suiteSections(r);
  if (r.targets.length > 0) sections.push(targetsSection(r.targets));
  if (sections.length === 0) return 'nothing measured\n';
  return sections.map(formatSection).join('\n\n') + '\n';
}
