// The live page of a held mesh: `hbone-sim up` serves it on loopback and prints its URL with a
// token, as Jupyter does. One HTML document (its script and style inlined, nothing from a CDN),
// a JSON API for what a click asks, and a stream of Server-Sent Events: the graph once a second,
// the topology when it changes. Another local user can reach the port but not the token, so
// they can neither read the mesh's traffic nor apply YAML through it.
import * as http from 'node:http';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { Scenario } from '../mesh/model';
import { MAX_SCENARIO_BYTES } from '../mesh/limits';
import { listen } from '../net/listen';
import type { Logger } from '../telemetry/log';
import type { AccessRecords } from '../runner/access-records';
import type { ChangeAnswer } from '../runner/api-server';
import { apiErrorAnswer } from '../runner/api-server';
import { Topology, topologyOf } from './topology';
import { readRequestBody } from '../net/request-body';
import { MeshScraper } from './mesh-scraper';
import { edgeRequests, requestDetail } from './edge-requests';
import { policiesFor } from './workload-policies';

/** The example port; a second mesh on the machine gets one the kernel picks. */
export const DEFAULT_PAGE_PORT = 15999;
export const PAGE_HOST = '127.0.0.1';
/** Pages open at once: each holds one event stream and its share of the scrape's fan-out. */
export const MAX_STREAMS = 16;
/** The header the page's script sends the token in; a form on another site cannot set it. */
export const TOKEN_HEADER = 'x-hbone-sim-token';
/**
 * Where the page's HTML, script and style live: src/console/assets, read once at start (beside
 * this file when it runs from src/, three levels up from dist/src/console when built).
 */
const ASSETS = [path.resolve(__dirname, 'assets'), path.resolve(__dirname, '..', '..', '..', 'src', 'console', 'assets')].find((d) => fs.existsSync(d))!;

/** What the page needs of the held mesh. */
export interface PageDeps {
  readonly scenario: () => Scenario;
  readonly records: AccessRecords;
  /**
   * Asks the proxies for their trace records while a page is open (its event stream); returns
   * how to stop asking. An edge's requests through a waypoint come from them, so a page lists
   * those made while one was open.
   */
  readonly readTraces?: () => () => void;
  /** POST /apply's work: the same checks and push as `hbone-sim apply`. */
  readonly apply: (files: { file: string; text: string }[]) => Promise<ChangeAnswer>;
  /** istiod's /debug/syncz: the version each proxy ACKed. */
  readonly status: () => Promise<unknown>;
  readonly configDump: (proxy: string) => Promise<unknown>;
  readonly log: Logger;
}

export interface LivePage {
  readonly url: string;
  readonly port: number;
  stop(): Promise<void>;
}

/** The page's HTML with its script, style and token inlined; `{{TOPOLOGY}}` is left for each answer. */
export function pageTemplate(token: string): string {
  const read = (f: string) => fs.readFileSync(path.join(ASSETS, f), 'utf8');
  return read('index.html')
    .replace('/*{{STYLE}}*/', () => read('page.css'))
    .replace('/*{{SCRIPT}}*/', () => read('page.js'))
    .replace('{{TOKEN}}', token);
}

/** The page with the topology in it, so the first paint draws the cluster without waiting on the stream. */
export function pageHtml(template: string, topology: Topology): string {
  // JSON inside <script>: no "</script>" or "<!--" may appear, so every < is escaped.
  return template.replace('{{TOPOLOGY}}', () => JSON.stringify(topology).replace(/</g, '\\u003c'));
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export async function startLivePage(deps: PageDeps, port = DEFAULT_PAGE_PORT): Promise<LivePage> {
  const token = randomBytes(24).toString('hex');
  const template = pageTemplate(token);
  const scraper = new MeshScraper(deps.scenario);
  const streams = new Set<http.ServerResponse>();
  let bound = 0;

  const tokenOk = (given: string | null | undefined): boolean => {
    if (!given) return false;
    const a = Buffer.from(given);
    const b = Buffer.from(token);
    return a.length === b.length && timingSafeEqual(a, b);
  };
  const hostOk = (host: string | undefined): boolean => host === `${PAGE_HOST}:${bound}` || host === `localhost:${bound}`;

  const server = http.createServer((req, res) => {
    void handle(req, res).catch((err) => {
      const answer = err instanceof HttpError ? { status: err.status, message: err.message } : apiErrorAnswer(err);
      if (answer.status === 500) deps.log.error('live page request failed', { path: req.url ?? '', error: answer.message });
      if (!res.headersSent) json(res, answer.status, { message: answer.message });
      else res.destroy();
    });
  });
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://page');
    // A name that resolves to loopback (DNS rebinding) is not this page's origin.
    if (!hostOk(req.headers.host)) throw new HttpError(403, 'forbidden: the live page answers to its own address only');
    const header = req.headers.authorization?.match(/^token (\S+)$/)?.[1] ?? (req.headers[TOKEN_HEADER] as string | undefined);
    if (!tokenOk(header ?? url.searchParams.get('token')))
      throw new HttpError(403, 'forbidden: the live page needs the token `hbone-sim up` printed in its URL');
    const get = req.method === 'GET' || req.method === 'HEAD';
    if (get && url.pathname === '/') return send(res, 200, 'text/html; charset=utf-8', pageHtml(template, topologyOf(deps.scenario())));
    if (get && url.pathname === '/api/topology') return json(res, 200, topologyOf(deps.scenario()));
    if (get && url.pathname === '/api/graph') return json(res, 200, await scraper.snapshot());
    if (get && url.pathname === '/api/events') return events(req, res);
    if (get && url.pathname === '/api/edge') {
      const from = url.searchParams.get('from') ?? '';
      const to = url.searchParams.get('to') ?? '';
      const via = url.searchParams.get('via') || undefined;
      return json(res, 200, { from, to, via, requests: edgeRequests(deps.scenario(), deps.records, { from, to, via }) });
    }
    if (get && url.pathname === '/api/request') {
      const detail = requestDetail(deps.scenario(), deps.records, url.searchParams.get('id') ?? '');
      if (!detail) throw new HttpError(404, 'that request is no longer among the records kept (the last 10,000 lines)');
      return json(res, 200, detail);
    }
    if (get && url.pathname === '/api/policies') {
      const [ns, name] = (url.searchParams.get('pod') ?? '').split('/');
      const pod = deps.scenario().workloads.find((w) => w.namespace === ns && w.name === name);
      if (!pod) throw new HttpError(404, `no pod ${url.searchParams.get('pod')}`);
      return json(res, 200, { pod: `${ns}/${name}`, policies: policiesFor(deps.scenario(), pod) });
    }
    if (get && url.pathname === '/api/config_dump') return json(res, 200, await deps.configDump(url.searchParams.get('proxy') ?? ''));
    if (get && url.pathname === '/api/status') return json(res, 200, await deps.status());
    if (req.method === 'POST' && url.pathname === '/api/apply') {
      // Only the page's script sets the header: a form or a fetch from another site cannot.
      if (!tokenOk(req.headers[TOKEN_HEADER] as string | undefined)) throw new HttpError(403, `forbidden: apply needs the token in the ${TOKEN_HEADER} header`);
      const yaml = await readBody(req);
      if (yaml.trim() === '') throw new HttpError(400, 'nothing to apply: paste one or more YAML documents');
      return json(res, 200, await deps.apply([{ file: 'live-page.yaml', text: yaml }]));
    }
    throw new HttpError(404, `no route ${req.method} ${url.pathname}`);
  }

  function events(req: http.IncomingMessage, res: http.ServerResponse): void {
    if (streams.size >= MAX_STREAMS) throw new HttpError(503, `at most ${MAX_STREAMS} live pages at once`);
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive' });
    streams.add(res);
    const stopReading = deps.readTraces?.();
    let topology = '';
    const sendTopology = () => {
      const now = JSON.stringify(topologyOf(deps.scenario()));
      if (now !== topology) res.write(`event: topology\ndata: ${now}\n\n`);
      topology = now;
    };
    sendTopology();
    const stop = scraper.watch((graph) => {
      // A page that does not read (a tab in the background) is skipped, not buffered for.
      if (res.writableLength > 1 << 20) return;
      sendTopology();
      res.write(`event: graph\ndata: ${JSON.stringify(graph)}\n\n`);
    });
    const close = () => {
      stop();
      stopReading?.();
      streams.delete(res);
    };
    req.on('close', close);
    res.on('error', close);
  }

  let port0: number;
  try {
    port0 = await listen(server, PAGE_HOST, port);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE' || port === 0) throw err;
    port0 = await listen(server, PAGE_HOST, 0);
  }
  bound = port0;
  const url = `http://${PAGE_HOST}:${bound}/?token=${token}`;
  return {
    url,
    port: bound,
    stop: async () => {
      scraper.stop();
      for (const s of streams) s.destroy();
      await new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      });
    },
  };
}

function send(res: http.ServerResponse, status: number, type: string, body: string): void {
  res.writeHead(status, {
    'content-type': type,
    'cache-control': 'no-store',
    // The page runs its own inline script and style, and talks to its own origin only.
    'content-security-policy': "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; img-src 'self' data:",
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
  });
  res.end(body);
}

function json(res: http.ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' }).end(JSON.stringify(body));
}

async function readBody(req: http.IncomingMessage): Promise<string> {
  const body = await readRequestBody(req, MAX_SCENARIO_BYTES, () => new HttpError(413, `YAML over ${MAX_SCENARIO_BYTES} bytes`));
  return body.toString('utf8');
}
