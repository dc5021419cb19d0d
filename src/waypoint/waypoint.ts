// The waypoint: an L7 proxy for the services bound to it (istio.io/use-waypoint), in the four
// stages of a waypoint's Envoy configuration (DESIGN.md section 1):
//   1 inbound_CONNECT_terminate  HBONE on :15008; :authority VIP:port picks the service (here)
//   2 inbound-vip|<port>|http|<host>  HTTP/1.1 inside the tunnel, request by request; HTTPRoute
//   3 inbound-pod|<port>||<pod ip>    AuthorizationPolicy (the RBAC filter), then the endpoint
//   4 inbound_CONNECT_originate  a new pooled HBONE CONNECT to the pod, as the waypoint
// Stages 2 to 4 are the HTTP connection manager's (connection-manager.ts); a tunnel that is
// not HTTP is relayed at L4 (tcp-relay.ts). This file holds the process's own parts: its
// identity, listeners, upstream pools, admin ports and metrics.
import type * as http from 'node:http';
import { WorkloadCertificate, CertificateSource } from '../identity/workload-cert';
import { makeSpiffeId } from '../identity/spiffe';
import { HboneServer, InboundConnect } from '../hbone/server';
import { HbonePool } from '../hbone/pool';
import { formatAuthority } from '../hbone/authority';
import { STATUS_SERVICE_UNAVAILABLE } from '../hbone/constants';
import type { Scenario, Service, Workload } from '../mesh/model';
import { hostAddress, serviceHost } from '../mesh/model';
import { PORT_ADMIN, PORT_HBONE, PORT_METRICS, PORT_READINESS } from '../mesh/ports';
import { MeshState } from '../mesh/state';
import { AdminServer, readinessRoutes, sendJson, startHttp } from '../admin/http';
import { compileRoutes, CompiledRouteTable } from '../policy/httproute';
import { logger, Logger } from '../telemetry/log';
import { TraceLog } from '../telemetry/trace';
import { processRequestLines, RequestLines } from '../telemetry/request-lines';
import { RequestMetrics } from '../telemetry/request-metrics';
import { TcpMetrics } from '../telemetry/tcp-metrics';
import { configDump } from './config-dump';
import { WaypointAccessLog } from './access-log';
import { UpstreamPool } from './upstream-pool';
import { UpstreamDial } from './upstream-dial';
import { ENCAP_CLUSTER, podStage, STAGE_DIRECT_HTTP, STAGE_ORIGINATE, STAGE_TERMINATE, vipStage } from './envoy-names';
import { rbacTarget } from '../policy/authz';
import { ConnectionManager } from './connection-manager';
import { HttpListener, RequestReporter } from './reporter';
import { detectProtocol, relayTcp, TcpRelayContext } from './tcp-relay';

/** The routes of traffic addressed to a pod: none (it goes where it was sent). */
const EMPTY_ROUTES = compileRoutes([], { name: '', namespace: '', port: 0 });

export interface WaypointOptions {
  readonly scenario: Scenario;
  /** The waypoint's own pod. */
  readonly pod: Workload;
  /** Where its certificate comes from: the CA in this process, or istiod's. */
  readonly ca: CertificateSource;
  /** Its certificate, already obtained (from istiod, before the first push); else obtained at start. */
  readonly certificate?: WorkloadCertificate;
  /** The mesh as this waypoint knows it, kept current by istiod's pushes; the scenario's by default. */
  readonly state?: MeshState;
  /** The istiod version this waypoint last ACKed, for its config dump's version_info. */
  readonly configVersion?: () => string | undefined;
  readonly log?: Logger;
  /** Whether anyone reads its trace records and access log; this process's switch (request-lines.ts) by default. */
  readonly lines?: RequestLines;
  /** Serve readiness, /config_dump and /metrics on its pod address; a worker leaves them to its primary. */
  readonly serveAdmin?: boolean;
}

export class Waypoint {
  readonly state: MeshState;
  private readonly log: Logger;
  private readonly pool = new HbonePool({ log: logger('hbone::pool') });
  private readonly upstreams: UpstreamPool;
  private readonly routeTables = new Map<string, CompiledRouteTable>();
  /** Each served service port as an HTTP listener, made once per push. */
  private readonly listeners = new Map<string, HttpListener>();
  private readonly connectionManager: ConnectionManager;
  private readonly relay: TcpRelayContext;
  readonly metrics = new RequestMetrics();
  /** istio_tcp_* for connections relayed at L4 (not HTTP), reporter="waypoint". */
  readonly tcpMetrics = new TcpMetrics();
  private cert!: WorkloadCertificate;
  private server?: HboneServer;
  private readonly admin: AdminServer[] = [];
  private ready = false;

  constructor(private readonly options: WaypointOptions) {
    this.state = options.state ?? new MeshState(options.scenario);
    // A push may change any HTTPRoute: tables are compiled again on their next use.
    this.state.onUpdate(() => {
      this.routeTables.clear();
      this.listeners.clear();
    });
    this.log = options.log ?? logger('waypoint');
    // Stage 4's connections: a CONNECT to the pod, as the waypoint, per upstream HTTP connection.
    const dial = new UpstreamDial({ pool: this.pool, state: this.state, pod: options.pod, certificate: () => this.cert });
    const originate = (target: string, traceparent: string) => dial.originate(target, traceparent);
    this.upstreams = new UpstreamPool((target, traceparent) => dial.open(target, traceparent), options.pod.ip);
    const lines = options.lines ?? processRequestLines();
    this.connectionManager = new ConnectionManager({
      state: this.state,
      pod: options.pod,
      identity: () => this.cert.spiffeId,
      pathNormalization: options.scenario.meshConfig.pathNormalization.normalization,
      upstreams: this.upstreams,
      reporter: new RequestReporter(this.state, this.metrics, new WaypointAccessLog({ enabled: () => lines.accessLog })),
      traces: new TraceLog(undefined, () => lines.trace),
      log: this.log,
    });
    this.relay = { state: this.state, pod: options.pod, metrics: this.tcpMetrics, log: this.log, originate };
  }

  get served(): Service[] {
    return this.state.servicesOfWaypoint(this.options.pod);
  }

  async start(): Promise<void> {
    const pod = this.options.pod;
    const podHost = hostAddress(pod.ip);
    const serveAdmin = this.options.serveAdmin !== false;
    if (serveAdmin)
      this.admin.push(
        await startHttp(
          podHost,
          PORT_READINESS,
          readinessRoutes(() => this.ready),
        ),
      );
    this.cert =
      this.options.certificate ?? (await WorkloadCertificate.obtain(makeSpiffeId(pod.namespace, pod.serviceAccount, this.state.trustDomain), this.options.ca));
    this.server = new HboneServer({
      address: podHost,
      port: PORT_HBONE,
      certificate: this.cert,
      handler: (c) => this.terminate(c),
      log: logger('hbone::server'),
    });
    // Compile every served service's routes now: a bad route fails the start, not a request.
    for (const s of this.served) for (const p of s.ports) this.routeTable(s, p.port);
    await this.server.listen();
    if (serveAdmin) {
      this.admin.push(await startHttp(podHost, PORT_ADMIN, { '/config_dump': (_req, res) => sendJson(res, this.configDump()) }));
      const metrics = async (_req: unknown, res: http.ServerResponse): Promise<void> => {
        res.writeHead(200, { 'content-type': this.metrics.contentType }).end(await this.metricsText());
      };
      this.admin.push(await startHttp(podHost, PORT_METRICS, { '/metrics': metrics, '/stats/prometheus': metrics }));
    }
    this.ready = true;
    this.log.info('ready', { pod: pod.name, identity: this.cert.spiffeId, serves: this.served.map(serviceHost).join(',') });
  }

  /** What /config_dump serves: Envoy's shape of its listeners, routes and clusters. */
  configDump(): ReturnType<typeof configDump> {
    const pod = this.options.pod;
    return configDump(this.state, pod, this.served, { routeTable: (s, p) => this.routeTable(s, p), versionInfo: this.options.configVersion?.() });
  }

  /** What /metrics serves: istio_requests_total and friends, then istio_tcp_* of L4 relays. */
  async metricsText(): Promise<string> {
    return (await this.metrics.metrics()) + (await this.tcpMetrics.metrics());
  }

  async stop(graceMs = 1000): Promise<void> {
    this.ready = false;
    this.cert?.stop();
    this.upstreams.close();
    await Promise.all([this.server?.close(graceMs), this.pool.close(graceMs), ...this.admin.map((a) => a.close())]);
    this.connectionManager.close();
  }

  /** Stage 1: match :authority VIP:port to a service this waypoint serves (or pod ip:port to a pod whose traffic it takes). */
  private terminate(conn: InboundConnect): void {
    const { host, port } = conn.authority;
    const service = this.state.serviceByVip(host);
    const fields = { stage: STAGE_TERMINATE, authority: formatAuthority(host, port), peer: conn.peerSpiffeId };
    const pod = service ? undefined : this.state.podByIp(host);
    if (pod && this.state.waypointOfPod(pod)?.name === this.options.pod.name) return this.terminateForWorkload(conn, pod, port);
    if (!service || !this.served.includes(service) || !service.ports.some((p) => p.port === port)) {
      this.log.info('no service for :authority', fields);
      return conn.reject(STATUS_SERVICE_UNAVAILABLE, `waypoint serves no service at ${formatAuthority(host, port)}`);
    }
    this.log.debug('tunnel accepted', { ...fields, service: serviceHost(service) });
    const stream = conn.accept();
    void detectProtocol(
      stream,
      service.ports.find((p) => p.port === port)!,
    ).then((protocol) => {
      if (protocol === 'tcp') {
        const servicePort = service.ports.find((p) => p.port === port)!;
        const pod = this.state.nextEndpointOf(service);
        return relayTcp(this.relay, conn, stream, {
          service,
          pod,
          targetPort: servicePort.targetPort,
          destination: { ip: service.vip, port },
          rbac: pod ? rbacTarget(service, pod, this.options.pod) : {},
        });
      }
      this.connectionManager.accept(conn, stream, this.listener(service, port));
    });
  }

  /**
   * Traffic addressed to a pod whose traffic this waypoint takes (istio.io/use-waypoint on the pod
   * or its namespace, waypoint-for workload or all): Istio's direct-http or direct-tcp chain, no
   * routes, policies for the pod, then a CONNECT to the pod itself.
   */
  private terminateForWorkload(conn: InboundConnect, pod: Workload, port: number): void {
    this.log.debug('tunnel accepted', { stage: STAGE_TERMINATE, authority: formatAuthority(pod.ip, port), peer: conn.peerSpiffeId, workload: pod.name });
    const stream = conn.accept();
    const rbac = rbacTarget(undefined, pod, this.options.pod);
    void detectProtocol(stream, { name: '', port, targetPort: port }).then((protocol) => {
      if (protocol === 'tcp') return relayTcp(this.relay, conn, stream, { pod, targetPort: port, destination: { ip: pod.ip, port }, rbac });
      this.connectionManager.accept(conn, stream, {
        local: { address: pod.ip, port },
        acceptStage: STAGE_TERMINATE,
        describe: { workload: `${pod.name} (addressed to the pod)` },
        routeStage: STAGE_DIRECT_HTTP,
        originateStage: STAGE_ORIGINATE,
        routeTable: () => EMPTY_ROUTES,
        originalDestination: { pod, port },
        endpointStage: () => podStage(pod, port),
        cluster: () => ENCAP_CLUSTER,
        rbacTarget: () => rbac,
      });
    });
  }

  /** A served service port as the connection manager's listener: the stages of the seed's waypoint. */
  private listener(service: Service, port: number): HttpListener {
    const key = `${service.namespace}/${service.name}:${port}`;
    let listener = this.listeners.get(key);
    if (!listener) {
      listener = {
        local: { address: service.vip, port },
        acceptStage: STAGE_TERMINATE,
        describe: { service: serviceHost(service) },
        routeStage: vipStage(service, port),
        originateStage: STAGE_ORIGINATE,
        routeTable: () => this.routeTable(service, port),
        defaultBackend: service,
        endpointStage: (_backend, servicePort, pod) => podStage(pod, servicePort.targetPort),
        cluster: (backend) => (backend ? vipStage(backend, port) : ENCAP_CLUSTER),
        rbacTarget: (_backend, pod) => rbacTarget(service, pod, this.options.pod),
      };
      this.listeners.set(key, listener);
    }
    return listener;
  }

  private routeTable(service: Service, port: number): CompiledRouteTable {
    const key = `${service.namespace}/${service.name}:${port}`;
    let table = this.routeTables.get(key);
    if (!table) {
      const portName = service.ports.find((p) => p.port === port)?.name;
      // The documents as written: `origin` is the loader's note, not part of Gateway API.
      const docs = this.state.scenario.httpRoutes.map(({ origin: _origin, ...doc }) => doc);
      table = compileRoutes(docs as unknown as Parameters<typeof compileRoutes>[0], { name: service.name, namespace: service.namespace, port, portName });
      this.routeTables.set(key, table);
    }
    return table;
  }
}
