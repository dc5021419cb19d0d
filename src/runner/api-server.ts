// The API server of a held mesh (the kube-apiserver's role): HTTPS on loopback, mutual TLS with
// the cluster CA, and only the admin's certificate (group system:masters) gets in. It stores the
// live configuration, checks every change first (file:line: field, as the scenario loader), and
// hands it to istiod; `--wait` answers once every proxy has ACKed (or NACKed) the push.
import * as https from 'node:https';
import type { TLSSocket } from 'node:tls';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ADMIN_GROUP, ClusterCredentials } from '../identity/cluster-ca';
import { readManifests, ManifestFile, skippedLine } from '../mesh/manifests';
import { ScenarioError } from '../mesh/scenario-error';
import { MAX_SCENARIO_BYTES } from '../mesh/limits';
import { PORT_ADMIN, PORT_ISTIOD_MONITORING } from '../mesh/ports';
import { hostAddress } from '../mesh/model';
import { istiodIp, istiodXdsAddress } from '../mesh/control-plane';
import { signToken } from '../identity/sa-token';
import { nameProblem } from '../mesh/k8s-names';
import { listen } from '../net/listen';
import { readRequestBody } from '../net/request-body';
import { errorMessage } from '../error-message';
import { Logger } from '../telemetry/log';
import type { Scenario } from '../mesh/model';
import { Conflict, LiveConfig, NotFound } from './live-config';
import { IstiodChannel } from './istiod-channel';
import { listResources, pickPodName, PodStatusOf, resourceKindOf } from './resources-view';
import { LogStore, MAX_LINES } from './log-store';
import { nodeAgentName } from '../node/agent';
import { TooManyFollowers, TraceFollower } from './trace-follower';
import { GATEWAY_APP, isProxyPod } from '../mesh/app-kinds';
import { DEFAULT_SCRAPE_INTERVAL, prometheusConfig, scrapeIntervalProblem } from '../telemetry/prometheus-config';
import type { WaypointDeployments } from './waypoint-deployments';
import { HostedPods } from './hosted-pods';

/** The API listens on this host address, on a port the kernel picks (written to the kubeconfig). */
export const API_HOST = '127.0.0.1';

export interface ChangeRequest {
  readonly files: readonly ManifestFile[];
  readonly wait?: boolean;
  /** `-n`: the namespace of objects that name none, and the only one they may name. */
  readonly namespace?: string;
}

export interface LabelRequest {
  readonly kind: string;
  readonly name: string;
  readonly namespace: string;
  /** key -> new value, or null to remove the label. */
  readonly changes: Readonly<Record<string, string | null>>;
  readonly overwrite?: boolean;
}

/** kubectl scale deploy/NAME --replicas N. */
export interface ScaleRequest {
  readonly namespace: string;
  readonly name: string;
  readonly replicas: number;
}

export interface ChangeAnswer {
  readonly lines: readonly string[];
  readonly version?: string;
  /** With wait: how long until every proxy answered, who ACKed and who NACKed. */
  readonly synced?: {
    readonly ms: number;
    readonly acked: number;
    readonly nacked: readonly { proxy: string; type: string; message: string }[];
    readonly timedOut?: boolean;
  };
}

/** What the API server works with: the runner's stores and its line to istiod. */
export interface ApiServerDeps {
  readonly credentials: ClusterCredentials;
  readonly config: LiveConfig;
  readonly istiod: IstiodChannel;
  readonly podStatus: PodStatusOf;
  readonly traces: TraceFollower;
  readonly logs: LogStore;
  /** The runner's children by name (one per pod with --pod-processes). */
  readonly children: () => readonly string[];
  /** The key service account tokens are signed with (TokenRequest). */
  readonly tokenKey: string;
  /** The mesh root certificate, PEM (public): handed to clients with their tokens. */
  readonly rootPem: () => string;
  /** Starts and stops the processes of waypoint Gateways applied and deleted. */
  readonly waypoints: WaypointDeployments;
  /** Starts and stops pods applied to and deleted from the nodes, on their node agents. */
  readonly pods: HostedPods;
  readonly log: Logger;
}

/** TokenRequest's default and bounds on expirationSeconds, as the Kubernetes API server's. */
const TOKEN_DEFAULT_SECONDS = 3600;
const TOKEN_MIN_SECONDS = 600;
const TOKEN_MAX_SECONDS = 48 * 3600;
const TOKEN_PATH = /^\/api\/v1\/namespaces\/([^/]+)\/serviceaccounts\/([^/]+)\/token$/;

/**
 * A TokenRequest's answer (`kubectl create token`), plus where istiod is and the mesh root to
 * check it by: in a cluster a client finds those as istiod.istio-system.svc:15012 and the
 * istio-ca-root-cert ConfigMap.
 */
export interface TokenAnswer {
  readonly status: { readonly token: string; readonly expirationTimestamp: string };
  readonly istiod: string;
  readonly rootCert: string;
}

export class ApiServer {
  private server?: https.Server;
  /** One change at a time, in arrival order: each is checked against the config the last left. */
  private queue: Promise<unknown> = Promise.resolve();
  readonly credentials: ClusterCredentials;
  private readonly config: LiveConfig;
  private readonly istiod: IstiodChannel;
  private readonly traces: TraceFollower;
  private readonly log: Logger;

  constructor(private readonly deps: ApiServerDeps) {
    ({ credentials: this.credentials, config: this.config, istiod: this.istiod, traces: this.traces, log: this.log } = deps);
  }

  /** Listens; resolves with the server URL. */
  async start(): Promise<string> {
    const server = https.createServer(
      {
        cert: this.credentials.server.certPem,
        key: this.credentials.server.keyPem,
        ca: this.credentials.caPem,
        requestCert: true,
        rejectUnauthorized: true,
        minVersion: 'TLSv1.3',
      },
      (req, res) => void this.handle(req, res),
    );
    server.keepAliveTimeout = 1000;
    const port = await listen(server, API_HOST, 0);
    this.server = server;
    return `https://${API_HOST}:${port}`;
  }

  async stop(): Promise<void> {
    const s = this.server;
    if (!s) return;
    await new Promise<void>((r) => {
      s.close(() => r());
      s.closeAllConnections();
    });
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const socket = req.socket as TLSSocket;
    const subject = socket.getPeerCertificate()?.subject as { O?: string | string[] } | undefined;
    const groups = ([] as string[]).concat(subject?.O ?? []);
    if (!socket.authorized || !groups.includes(ADMIN_GROUP))
      return send(res, 403, { message: 'forbidden: only the admin certificate of this mesh is accepted' });
    const url = new URL(req.url ?? '/', 'https://api');
    try {
      if (req.method === 'POST' && (url.pathname === '/apply' || url.pathname === '/delete')) {
        const body = (await readJson(req)) as ChangeRequest;
        const answer = await this.serialized(() => this.change(url.pathname === '/apply' ? 'apply' : 'delete', body));
        return send(res, 200, answer);
      }
      if (req.method === 'POST' && url.pathname === '/scale') {
        const body = (await readJson(req)) as ScaleRequest;
        return send(res, 200, await this.serialized(() => this.scale(body)));
      }
      if (req.method === 'POST' && url.pathname === '/label') {
        const body = (await readJson(req)) as LabelRequest;
        return send(res, 200, await this.serialized(() => this.label(body)));
      }
      if (req.method === 'GET' && url.pathname === '/get') {
        const kind = resourceKindOf(url.searchParams.get('resource') ?? '');
        if (!kind) return send(res, 400, { message: `the server doesn't have a resource type "${url.searchParams.get('resource')}"` });
        const ns = url.searchParams.get('all') === '1' ? undefined : (url.searchParams.get('namespace') ?? 'default');
        return send(res, 200, { kind, items: listResources(this.config.scenario, kind, ns, this.deps.podStatus) });
      }
      if (req.method === 'GET' && url.pathname === '/status') return send(res, 200, await this.status());
      if (req.method === 'GET' && url.pathname === '/prometheus-config') return this.scrapeConfig(url, res);
      const token = TOKEN_PATH.exec(url.pathname);
      if (req.method === 'POST' && token) return send(res, 200, this.createToken(token[1], token[2], await readJson(req)));
      if (req.method === 'GET' && url.pathname === '/trace') return this.follow(url, res);
      if (req.method === 'GET' && url.pathname === '/logs') return this.logsOf(url, res);
      if (req.method === 'GET' && url.pathname === '/config_dump') return send(res, 200, await this.configDump(url.searchParams.get('proxy') ?? ''));
      send(res, 404, { message: `no route ${req.method} ${url.pathname}` });
    } catch (err) {
      const answer = apiErrorAnswer(err);
      if (answer.status === 500) this.log.error('API request failed', { path: url.pathname, error: answer.message });
      send(res, answer.status, { message: answer.message });
    }
  }

  /** POST /apply's work, for the live page's YAML box: the same checks, the same push, the same answer. */
  apply(body: ChangeRequest): Promise<ChangeAnswer> {
    return this.serialized(() => this.change('apply', body));
  }

  private serialized<T>(work: () => Promise<T>): Promise<T> {
    const run = this.queue.then(work, work);
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async change(verb: 'apply' | 'delete', body: ChangeRequest): Promise<ChangeAnswer> {
    if (!Array.isArray(body?.files) || body.files.some((f) => typeof f?.file !== 'string' || typeof f?.text !== 'string'))
      throw new BadRequest('expected { files: [{ file, text }] }');
    if (body.namespace !== undefined && typeof body.namespace !== 'string') throw new BadRequest('namespace must be a string');
    const { manifests, skipped } = readManifests(body.files, { namespace: body.namespace });
    if (manifests.length === 0 && skipped.length === 0) throw new BadRequest('no objects passed to ' + verb);
    const before = this.config.scenario;
    const results = manifests.length === 0 ? [] : verb === 'apply' ? this.config.apply(manifests) : this.config.delete(manifests);
    const lines = [...results.map((r) => r.line), ...skipped.map(skippedLine)];
    if (results.every((r) => r.outcome === 'unchanged')) return { lines };
    return this.enact(verb, before, lines, body.wait === true);
  }

  /** kubectl scale: a Deployment's replicas set; its new pods run before the answer. */
  private async scale(body: ScaleRequest): Promise<ChangeAnswer> {
    const ok = body && typeof body.name === 'string' && typeof body.namespace === 'string' && Number.isInteger(body.replicas) && body.replicas >= 0;
    if (!ok) throw new BadRequest('expected { namespace, name, replicas } with replicas a whole number, 0 or more');
    const before = this.config.scenario;
    const result = this.config.scale(body.namespace, body.name, body.replicas);
    return this.enact('scale', before, [result.line], true);
  }

  /**
   * What follows a change to the stored configuration: waypoints of new Gateways start, pods
   * gone stop, istiod pushes, new pods start on their nodes. `lines` gains what happened.
   */
  private async enact(verb: string, before: Scenario, lines: string[], wait: boolean): Promise<ChangeAnswer> {
    const after = this.config.scenario;
    // A new waypoint is up before any proxy hears of it; a deleted one stops once they have.
    let started;
    try {
      started = await this.deps.waypoints.startAdded(before, after);
    } catch (err) {
      this.config.restore(before);
      throw err;
    }
    for (const w of started)
      lines.push(
        `${w.pod.app.kind === GATEWAY_APP ? 'gateway' : 'waypoint'} ${w.pod.namespace}/${w.pod.workloadName}: pod ${w.pod.name} on ${w.pod.node} (${w.pod.ip}), ready in ${w.readyMs.toFixed(0)} ms`,
      );
    // A deleted pod stops before the push that removes it; an applied one starts after the push
    // that tells its ztunnel (which then captures it), as the CNI enrolls a pod before it runs.
    this.deps.pods.remove(HostedPods.added(after, before));
    let answer: ChangeAnswer;
    try {
      answer = await this.push(verb, before, lines, wait, () => this.deps.waypoints.stopRemoved(before, after));
    } catch (err) {
      await this.deps.waypoints.stopRemoved(after, before);
      throw err;
    }
    const added = HostedPods.added(before, after);
    if (added.length === 0) return answer;
    try {
      for (const p of await this.deps.pods.add(after, added))
        lines.push(`pod ${p.pod.namespace}/${p.pod.name}: on ${p.pod.node} (${p.pod.ip}), running in ${p.readyMs.toFixed(0)} ms`);
    } catch (err) {
      lines.push(`not every pod is running: ${errorMessage(err)}`);
    }
    return { ...answer, lines };
  }

  private async label(body: LabelRequest): Promise<ChangeAnswer> {
    const ok = body && typeof body.name === 'string' && typeof body.namespace === 'string' && typeof body.changes === 'object' && body.changes !== null;
    if (!ok) throw new BadRequest('expected { kind, name, namespace, changes }');
    if (body.kind !== 'service' && body.kind !== 'namespace' && body.kind !== 'pod')
      throw new BadRequest(
        `labelling ${String(body.kind)} is not modelled: hbone-sim labels services, namespaces and pods (istio.io/use-waypoint, istio.io/dataplane-mode)`,
      );
    const before = this.config.scenario;
    const overwrite = body.overwrite === true;
    const result =
      body.kind === 'service'
        ? this.config.labelService(body.namespace, body.name, body.changes, overwrite)
        : body.kind === 'pod'
          ? this.config.labelPod(body.namespace, body.name, body.changes, overwrite)
          : this.config.labelNamespace(body.name, body.changes, overwrite);
    if (result.outcome === 'unchanged') return { lines: [result.line] };
    // A label moves traffic from the next connection: answer once every proxy has it.
    return this.push('label', before, [result.line], true);
  }

  /** Hands istiod the stored configuration; if it does not take it, the store goes back to `before`. */
  /**
   * Hands istiod the stored configuration; if it does not take it, the store goes back to
   * `before`. `afterSync` runs once every proxy has answered (before the answer, with wait).
   */
  private async push(verb: string, before: Scenario, lines: readonly string[], wait: boolean, afterSync?: () => Promise<unknown>): Promise<ChangeAnswer> {
    let push;
    try {
      push = await this.istiod.push(this.config.scenario);
    } catch (err) {
      this.config.restore(before);
      throw err;
    }
    this.log.info(`${verb}: pushed`, { version: push.version, objects: lines.length });
    const after = push.synced.then(async (s) => {
      await afterSync?.();
      return s;
    });
    if (!wait) {
      after.catch((err: unknown) => this.log.error(`${verb}: after the push`, { error: errorMessage(err) }));
      return { lines, version: push.version };
    }
    const s = await after;
    return { lines, version: push.version, synced: { ms: s.ms, acked: s.acked.length, nacked: s.nacked, ...(s.timedOut ? { timedOut: true } : {}) } };
  }

  /**
   * TokenRequest: a token for a service account, as `kubectl create token` gets one. It names no
   * pod or node, and expires (10 minutes to 48 hours, 1 hour by default).
   */
  private createToken(namespace: string, serviceAccount: string, body: unknown): TokenAnswer {
    const spec = (body as { spec?: { expirationSeconds?: unknown } } | null)?.spec;
    const seconds = spec?.expirationSeconds ?? TOKEN_DEFAULT_SECONDS;
    if (typeof seconds !== 'number' || !Number.isInteger(seconds) || seconds < TOKEN_MIN_SECONDS || seconds > TOKEN_MAX_SECONDS)
      throw new BadRequest(`spec.expirationSeconds: must be an integer from ${TOKEN_MIN_SECONDS} to ${TOKEN_MAX_SECONDS}`);
    const badName = nameProblem(namespace, 'label') ?? nameProblem(serviceAccount, 'subdomain');
    if (badName) throw new BadRequest(badName);
    const exp = Math.floor(Date.now() / 1000) + seconds;
    this.log.info('token issued', { namespace, serviceAccount, expirationSeconds: seconds });
    return {
      status: { token: signToken(this.deps.tokenKey, { namespace, serviceAccount, exp }), expirationTimestamp: new Date(exp * 1000).toISOString() },
      istiod: istiodXdsAddress(this.config.scenario),
      rootCert: this.deps.rootPem(),
    };
  }

  /** trace --follow: told requests stream as lines until the client goes. */
  private follow(url: URL, res: ServerResponse): void {
    const pod = url.searchParams.get('pod') ?? undefined;
    if (pod && !this.config.scenario.workloads.some((w) => w.name === pod))
      return send(res, 404, { message: `Error from server (NotFound): pods "${pod}" not found` });
    let stop: () => void;
    const sink = (text: string) => res.write(text);
    try {
      stop = this.traces.follow({ pod, json: url.searchParams.get('json') === '1' }, sink);
    } catch (err) {
      if (err instanceof TooManyFollowers) return send(res, 429, { message: err.message });
      throw err;
    }
    res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
    res.write(`# following requests${pod ? ` from ${pod}` : ''} through mesh ${this.config.scenario.name}; Ctrl-C to stop\n\n`);
    res.on('drain', () => this.traces.caughtUp(sink));
    res.on('close', () => stop());
  }

  /**
   * kubectl logs: a process's stderr (istiod, ztunnel-<node>, a waypoint, kubelet-<node>), or a
   * pod's own lines (its node agent's, under the target app::<pod>; its process's with
   * --pod-processes). With follow=1, new lines stream until the client goes.
   */
  private logsOf(url: URL, res: ServerResponse): void {
    const asked = url.searchParams.get('name') ?? '';
    const s = this.config.scenario;
    const children = this.deps.children();
    const podName = pickPodName(
      s.workloads.map((w) => w.name),
      asked,
    );
    const pod = s.workloads.find((w) => w.name === podName);
    let child: string | undefined;
    let target: string | undefined;
    if (children.includes(asked)) child = asked;
    else if (pod && children.includes(pod.name)) child = pod.name;
    else if (pod) [child, target] = [nodeAgentName(pod.node), `app::${pod.name}`];
    if (!child) return send(res, 404, { message: `Error from server (NotFound): no pod or process "${asked}" (processes: ${children.join(', ')})` });
    const tail = Math.min(Number(url.searchParams.get('tail') ?? MAX_LINES) || MAX_LINES, MAX_LINES);
    res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
    for (const line of this.deps.logs.lines(child, target, tail)) res.write(line + '\n');
    if (url.searchParams.get('follow') !== '1') return void res.end();
    const stop = this.deps.logs.follow(child, target, (line) => {
      // A reader that is behind loses lines rather than growing this process's memory.
      if (!res.writableNeedDrain) res.write(line + '\n');
    });
    res.on('close', () => stop());
  }

  /** A proxy's /config_dump: ztunnel-<node> on the node's address, a waypoint's or ingress gateway's pod on its own. */
  /** A proxy's /config_dump by its name (ztunnel-<node>, a waypoint's or gateway's pod): GET /config_dump. */
  async configDump(proxy: string): Promise<unknown> {
    const s = this.config.scenario;
    const node = s.nodes.find((n) => `ztunnel-${n.name}` === proxy);
    const waypoint = s.workloads.find((w) => isProxyPod(w) && (w.name === proxy || `deploy/${w.workloadName}` === proxy));
    const ip = node?.ip ?? waypoint?.ip;
    if (!ip) {
      const known = [...s.nodes.map((n) => `ztunnel-${n.name}`), ...s.workloads.filter(isProxyPod).map((w) => w.name)];
      throw new NotFound(`no proxy ${JSON.stringify(proxy)} (proxies: ${known.join(', ')})`);
    }
    const res = await fetch(`http://${hostAddress(ip)}:${PORT_ADMIN}/config_dump`);
    return { proxy: node ? `ztunnel-${node.name}` : waypoint!.name, kind: node ? 'ztunnel' : 'waypoint', dump: await res.json() };
  }

  /** A Prometheus scrape configuration for the mesh as it is now (`x prometheus-config`). */
  private scrapeConfig(url: URL, res: ServerResponse): void {
    const interval = url.searchParams.get('interval') ?? DEFAULT_SCRAPE_INTERVAL;
    const bad = scrapeIntervalProblem(interval);
    if (bad) return send(res, 400, { message: bad });
    send(res, 200, { mesh: this.config.scenario.name, config: prometheusConfig(this.config.scenario, interval) });
  }

  /** istiod's /debug/syncz: the version each proxy ACKed (GET /status, `x status`). */
  async status(): Promise<unknown> {
    const url = `http://${hostAddress(istiodIp(this.config.scenario))}:${PORT_ISTIOD_MONITORING}/debug/syncz`;
    const res = await fetch(url);
    return { istiod: url, proxies: await res.json() };
  }
}

class BadRequest extends Error {
  override name = 'BadRequest';
}

/** The status and message an API error is answered with, in kubectl's words; 500 for anything unexpected. */
export function apiErrorAnswer(err: unknown): { status: number; message: string } {
  if (err instanceof ScenarioError) return { status: 422, message: err.message };
  if (err instanceof NotFound) return { status: 404, message: `Error from server (NotFound): ${err.message}` };
  if (err instanceof Conflict) return { status: 409, message: `error: ${err.message}` };
  if (err instanceof BadRequest) return { status: 400, message: err.message };
  return { status: 500, message: errorMessage(err) };
}

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  // The files of one apply, as JSON: a few times the scenario limit at most.
  const limit = 4 * MAX_SCENARIO_BYTES;
  const body = await readRequestBody(req, limit, () => new BadRequest(`request over ${limit} bytes`));
  try {
    return JSON.parse(body.toString('utf8'));
  } catch {
    throw new BadRequest('the request is not JSON');
  }
}
