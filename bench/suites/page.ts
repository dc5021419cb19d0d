// The page suite: how fast the live page paints and how much it weighs (issue 13 §1, "Size").
// bookinfo-ambient, moved onto the bench's block, is held by `hbone-sim up` with its page on a
// free port, its waypoint applied (`waypoint apply --enroll-namespace --wait`) and a few requests
// made with `hbone-sim exec deploy/curl`, so the graph has edges. Debian's chromium, driven by
// playwright-core, then opens the page in a fresh context each time; the page's own clock gives
// first contentful paint, DOMContentLoaded, and the moment the stream was live with an edge drawn.
// The weight is the HTML document as served (script, style and topology are inlined: the page
// loads nothing else but its event stream), with its gzip size for information, and one `graph`
// event of that stream, which a watching page receives once a second.
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { execFile, type ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';
import { ENV_HOME } from '../../src/runner/kubeconfig';
import { percentile } from '../load';
import { startHeldRunner, stopHeldRunner } from '../held-runner';

const execFileP = promisify(execFile);
const CLI = path.resolve(__dirname, '..', '..', 'src', 'cli', 'main.js');
/** dist/bench/suites -> the repository: the bundled scenario is read from scenarios/. */
const REPO = path.resolve(__dirname, '..', '..', '..');
const MESH_NAME = 'bench-page';
/** The browser the live page's test drives; CHROMIUM=/path overrides it, as there. */
export const DEFAULT_CHROMIUM = '/usr/bin/chromium';
/** The window a person would open it in, as the browser test does. */
const VIEWPORT = { width: 1500, height: 1000 };
/** Requests made before the page is opened, so Istio's metrics hold edges. */
const CURLS = 5;
const STEP_MS = 15_000;
/** How long the event stream is read to measure what it sends per second, after its first events. */
const STREAM_SECONDS = 5;
const STREAM_SETTLE_S = 0.5;
const LIVE_PAGE_RE = /live page: (http:\/\/127\.0\.0\.1:\d+\/\?token=[0-9a-f]+)/;

/** One load of the page, milliseconds from the start of navigation, by the page's own clock. */
export interface PageLoadTimes {
  readonly firstContentfulPaintMs: number;
  readonly domContentLoadedMs: number;
  /**
   * The stream said it was open and at least one edge was drawn: the start of the frame after the
   * one that drew both, and not before the first contentful paint.
   */
  readonly liveWithEdgesMs: number;
}

export interface PageResult {
  /** The scenario the page showed, and how much of it. */
  readonly scenario: string;
  readonly pods: number;
  /** e.g. "chromium 131.0.6778.85" */
  readonly browser: string;
  /** Timed loads, each in a fresh browser context; one untimed load came first (coldMs). */
  readonly repsMs: readonly PageLoadTimes[];
  /**
   * The first load: the browser just started, and no page had watched the mesh yet, so its graph
   * waited for the first scrape. Later pages get the scraper's last graph at once. Not in the medians.
   */
  readonly coldMs: PageLoadTimes;
  readonly firstPaintP50Ms: number;
  readonly firstPaintMaxMs: number;
  readonly domContentLoadedP50Ms: number;
  readonly domContentLoadedMaxMs: number;
  readonly liveP50Ms: number;
  readonly liveMaxMs: number;
  /** The HTML document as served: the whole page. */
  readonly htmlBytes: number;
  /** The same, gzipped (level 6): the server does not compress, this is for information. */
  readonly htmlGzipBytes: number;
  /** The topology inlined in it (/api/topology's JSON). */
  readonly topologyBytes: number;
  /** Paths the page requested while loading (query left out), in order, each once. */
  readonly requests: readonly string[];
  /** Edges in the graph event measured, and the bytes of one `graph` event (sent once a second). */
  readonly edges: number;
  readonly graphEventBytes: number;
  /** The `topology` event a stream starts with (sent again only when the topology changes). */
  readonly topologyEventBytes: number;
  /** Bytes the stream sent per second once it settled to one graph event a second (see measureStream). */
  readonly streamBytesPerSecond: number;
}

export interface PageSetup {
  readonly block: number;
  /** Timed loads. */
  readonly reps: number;
  readonly progress: (line: string) => void;
  /** Told of the held runner as soon as it runs, so a Ctrl-C of the bench takes it down. */
  readonly held?: (child: ChildProcess | undefined) => void;
}

export function chromiumPath(): string {
  return process.env.CHROMIUM ?? DEFAULT_CHROMIUM;
}

/** bookinfo-ambient moved to block 10.<n>: nodes 10.n.0.x, pods 10.n.<x>.y, VIPs 10.n.1<x>.y (as the browser test moves it). */
export function pageScenario(n: number): string {
  return fs
    .readFileSync(path.join(REPO, 'scenarios', 'bookinfo-ambient.yaml'), 'utf8')
    .replace(/^name: .*$/m, `name: ${MESH_NAME}`)
    .replace(/10\.1\.0\./g, `10.${n}.0.`)
    .replace(/10\.4\.(\d+)\./g, `10.${n}.$1.`)
    .replace(/10\.8\.(\d+)\./g, `10.${n}.1$1.`);
}

/**
 * Run in the page before its own script: once the stream is live and an edge is in the DOM, waits
 * for the frame that draws them and notes when the next one begins (readTimes then keeps it no
 * earlier than the first contentful paint). A string: the bench compiles without the DOM's types.
 */
const WATCH_LIVE = `(() => {
  const done = () => document.querySelector('#stream-state[data-state="live"]') && document.querySelector('[data-edge]');
  const mo = new MutationObserver(() => {
    if (!done()) return;
    mo.disconnect();
    requestAnimationFrame(() => requestAnimationFrame(() => { window.__hboneLiveAt = performance.now(); }));
  });
  mo.observe(document, { subtree: true, childList: true, attributes: true, attributeFilter: ['data-state', 'data-edge'] });
})();`;

/** The page's globals that readTimes uses (the bench compiles without the DOM's types). */
declare const window: { readonly __hboneLiveAt?: number };

/**
 * The page's side of one load, once it is live: run in the page as a function (the page's CSP
 * forbids evaluating a string there).
 */
function readTimes(): PageLoadTimes | undefined {
  const fcp = performance.getEntriesByName('first-contentful-paint')[0];
  // Node's types know no 'navigation' entry; the browser's performance does.
  const byType = performance.getEntriesByType as unknown as (type: string) => { domContentLoadedEventEnd: number }[];
  const nav = byType.call(performance, 'navigation')[0];
  const liveAt = window.__hboneLiveAt;
  // Chromium stamps the paint when it is presented, which can come after the next frame began:
  // nothing is on screen before the first contentful paint, so neither are the edges.
  return fcp && nav && nav.domContentLoadedEventEnd > 0 && liveAt !== undefined
    ? { firstContentfulPaintMs: fcp.startTime, domContentLoadedMs: nav.domContentLoadedEventEnd, liveWithEdgesMs: Math.max(liveAt, fcp.startTime) }
    : undefined;
}

function get(url: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { agent: false }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          res.statusCode === 200 ? resolve(Buffer.concat(chunks)) : reject(new Error(`GET ${new URL(url).pathname}: HTTP ${res.statusCode}`)),
        );
        res.on('error', reject);
      })
      .on('error', reject);
  });
}

interface StreamSizes {
  readonly graphEventBytes: number;
  readonly topologyEventBytes: number;
  readonly edges: number;
  readonly bytesPerSecond: number;
}

/**
 * Reads /api/events for STREAM_SECONDS and a little more: what one watching page receives. A new
 * stream gets the scraper's last graph at once and a fresh scrape right after; from that second
 * graph event on, events come once a second, so the rate is the bytes after it up to the last
 * graph event, over the time between the two.
 */
function measureStream(pageUrl: string): Promise<StreamSizes> {
  const url = new URL(pageUrl);
  url.pathname = '/api/events';
  return new Promise((resolve, reject) => {
    let buffered = '';
    const events: { kind: string; bytes: number; at: number; data: string }[] = [];
    const req = http.get(url, { agent: false }, (res) => {
      if (res.statusCode !== 200) {
        res.resume();
        reject(new Error(`GET ${url.pathname}: HTTP ${res.statusCode}`));
        return;
      }
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buffered += chunk;
        let end: number;
        while ((end = buffered.indexOf('\n\n')) >= 0) {
          const event = buffered.slice(0, end + 2);
          buffered = buffered.slice(end + 2);
          const kind = /^event: (\w+)/.exec(event)?.[1] ?? '';
          events.push({ kind, bytes: Buffer.byteLength(event), at: performance.now(), data: event.slice(event.indexOf('data: ') + 6) });
        }
      });
    });
    req.on('error', reject);
    setTimeout(
      () => {
        req.destroy();
        const graphs = events.filter((e) => e.kind === 'graph');
        const topology = events.find((e) => e.kind === 'topology');
        if (graphs.length < 3 || !topology) {
          reject(
            new Error(
              `${url.pathname} sent ${graphs.length} graph events in ${STREAM_SECONDS + STREAM_SETTLE_S} s, and ${topology ? 'a' : 'no'} topology event`,
            ),
          );
          return;
        }
        const [ref, last] = [graphs[1], graphs[graphs.length - 1]];
        const bytes = events.filter((e) => e.at > ref.at && e.at <= last.at).reduce((sum, e) => sum + e.bytes, 0);
        resolve({
          graphEventBytes: last.bytes,
          topologyEventBytes: topology.bytes,
          edges: (JSON.parse(last.data) as { edges: unknown[] }).edges.length,
          bytesPerSecond: bytes / ((last.at - ref.at) / 1000),
        });
      },
      (STREAM_SECONDS + STREAM_SETTLE_S) * 1000,
    );
  });
}

const median = (xs: readonly number[]) =>
  percentile(
    [...xs].sort((a, b) => a - b),
    50,
  );
const max = (xs: readonly number[]) => Math.max(...xs);

/** undefined, with the reason told, when there is no chromium to drive. */
export async function runPage(setup: PageSetup): Promise<PageResult | undefined> {
  const executablePath = chromiumPath();
  if (!fs.existsSync(executablePath)) {
    setup.progress(
      `page: SKIPPED, no chromium at ${executablePath} (apt-get install chromium, or CHROMIUM=/path/to/chromium); its targets read "not measured"`,
    );
    return undefined;
  }
  const { chromium } = await import('playwright-core');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hbone-bench-page-'));
  const file = path.join(dir, `${MESH_NAME}.yaml`);
  fs.writeFileSync(file, pageScenario(setup.block));
  const home = path.join(dir, 'home');
  const env = { ...process.env, [ENV_HOME]: home, HBONE_LOG: 'warn', NODE_OPTIONS: '' };
  const sim = async (...args: string[]) => (await execFileP(process.execPath, [CLI, ...args], { env, encoding: 'utf8' })).stdout;
  const runner = await startHeldRunner(['up', file, '--ca-dir', path.join(dir, 'ca'), '--page-port', '0'], { [ENV_HOME]: home });
  setup.held?.(runner.child);
  let browser: Awaited<ReturnType<typeof chromium.launch>> | undefined;
  try {
    const pageUrl = LIVE_PAGE_RE.exec(runner.output)?.[1];
    if (!pageUrl) throw new Error(`hbone-sim up printed no live page URL:\n${runner.output.slice(-2000)}`);
    await sim('waypoint', 'apply', '--enroll-namespace', '--wait');
    for (let i = 0; i < CURLS; i++) {
      const code = await sim('exec', 'deploy/curl', '--', 'curl', '-s', '-o', '/dev/null', '-w', '%{http_code}', 'http://productpage:9080/productpage');
      if (code.trim() !== '200') throw new Error(`curl productpage answered ${code.trim() || 'nothing'}, not 200`);
    }
    const pods = (await sim('get', 'pods')).trim().split('\n').length - 1;

    browser = await chromium.launch({ executablePath, args: ['--no-sandbox'] });
    const b = browser;
    let requests: string[] = [];
    const load = async (): Promise<PageLoadTimes> => {
      const context = await b.newContext({ viewport: VIEWPORT });
      try {
        await context.addInitScript({ content: WATCH_LIVE });
        const page = await context.newPage();
        const seen: string[] = [];
        page.on('request', (r) => {
          const p = new URL(r.url()).pathname;
          if (!seen.includes(p)) seen.push(p);
        });
        const errors: string[] = [];
        page.on('pageerror', (e) => errors.push(e.message));
        await page.goto(pageUrl, { waitUntil: 'commit', timeout: STEP_MS });
        const handle = await page.waitForFunction(readTimes, undefined, { timeout: STEP_MS, polling: 100 });
        const times = (await handle.jsonValue()) as PageLoadTimes;
        if (errors.length > 0) throw new Error(`the page threw: ${errors.join('; ')}`);
        requests = seen;
        return times;
      } finally {
        await context.close();
      }
    };
    // First, before anything watched the mesh: the page a user opens right after `up`.
    const coldMs = await load();

    // The weight: the document as served, and the stream a watching page receives.
    const html = await get(pageUrl);
    const topologyUrl = new URL(pageUrl);
    topologyUrl.pathname = '/api/topology';
    const topology = await get(topologyUrl.toString());
    const stream = await measureStream(pageUrl);

    const repsMs: PageLoadTimes[] = [];
    for (let i = 0; i < setup.reps; i++) repsMs.push(await load());
    const fcp = repsMs.map((r) => r.firstContentfulPaintMs);
    const dcl = repsMs.map((r) => r.domContentLoadedMs);
    const live = repsMs.map((r) => r.liveWithEdgesMs);
    const result: PageResult = {
      scenario: 'bookinfo-ambient',
      pods,
      browser: `chromium ${browser.version()}`,
      repsMs,
      coldMs,
      firstPaintP50Ms: median(fcp),
      firstPaintMaxMs: max(fcp),
      domContentLoadedP50Ms: median(dcl),
      domContentLoadedMaxMs: max(dcl),
      liveP50Ms: median(live),
      liveMaxMs: max(live),
      htmlBytes: html.length,
      htmlGzipBytes: zlib.gzipSync(html).length,
      topologyBytes: topology.length,
      requests,
      edges: stream.edges,
      graphEventBytes: stream.graphEventBytes,
      topologyEventBytes: stream.topologyEventBytes,
      streamBytesPerSecond: stream.bytesPerSecond,
    };
    setup.progress(
      `page: ${result.browser}, ${repsMs.length} loads: first contentful paint p50 ${result.firstPaintP50Ms.toFixed(0)} max ${result.firstPaintMaxMs.toFixed(0)} ms; ` +
        `live with edges p50 ${result.liveP50Ms.toFixed(0)} ms; HTML ${result.htmlBytes} bytes (gzip ${result.htmlGzipBytes}); graph event ${result.graphEventBytes} bytes (${result.edges} edges)`,
    );
    return result;
  } finally {
    await browser?.close();
    await stopHeldRunner(runner.child);
    setup.held?.(undefined);
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
