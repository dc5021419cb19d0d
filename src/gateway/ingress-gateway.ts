// The ingress gateway: the Envoy Istio deploys for a Gateway of class istio, in front of a mesh
// as Istio's guides put one in front of bookinfo. Each listener port takes plain HTTP from
// clients outside the mesh (a browser through port-forward, or a pod through its Service),
// and each request goes through the same HTTP connection manager as a waypoint's
// (src/waypoint/connection-manager.ts), named as a gateway's Envoy names it:
//   0.0.0.0_<port>                 the listener; the client is plaintext, no identity
//   http.<port>                    the HTTPRoutes whose parentRef is the Gateway pick a backend
//   outbound|<port>||<host>        the backend's endpoint, and the RBAC filter of policies that
//                                  target the Gateway or select its pod
//   connect_originate              a CONNECT to the pod over HBONE, as <gateway>-istio
// It reports as Istio's gateways do, reporter="source", with its own pod as the source.
import * as net from 'node:net';
import type * as http from 'node:http';
import { WorkloadCertificate, CertificateSource } from '../identity/workload-cert';
import { makeSpiffeId } from '../identity/spiffe';
import { HbonePool } from '../hbone/pool';
import type { GatewayDoc, Scenario, Workload } from '../mesh/model';
import { clusterAddress, hostAddress, LABEL_GATEWAY_NAME } from '../mesh/model';
import { PORT_ADMIN, PORT_METRICS, PORT_READINESS } from '../mesh/ports';
import { MeshState } from '../mesh/state';
import { gatewayOfPod, ingressName, listenersOf, GatewayListener } from '../mesh/ingress-gateway';
import { AdminServer, readinessRoutes, sendJson, startHttp } from '../admin/http';
import { listen } from '../net/listen';
import { compileRoutes, CompiledRouteTable } from '../policy/httproute';
import type { WaypointTarget } from '../policy/authz';
import { logger, Logger } from '../telemetry/log';
import { TraceLog } from '../telemetry/trace';
import { processRequestLines, RequestLines } from '../telemetry/request-lines';
import { RequestMetrics } from '../telemetry/request-metrics';
import { errorMessage } from '../error-message';
import { ConnectionManager } from '../waypoint/connection-manager';
import { UpstreamPool } from '../waypoint/upstream-pool';
import { UpstreamDial } from '../waypoint/upstream-dial';
import { WaypointAccessLog } from '../waypoint/access-log';
import { HttpListener, RequestReporter } from '../waypoint/reporter';
import { gatewayListenerName, gatewayRouteName, outboundCluster, STAGE_CONNECT_ORIGINATE } from './envoy-names';
import { pickVirtualHost, VirtualHost, virtualHosts } from './virtual-hosts';
import { gatewayConfigDump } from './config-dump';

/**
 * Client connections one listener holds at once; more wait in the kernel's backlog. Envoy
 * bounds them with its overload manager; a bound keeps a flood of idle clients from growing
 * the process without limit.
 */
export const MAX_DOWNSTREAM_CONNECTIONS = 4096;

export interface IngressGatewayOptions {
  readonly scenario: Scenario;
  /** The gateway's own pod. */
  readonly pod: Workload;
  readonly ca: CertificateSource;
  readonly certificate?: WorkloadCertificate;
  /** The mesh as the gateway knows it, kept current by istiod's pushes. */
  readonly state?: MeshState;
  readonly configVersion?: () => string | undefined;
  readonly log?: Logger;
  /** Whether anyone reads its trace records and access log; this process's switch (request-lines.ts) by default. */
  readonly lines?: RequestLines;
}

/** One bound port and its open client connections. */
interface PortServer {
  readonly server: net.Server;
  readonly sockets: Set<net.Socket>;
}

export class IngressGateway {
  readonly state: MeshState;
  readonly metrics = new RequestMetrics();
  private readonly log: Logger;
  private readonly pool = new HbonePool({ log: logger('hbone::pool') });
  private readonly upstreams: UpstreamPool;
  private readonly connectionManager: ConnectionManager;
  private readonly servers = new Map<number, PortServer>();
  /** Per push: each port's listener, virtual hosts and compiled tables (bounded by the configuration). */
  private readonly listeners = new Map<number, HttpListener>();
  private readonly hosts = new Map<number, VirtualHost[]>();
  private readonly tables = new Map<string, CompiledRouteTable>();
  private readonly admin: AdminServer[] = [];
  private cert!: WorkloadCertificate;
  private ready = false;
  private stopped = false;
  /** Listening follows the Gateway's listeners, one change at a time. */
  private reconciling: Promise<void> = Promise.resolve();

  constructor(private readonly options: IngressGatewayOptions) {
    this.state = options.state ?? new MeshState(options.scenario);
    this.log = options.log ?? logger('gateway');
    const dial = new UpstreamDial({ pool: this.pool, state: this.state, pod: options.pod, certificate: () => this.cert });
    this.upstreams = new UpstreamPool((target, traceparent) => dial.open(target, traceparent), options.pod.ip);
    const lines = options.lines ?? processRequestLines();
    this.connectionManager = new ConnectionManager({
      state: this.state,
      pod: options.pod,
      identity: () => this.cert.spiffeId,
      pathNormalization: options.scenario.meshConfig.pathNormalization.normalization,
      upstreams: this.upstreams,
      reporter: new RequestReporter(this.state, this.metrics, new WaypointAccessLog({ enabled: () => lines.accessLog }), {
        pod: options.pod,
        identity: () => this.cert.spiffeId,
      }),
      traces: new TraceLog(undefined, () => lines.trace),
      log: this.log,
    });
    this.state.onUpdate(() => {
      this.listeners.clear();
      this.hosts.clear();
      this.tables.clear();
      if (this.ready) this.reconcile();
    });
  }

  /** The Gateway this pod serves, as the last push has it. */
  get gateway(): GatewayDoc | undefined {
    return gatewayOfPod(this.state.scenario, this.options.pod);
  }

  /** The ports it listens on. */
  get ports(): number[] {
    return [...this.servers.keys()].sort((a, b) => a - b);
  }

  async start(): Promise<void> {
    const pod = this.options.pod;
    const podHost = hostAddress(pod.ip);
    this.admin.push(
      await startHttp(
        podHost,
        PORT_READINESS,
        readinessRoutes(() => this.ready),
      ),
    );
    this.cert =
      this.options.certificate ?? (await WorkloadCertificate.obtain(makeSpiffeId(pod.namespace, pod.serviceAccount, this.state.trustDomain), this.options.ca));
    const gateway = this.gateway;
    if (!gateway) throw new Error(`pod ${pod.namespace}/${pod.name} serves no Gateway of class istio (label gateway.networking.k8s.io/gateway-name)`);
    // Compile every listener's routes now: a bad route fails the start, not a request.
    for (const l of listenersOf(gateway)) for (const v of this.virtualHostsOf(l.port)) this.table(l.port, v);
    this.reconcile();
    await this.reconciling;
    if (this.servers.size === 0) throw new Error(`Gateway ${gateway.metadata.name}: no listener could be bound`);
    this.admin.push(
      await startHttp(podHost, PORT_ADMIN, {
        '/config_dump': (_req, res) =>
          sendJson(
            res,
            gatewayConfigDump(this.state, pod, {
              listeners: this.gatewayListeners(),
              virtualHosts: (port: number) => this.virtualHostsOf(port).map((v) => ({ host: v, table: this.table(port, v) })),
              rbacTarget: this.rbacTarget(),
              versionInfo: this.options.configVersion?.(),
            }),
          ),
      }),
    );
    const metrics = async (_req: unknown, res: http.ServerResponse): Promise<void> => {
      res.writeHead(200, { 'content-type': this.metrics.contentType }).end(await this.metrics.metrics());
    };
    this.admin.push(await startHttp(podHost, PORT_METRICS, { '/metrics': metrics, '/stats/prometheus': metrics }));
    this.ready = true;
    this.log.info('ready', {
      pod: pod.name,
      gateway: `${gateway.metadata.namespace}/${gateway.metadata.name}`,
      identity: this.cert.spiffeId,
      listeners: this.ports.map(gatewayListenerName).join(','),
    });
  }

  async stop(): Promise<void> {
    this.ready = false;
    this.stopped = true;
    this.cert?.stop();
    this.upstreams.close();
    await this.reconciling;
    await Promise.all([...[...this.servers.keys()].map((p) => this.closePort(p)), this.pool.close(1000), ...this.admin.map((a) => a.close())]);
    this.connectionManager.close();
  }

  /** The Gateway's listeners, one per port (read-gateways.ts refuses two on one port). */
  private gatewayListeners(): GatewayListener[] {
    const gateway = this.gateway;
    return gateway ? listenersOf(gateway) : [];
  }

  /** Binds the ports the Gateway lists now and closes those it no longer lists. */
  private reconcile(): void {
    this.reconciling = this.reconciling.then(async () => {
      if (this.stopped) return;
      const wanted = new Set(this.gatewayListeners().map((l) => l.port));
      for (const port of this.servers.keys()) if (!wanted.has(port)) await this.closePort(port);
      for (const port of wanted) {
        if (this.servers.has(port)) continue;
        try {
          await this.openPort(port);
        } catch (err) {
          this.log.error('listener not bound', { listener: gatewayListenerName(port), error: bindProblem(err, port) });
        }
      }
    });
  }

  private async openPort(port: number): Promise<void> {
    const sockets = new Set<net.Socket>();
    const server = net.createServer((socket) => this.onConnection(socket, port, sockets));
    server.maxConnections = MAX_DOWNSTREAM_CONNECTIONS;
    await listen(server, hostAddress(this.options.pod.ip), port);
    this.servers.set(port, { server, sockets });
    this.log.info('listener bound', { listener: gatewayListenerName(port), address: `${this.options.pod.ip}:${port}` });
  }

  private closePort(port: number): Promise<void> {
    const s = this.servers.get(port);
    if (!s) return Promise.resolve();
    this.servers.delete(port);
    return new Promise((resolve) => {
      s.server.close(() => resolve());
      for (const socket of s.sockets) socket.destroy();
    });
  }

  /** A client's connection: plaintext HTTP, handed to the connection manager with this port's listener. */
  private onConnection(socket: net.Socket, port: number, sockets: Set<net.Socket>): void {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    socket.on('error', (err) => this.log.debug('downstream connection error', { listener: gatewayListenerName(port), error: errorMessage(err) }));
    const remote = { address: clusterAddress(socket.remoteAddress ?? ''), port: socket.remotePort ?? 0 };
    this.connectionManager.acceptConnection(socket, {
      listener: this.listener(port),
      remote,
      acceptDetail: {
        listener: `${this.options.pod.ip}:${port}`,
        client: `${remote.address}:${remote.port}`,
        tls: 'none: plaintext HTTP from outside the mesh',
      },
    });
  }

  /** A port as the connection manager's listener: a gateway's Envoy names and its RBAC subject. */
  private listener(port: number): HttpListener {
    let listener = this.listeners.get(port);
    if (listener) return listener;
    const pod = this.options.pod;
    listener = {
      local: { address: pod.ip, port },
      acceptStage: gatewayListenerName(port),
      routeStage: gatewayRouteName(port),
      originateStage: STAGE_CONNECT_ORIGINATE,
      routeTable: (host) => {
        const v = pickVirtualHost(this.virtualHostsOf(port), host);
        return this.table(port, v);
      },
      // A gateway's requests always have a backend Service (it has no pod-addressed traffic).
      endpointStage: (backend, servicePort) => (backend ? outboundCluster(backend, servicePort.port) : gatewayListenerName(port)),
      cluster: (backend, backendPort) => (backend ? outboundCluster(backend, backendPort) : gatewayListenerName(port)),
      rbacTarget: () => this.rbacTarget(),
    };
    this.listeners.set(port, listener);
    return listener;
  }

  /** Policies that target the Gateway, select its pod, or cover its namespace apply at the gateway. */
  private rbacTarget(): WaypointTarget {
    const pod = this.options.pod;
    const gatewayName = pod.labels[LABEL_GATEWAY_NAME];
    return {
      service: { name: ingressName(gatewayName), namespace: pod.namespace },
      workload: { namespace: pod.namespace, labels: pod.labels },
      waypoint: { name: gatewayName, namespace: pod.namespace },
    };
  }

  private virtualHostsOf(port: number): VirtualHost[] {
    let hosts = this.hosts.get(port);
    if (!hosts) {
      const gateway = this.gateway;
      const l = gateway ? listenersOf(gateway).find((x) => x.port === port) : undefined;
      const docs = this.state.scenario.httpRoutes.map(({ origin: _origin, ...doc }) => doc) as unknown as Scenario['httpRoutes'];
      hosts = gateway && l ? virtualHosts(gateway, l, docs) : [];
      this.hosts.set(port, hosts);
    }
    return hosts;
  }

  /** The compiled routes of one virtual host (none: an empty table, so every request is 404 NR). */
  private table(port: number, v: VirtualHost | undefined): CompiledRouteTable {
    const key = `${port}|${v?.name ?? ''}`;
    let table = this.tables.get(key);
    if (!table) {
      const gateway = this.gateway;
      const l = gateway ? listenersOf(gateway).find((x) => x.port === port) : undefined;
      const parent = { kind: 'Gateway' as const, name: gateway?.metadata.name ?? '', namespace: this.options.pod.namespace, port, portName: l?.name };
      table = compileRoutes(v?.routes ?? [], parent);
      this.tables.set(key, table);
    }
    return table;
  }
}

/** A bind error in words: a port under 1024 needs what Istio's gateway pods get from a sysctl. */
function bindProblem(err: unknown, port: number): string {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'EACCES' && port < 1024)
    return `binding port ${port} needs root or net.ipv4.ip_unprivileged_port_start=0, the sysctl Istio's gateway pods set (sudo sysctl net.ipv4.ip_unprivileged_port_start=0)`;
  return errorMessage(err);
}
