// One ztunnel: the node proxy of ambient mode, in-pod style. For every pod on its node it
// listens on podIP:15008 (HBONE inbound) and podIP:15080 (SOCKS5 outbound); it serves the
// scenario's port captures whose source is local, and the admin ports on the node address.
import * as net from 'node:net';
import { WorkloadCertificate, CertificateSource } from '../identity/workload-cert';
import { makeSpiffeId } from '../identity/spiffe';
import { HboneServer } from '../hbone/server';
import { HbonePool } from '../hbone/pool';
import { resetTcp } from '../hbone/pipe';
import { listen } from '../net/listen';
import type { Scenario, Workload, PortCapture } from '../mesh/model';
import { hostAddress } from '../mesh/model';
import { PORT_ADMIN, PORT_HBONE, PORT_METRICS, PORT_OUTBOUND_CAPTURE, PORT_READINESS, PORT_SOCKS5 } from '../mesh/ports';
import { AdminServer, readinessRoutes, sendJson, startHttp } from '../admin/http';
import { logger, Logger } from '../telemetry/log';
import { MeshState } from '../mesh/state';
import { handleOutbound, OutboundContext } from './outbound';
import { inPodCapture } from './in-pod-capture';
import { inboundHandler, Authorizer } from './inbound';
import { OpenConnections } from './open-connections';
import { acceptSocks5 } from './socks5-server';
import { configDump } from './config-dump';
import { ConnectionReporter } from './connection';
import { errorMessage } from '../error-message';

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
  readonly log?: Logger;
}

/** A listener that failed names itself: which address, and what it was for. */
export class ListenError extends Error {
  override name = 'ListenError';
}

export class Ztunnel {
  readonly state: MeshState;
  private readonly log: Logger;
  private readonly certs = new Map<string, WorkloadCertificate>();
  private readonly hboneServers: HboneServer[] = [];
  private readonly netServers: net.Server[] = [];
  private readonly admin: AdminServer[] = [];
  private readonly pool: HbonePool;
  private ready = false;
  /** Inbound connections delivered and still open, for re-checks on a policy change. */
  private readonly open = new OpenConnections();
  /** Sockets accepted by captures and SOCKS5; destroyed on stop so close() can finish. */
  private readonly sockets = new Set<net.Socket>();

  constructor(private readonly options: ZtunnelOptions) {
    this.state = options.state ?? new MeshState(options.scenario);
    this.log = options.log ?? logger('ztunnel');
    this.pool = new HbonePool({ log: logger('hbone::pool'), disablePooling: options.disablePooling });
    if (!options.scenario.nodes.some((n) => n.name === options.node)) throw new Error(`node ${options.node} is not in scenario ${options.scenario.name}`);
  }

  get nodeIp(): string {
    return this.options.scenario.nodes.find((n) => n.name === this.options.node)!.ip;
  }

  /** The pods this ztunnel captures: every pod on its node but waypoints, which terminate HBONE themselves. */
  get localPods(): Workload[] {
    return this.state.podsOnNode(this.options.node).filter((p) => p.app.kind !== 'waypoint');
  }

  async start(): Promise<void> {
    const nodeHost = hostAddress(this.nodeIp);
    // Readiness first, answering 503 until every listener is up.
    this.admin.push(
      await this.listenHttp(
        nodeHost,
        PORT_READINESS,
        'readiness',
        readinessRoutes(() => this.ready),
      ),
    );
    for (const pod of this.localPods) {
      const cert = await WorkloadCertificate.obtain(makeSpiffeId(pod.namespace, pod.serviceAccount, this.state.trustDomain), this.options.ca, {
        lifetimeMs: this.options.certLifetimeMs,
      });
      cert.on('error', (err) => this.log.warn('certificate renewal failed', { identity: cert.spiffeId, error: err.message }));
      this.certs.set(pod.name, cert);
    }
    const outbound: OutboundContext = {
      state: this.state,
      pool: this.pool,
      certificateOf: (pod) => this.certs.get(pod.name)!,
      reporter: this.options.reporter,
      log: logger('proxy::outbound'),
    };
    const inboundCtx = {
      state: this.state,
      reporter: this.options.reporter,
      authorize: this.options.authorize,
      log: logger('proxy::inbound'),
      open: this.open,
    };
    // A policy change applies to open connections too: those it now denies are closed.
    this.state.onUpdate((previous) => {
      if (previous.policies === this.state.scenario.policies) return;
      for (const c of this.open.recheck(this.options.authorize)) {
        this.log.info('connection closed: a policy change denies it', {
          dst: `${c.connection.destinationIp}:${c.connection.destinationPort}`,
          src_identity: `spiffe://${c.connection.sourcePrincipal}`,
          reason: c.closedBy?.reason,
          policy: c.closedBy?.policy,
        });
      }
    });
    for (const pod of this.localPods) {
      const podHost = hostAddress(pod.ip);
      const server = new HboneServer({
        address: podHost,
        port: PORT_HBONE,
        certificate: this.certs.get(pod.name)!,
        handler: inboundHandler(inboundCtx, pod),
        log: logger('hbone::server'),
      });
      await this.named(server.listen(), `${podHost}:${PORT_HBONE}`, `HBONE inbound of ${pod.name} (${pod.ip}:${PORT_HBONE})`);
      this.hboneServers.push(server);
      await this.listenTcp(podHost, PORT_SOCKS5, `SOCKS5 outbound of ${pod.name} (${pod.ip}:${PORT_SOCKS5})`, (socket) => {
        acceptSocks5(socket)
          .then(
            (req) => handleOutbound(outbound, socket, pod, req, (code) => req.reply(code)),
            (err: Error) => {
              this.log.info('SOCKS5 handshake failed', { pod: pod.name, error: err.message });
              socket.destroy();
            },
          )
          .catch((err: Error) => this.outboundFailed(socket, err));
      });
      await this.listenTcp(podHost, PORT_OUTBOUND_CAPTURE, `in-pod capture of ${pod.name} (${pod.ip}:${PORT_OUTBOUND_CAPTURE})`, (socket) => {
        acceptSocks5(socket)
          .then(
            (req) => inPodCapture(outbound, socket, pod, req),
            (err: Error) => {
              this.log.info('capture handshake failed', { pod: pod.name, error: err.message });
              socket.destroy();
            },
          )
          .catch((err: Error) => this.outboundFailed(socket, err));
      });
    }
    for (const capture of this.localCaptures()) {
      const source = this.state.pod(capture.source)!;
      const [host, port] = splitTarget(capture.target);
      await this.listenTcp(capture.listen.address, capture.listen.port, `port capture ${capture.source} -> ${capture.target}`, (socket) => {
        handleOutbound(outbound, socket, source, { host, port }).catch((err: Error) => this.outboundFailed(socket, err));
      });
    }
    this.admin.push(
      await this.listenHttp(nodeHost, PORT_ADMIN, 'admin', {
        '/config_dump': (_req, res) => sendJson(res, configDump(this.state, [...this.certs.values()])),
      }),
    );
    const metrics = async (_req: unknown, res: import('node:http').ServerResponse): Promise<void> => {
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' }).end(await this.options.metricsText());
    };
    this.admin.push(await this.listenHttp(nodeHost, PORT_METRICS, 'metrics', { '/metrics': metrics, '/stats/prometheus': metrics }));
    this.ready = true;
    this.log.info('ready', { node: this.options.node, pods: this.localPods.map((p) => p.name).join(','), admin: `${this.nodeIp}:${PORT_ADMIN}` });
  }

  /** Stops accepting, closes tunnels (GOAWAY, then hard after graceMs) and every listener. */
  async stop(graceMs = 1000): Promise<void> {
    this.ready = false;
    for (const c of this.certs.values()) c.stop();
    // Captured client connections outlive a graceful close; end them after the grace period.
    const hard = setTimeout(() => {
      for (const s of this.sockets) s.destroy();
    }, graceMs);
    await Promise.all([
      ...this.netServers.map((s) => new Promise<void>((r) => s.close(() => r()))),
      ...this.hboneServers.map((s) => s.close(graceMs)),
      this.pool.close(graceMs),
      ...this.admin.map((a) => a.close()),
    ]);
    clearTimeout(hard);
  }

  /** A bug in the outbound path must not take the node down: log it and reset the client. */
  private outboundFailed(socket: net.Socket, err: Error): void {
    this.log.error('outbound handler failed', { error: err.stack ?? err.message });
    resetTcp(socket);
  }

  private localCaptures(): PortCapture[] {
    const local = new Set(this.localPods.map((p) => p.name));
    return this.options.scenario.captures.filter((c) => local.has(c.source));
  }

  private async listenTcp(address: string, port: number, what: string, onSocket: (s: net.Socket) => void): Promise<void> {
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
    this.netServers.push(server);
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
