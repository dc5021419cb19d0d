// One ztunnel: the node proxy of ambient mode, in-pod style. For every pod of its node in the
// mesh it listens on podIP:15008 (HBONE inbound), podIP:15080 (SOCKS5 outbound), podIP:15001
// (the in-pod capture) and podIP:15006 (inbound plaintext) (captured-pod.ts), for pods that join
// the node or the mesh while it runs too; a pod outside the mesh gets the node's plain
// networking instead (pod-network.ts). It serves the scenario's port captures whose source is
// local, and the admin ports on the node address.
import * as net from 'node:net';
import { WorkloadCertificate, CertificateSource } from '../identity/workload-cert';
import { CertificateCache } from './certificate-cache';
import { HbonePool } from '../hbone/pool';
import { resetTcp } from '../hbone/pipe';
import { listen } from '../net/listen';
import type { Scenario, Workload, PortCapture } from '../mesh/model';
import { hostAddress } from '../mesh/model';
import { PORT_ADMIN, PORT_METRICS, PORT_READINESS } from '../mesh/ports';
import { AdminServer, readinessRoutes, sendJson, startHttp } from '../admin/http';
import { logger, Logger } from '../telemetry/log';
import { MeshState } from '../mesh/state';
import { handleOutbound, OutboundContext } from './outbound';
import type { Authorizer, InboundContext } from './inbound';
import { OpenConnections } from './open-connections';
import { CapturedPod, PodHostingContext } from './captured-pod';
import { PodNetworkContext, UncapturedPod } from './pod-network';
import { configDump } from './config-dump';
import { ConnectionReporter } from './connection';
import { errorMessage } from '../error-message';
import { isProxyPod } from '../mesh/app-kinds';

/** Pods enrolled at once when ztunnel starts (see enrollAtStart). */
const START_ENROLL_CONCURRENCY = 8;

export interface ZtunnelOptions {
  readonly scenario: Scenario;
  /** The mesh as this ztunnel knows it, kept current by istiod's pushes; the scenario's by default. */
  readonly state?: MeshState;
  readonly node: string;
  /** The mesh CA in this process, or istiod's CA (which checks each pod runs on this node). */
  readonly ca: CertificateSource;
  readonly reporter: ConnectionReporter;
  readonly authorize: Authorizer;
  /** Prometheus text for :15020. */
  readonly metricsText: () => Promise<string>;
  readonly certLifetimeMs?: number;
  /**
   * Every outbound CONNECT on its own TLS connection, never reused: what a tunneled connection
   * costs without the pool (the connections bench). Not a ztunnel setting; the nearest,
   * POOL_MAX_STREAMS_PER_CONNECTION, caps concurrent streams but still reuses connections.
   */
  readonly disablePooling?: boolean;
  /** Serve readiness, /config_dump and /metrics on the node address; a worker leaves them to its primary. */
  readonly serveAdmin?: boolean;
  readonly log?: Logger;
}

/** A listener that failed names itself: which address, and what it was for. */
export class ListenError extends Error {
  override name = 'ListenError';
}

export class Ztunnel {
  readonly state: MeshState;
  private readonly log: Logger;
  /** The pods in the mesh it serves, by name. */
  private readonly pods = new Map<string, CapturedPod>();
  /** The pods of its node outside the mesh, by name: their plain networking. */
  private readonly uncaptured = new Map<string, UncapturedPod>();
  /** Pod changes from istiod's pushes, applied one after another. */
  private podChanges: Promise<void> = Promise.resolve();
  private stopping = false;
  /** Its port captures' listeners (a pod's own are its CapturedPod's). */
  private readonly netServers: net.Server[] = [];
  private readonly admin: AdminServer[] = [];
  private readonly pool: HbonePool;
  /** Its pods' certificates, one per identity, as ztunnel's SecretManager keeps them. */
  private readonly certificates: CertificateCache;
  private ready = false;
  /** Inbound connections delivered and still open, for re-checks on a policy change. */
  private readonly open = new OpenConnections();
  /** Sockets accepted by captures and SOCKS5; destroyed on stop so close() can finish. */
  private readonly sockets = new Set<net.Socket>();

  constructor(private readonly options: ZtunnelOptions) {
    this.state = options.state ?? new MeshState(options.scenario);
    this.log = options.log ?? logger('ztunnel');
    this.pool = new HbonePool({ log: logger('hbone::pool'), disablePooling: options.disablePooling });
    this.certificates = new CertificateCache(async (id) => {
      const cert = await WorkloadCertificate.obtain(id, options.ca, { lifetimeMs: options.certLifetimeMs });
      cert.on('error', (err) => this.log.warn('certificate renewal failed', { identity: cert.spiffeId, error: err.message }));
      return cert;
    });
    if (!options.scenario.nodes.some((n) => n.name === options.node)) throw new Error(`node ${options.node} is not in scenario ${options.scenario.name}`);
  }

  get nodeIp(): string {
    return this.options.scenario.nodes.find((n) => n.name === this.options.node)!.ip;
  }

  /** Every pod on its node but proxies: waypoints terminate HBONE themselves, ingress gateways are not captured. */
  get localPods(): Workload[] {
    return this.state.podsOnNode(this.options.node).filter((p) => !isProxyPod(p));
  }

  /** Whether a pod of this node is in the mesh (captured) now. */
  private captures(pod: Workload): boolean {
    return this.state.speaksHbone(pod);
  }

  async start(): Promise<void> {
    const nodeHost = hostAddress(this.nodeIp);
    const serveAdmin = this.options.serveAdmin !== false;
    // Readiness first, answering 503 until every listener is up.
    if (serveAdmin)
      this.admin.push(
        await this.listenHttp(
          nodeHost,
          PORT_READINESS,
          'readiness',
          readinessRoutes(() => this.ready),
        ),
      );
    const outbound: OutboundContext = {
      state: this.state,
      pool: this.pool,
      certificateOf: (pod) => this.pods.get(pod.name)!.certificate,
      reporter: this.options.reporter,
      log: logger('proxy::outbound'),
    };
    const inbound: InboundContext = {
      state: this.state,
      reporter: this.options.reporter,
      authorize: this.options.authorize,
      log: logger('proxy::inbound'),
      open: this.open,
    };
    const hosting: PodHostingContext = {
      trustDomain: this.state.trustDomain,
      certificates: this.certificates,
      outbound,
      inbound,
      log: this.log,
      listenTcp: (address, port, what, onSocket) => this.serveTcp(address, port, what, onSocket),
      named: (p, address, what) => this.named(p, address, what),
      outboundFailed: (socket, err) => this.outboundFailed(socket, err),
    };
    const network: PodNetworkContext = { state: this.state, log: logger('pod::network'), listenTcp: hosting.listenTcp };
    await this.enrollAtStart(hosting, network);
    this.state.onUpdate((previous) => {
      // A policy change applies to open connections too: those it now denies are closed.
      if (previous.policies !== this.state.scenario.policies) this.recheckOpenConnections();
      // Pods that joined or left the node or the mesh (or moved): enrolled or given up, one change at a time.
      if (previous.workloads !== this.state.scenario.workloads || previous.namespaces !== this.state.scenario.namespaces) {
        this.podChanges = this.podChanges
          .then(() => this.reconcilePods(hosting, network))
          .catch((err: Error) => this.log.error('pod change failed', { error: err.message }));
      }
    });
    for (const capture of this.localCaptures()) {
      const source = this.state.pod(capture.source)!;
      const [host, port] = splitTarget(capture.target);
      await this.listenTcp(capture.listen.address, capture.listen.port, `port capture ${capture.source} -> ${capture.target}`, (socket) => {
        handleOutbound(outbound, socket, source, { host, port }).catch((err: Error) => this.outboundFailed(socket, err));
      });
    }
    if (serveAdmin) {
      this.admin.push(
        await this.listenHttp(nodeHost, PORT_ADMIN, 'admin', {
          '/config_dump': (_req, res) => sendJson(res, this.configDump()),
        }),
      );
      const metrics = async (_req: unknown, res: import('node:http').ServerResponse): Promise<void> => {
        res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' }).end(await this.options.metricsText());
      };
      this.admin.push(await this.listenHttp(nodeHost, PORT_METRICS, 'metrics', { '/metrics': metrics, '/stats/prometheus': metrics }));
    }
    this.ready = true;
    // A worker's admin port is its primary's.
    const admin = serveAdmin ? { admin: `${this.nodeIp}:${PORT_ADMIN}` } : {};
    this.log.info('ready', { node: this.options.node, pods: this.localPods.map((p) => p.name).join(','), ...admin });
  }

  /** What /config_dump serves: the mesh as this ztunnel knows it and the certificates it holds. */
  configDump(): ReturnType<typeof configDump> {
    return configDump(this.state, this.certificates.held());
  }

  /**
   * Its node's pods at start, a few at a time: one pod's CSR waits on istiod while the next
   * generates its key. Kept in the node's order whatever order they finish in; after a failure
   * no more start, those done are kept (stop() gives them back), and the first error is thrown.
   */
  private async enrollAtStart(hosting: PodHostingContext, network: PodNetworkContext): Promise<void> {
    const pods = this.localPods;
    const done: Array<CapturedPod | UncapturedPod | undefined> = new Array<CapturedPod | UncapturedPod | undefined>(pods.length);
    let next = 0;
    let failed: { error: unknown } | undefined;
    const worker = async (): Promise<void> => {
      while (next < pods.length && !failed) {
        const i = next++;
        const pod = pods[i];
        try {
          done[i] = this.captures(pod) ? await CapturedPod.enroll(hosting, pod) : await UncapturedPod.start(network, pod);
        } catch (error) {
          failed ??= { error };
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(START_ENROLL_CONCURRENCY, pods.length) }, worker));
    pods.forEach((pod, i) => {
      const d = done[i];
      if (d instanceof CapturedPod) this.pods.set(pod.name, d);
      else if (d) this.uncaptured.set(pod.name, d);
    });
    if (failed) throw failed.error;
  }

  /** Stops accepting, closes tunnels (GOAWAY, then hard after graceMs) and every listener. */
  async stop(graceMs = 1000): Promise<void> {
    this.ready = false;
    this.stopping = true;
    // A pod being enrolled (its CSR in flight) gives itself back once it is done.
    let waited: NodeJS.Timeout | undefined;
    await Promise.race([this.podChanges, new Promise((r) => (waited = setTimeout(r, graceMs)))]);
    clearTimeout(waited);
    // Captured client connections outlive a graceful close; end them after the grace period.
    const hard = setTimeout(() => {
      for (const s of this.sockets) s.destroy();
    }, graceMs);
    await Promise.all([
      ...this.netServers.map((s) => new Promise<void>((r) => s.close(() => r()))),
      ...[...this.pods.values()].map((p) => p.stop(graceMs)),
      ...[...this.uncaptured.values()].map((p) => p.stop()),
      this.pool.close(graceMs),
      ...this.admin.map((a) => a.close()),
    ]);
    clearTimeout(hard);
  }

  private recheckOpenConnections(): void {
    for (const c of this.open.recheck(this.options.authorize)) {
      this.log.info('connection closed: a policy change denies it', {
        dst: `${c.connection.destinationIp}:${c.connection.destinationPort}`,
        src_identity: c.connection.sourcePrincipal ? `spiffe://${c.connection.sourcePrincipal}` : '(plaintext)',
        reason: c.closedBy?.reason,
        policy: c.closedBy?.policy,
      });
    }
  }

  /**
   * The pods istiod now places on this node against those served: new ones enrolled, gone ones
   * given up (their tunnels closed), one whose address or identity changed enrolled again.
   */
  private async reconcilePods(hosting: PodHostingContext, network: PodNetworkContext): Promise<void> {
    if (this.stopping) return;
    const wanted = new Map(this.localPods.map((p) => [p.name, p]));
    for (const [name, captured] of this.pods) {
      const now = wanted.get(name);
      const same = now && now.ip === captured.pod.ip && now.namespace === captured.pod.namespace && now.serviceAccount === captured.pod.serviceAccount;
      if (same && this.captures(now)) continue;
      this.pods.delete(name);
      await captured.stop(0);
      this.log.info(now && !this.captures(now) ? 'pod left the mesh' : 'pod removed', { pod: name, ip: captured.pod.ip });
    }
    for (const [name, plain] of this.uncaptured) {
      const now = wanted.get(name);
      if (now && now.ip === plain.pod.ip && !this.captures(now)) continue;
      this.uncaptured.delete(name);
      await plain.stop();
    }
    for (const [name, pod] of wanted) {
      if (this.pods.has(name) || this.uncaptured.has(name) || this.stopping) continue;
      if (!this.captures(pod)) {
        try {
          this.uncaptured.set(name, await UncapturedPod.start(network, pod));
        } catch (err) {
          this.log.error('pod network could not be set up', { pod: name, ip: pod.ip, error: errorMessage(err) });
        }
        continue;
      }
      try {
        const captured = await CapturedPod.enroll(hosting, pod);
        if (this.stopping) return void (await captured.stop(0));
        this.pods.set(name, captured);
        this.log.info('pod added', { pod: name, ip: pod.ip, identity: captured.certificate.spiffeId });
      } catch (err) {
        this.log.error('pod could not be added', { pod: name, ip: pod.ip, error: errorMessage(err) });
      }
    }
  }

  /** A bug in the outbound path must not take the node down: log it and reset the client. */
  private outboundFailed(socket: net.Socket, err: Error): void {
    this.log.error('outbound handler failed', { error: err.stack ?? err.message });
    resetTcp(socket);
  }

  /** The scenario's port captures whose source is a pod of this node in the mesh. */
  private localCaptures(): PortCapture[] {
    const local = new Set(this.pods.keys());
    return this.options.scenario.captures.filter((c) => local.has(c.source));
  }

  private async listenTcp(address: string, port: number, what: string, onSocket: (s: net.Socket) => void): Promise<void> {
    this.netServers.push(await this.serveTcp(address, port, what, onSocket));
  }

  /** A TCP listener whose accepted sockets this ztunnel ends at stop; the caller closes it. */
  private async serveTcp(address: string, port: number, what: string, onSocket: (s: net.Socket) => void): Promise<net.Server> {
    const server = net.createServer({ allowHalfOpen: true, pauseOnConnect: true }, (socket) => {
      socket.setNoDelay(true);
      this.sockets.add(socket);
      socket.once('close', () => this.sockets.delete(socket));
      socket.on('error', () => undefined);
      onSocket(socket);
    });
    await this.named(
      listen(server, address, port).then(() => undefined),
      `${address}:${port}`,
      what,
    );
    return server;
  }

  private async listenHttp(address: string, port: number, what: string, routes: Parameters<typeof startHttp>[2]): Promise<AdminServer> {
    let server: AdminServer | undefined;
    await this.named(
      startHttp(address, port, routes).then((s) => {
        server = s;
      }),
      `${address}:${port}`,
      `${what} of ztunnel ${this.options.node}`,
    );
    return server!;
  }

  private async named(p: Promise<void>, address: string, what: string): Promise<void> {
    try {
      await p;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      const why = code === 'EADDRINUSE' ? 'is already in use' : code === 'EADDRNOTAVAIL' ? 'is not a local address' : `cannot be bound (${errorMessage(err)})`;
      throw new ListenError(`${address}, the ${what}, ${why}`);
    }
  }
}

export function splitTarget(target: string): [string, number] {
  const i = target.lastIndexOf(':');
  return [target.slice(0, i), Number(target.slice(i + 1))];
}
