// What every proxy knows about the mesh: every workload and service (ztunnel receives them all
// over XDS; here they come from the scenario), and how a destination resolves.
import { isIP } from 'node:net';
import {
  Scenario,
  Service,
  ServicePort,
  TunnelProtocol,
  Workload,
  CLUSTER_DOMAIN,
  LABEL_GATEWAY_NAME,
  LABEL_USE_WAYPOINT,
  LABEL_WAYPOINT_FOR,
  selects,
  serviceHost,
} from './model';
import { inMesh } from './enrollment';
import { formatAuthority } from '../hbone/authority';

/** istio.io/waypoint-for values whose waypoint takes a Service's traffic; service is the default. */
const WAYPOINT_FOR_SERVICE = 'service';
const WAYPOINT_FOR_SERVICES = [WAYPOINT_FOR_SERVICE, 'all'];
/** Waypoints that take traffic addressed to a pod's own IP. */
const WAYPOINT_FOR_WORKLOADS = ['workload', 'all'];
import { GATEWAY_APP, WAYPOINT_APP } from './app-kinds';

/** Where an outbound connection goes. */
export type Upstream =
  /** A mesh pod, over HBONE to its :15008. `service` is set when a service name or VIP was dialled. */
  | {
      readonly kind: 'hbone';
      readonly pod: Workload;
      readonly port: number;
      readonly service?: Service;
      readonly servicePort?: ServicePort;
      /** The service's other endpoints, in the order to try them if `pod` cannot be reached. */
      readonly fallbacks?: readonly Workload[];
    }
  /** A pod outside the mesh: plain TCP to podIP:port, as ztunnel sends to a workload without HBONE. */
  | { readonly kind: 'direct'; readonly pod: Workload; readonly port: number; readonly service?: Service; readonly servicePort?: ServicePort }
  /**
   * Through a waypoint: HBONE to the waypoint pod, :authority the original VIP:port for a service
   * bound to it, or the pod's ip:port for a pod whose traffic it takes (`pod` is set then).
   */
  | {
      readonly kind: 'waypoint';
      readonly waypoint: Workload;
      readonly authority: string;
      readonly service?: Service;
      readonly servicePort?: ServicePort;
      readonly pod?: Workload;
    }
  /** Outside the mesh: plain TCP, as ztunnel passes through unknown destinations. */
  | { readonly kind: 'passthrough'; readonly host: string; readonly port: number }
  /** A mesh name or VIP that cannot be served (no such port, no endpoints). */
  | { readonly kind: 'unroutable'; readonly reason: string };

export class MeshState {
  private readonly podsByIp = new Map<string, Workload>();
  private readonly servicesByVip = new Map<string, Service>();
  private readonly servicesByHost = new Map<string, Service>();
  private readonly nextEndpoint = new Map<string, number>();
  /** Each service's endpoints, found once per configuration (a waypoint asks twice a request). */
  private readonly endpoints = new Map<Service, readonly Workload[]>();
  private readonly updateListeners: ((previous: Scenario) => void)[] = [];
  private current: Scenario;

  constructor(scenario: Scenario) {
    this.current = scenario;
    this.index();
  }

  /** The mesh as last configured: the scenario file's, then istiod's pushes. */
  get scenario(): Scenario {
    return this.current;
  }

  /**
   * New workloads, services, policies or routes (an xDS push): lookups see them at once;
   * connections already open keep what they resolved. Listeners run after the swap.
   */
  update(next: Scenario): void {
    const previous = this.current;
    this.current = next;
    this.podsByIp.clear();
    this.servicesByVip.clear();
    this.servicesByHost.clear();
    this.endpoints.clear();
    this.index();
    // Round-robin positions of services that are gone would otherwise stay forever.
    for (const key of this.nextEndpoint.keys()) if (!next.services.some((s) => `${s.namespace}/${s.name}` === key)) this.nextEndpoint.delete(key);
    for (const l of this.updateListeners) l(previous);
  }

  onUpdate(listener: (previous: Scenario) => void): void {
    this.updateListeners.push(listener);
  }

  private index(): void {
    for (const w of this.current.workloads) this.podsByIp.set(w.ip, w);
    for (const s of this.current.services) {
      this.servicesByVip.set(s.vip, s);
      this.servicesByHost.set(serviceHost(s), s);
    }
  }

  get trustDomain(): string {
    return this.scenario.trustDomain;
  }

  podByIp(ip: string): Workload | undefined {
    return this.podsByIp.get(ip);
  }

  pod(name: string): Workload | undefined {
    return this.scenario.workloads.find((w) => w.name === name);
  }

  podsOnNode(node: string): Workload[] {
    return this.scenario.workloads.filter((w) => w.node === node);
  }

  endpointsOf(s: Service): readonly Workload[] {
    let endpoints = this.endpoints.get(s);
    if (!endpoints) {
      endpoints = this.scenario.workloads.filter((w) => w.namespace === s.namespace && selects(s.selector, w.labels));
      this.endpoints.set(s, endpoints);
    }
    return endpoints;
  }

  /** The waypoint pod serving a service (istio.io/use-waypoint on it or its namespace), if any. */
  waypointOf(service: Service): Workload | undefined {
    const gateway = useWaypointOf(this.scenario, service);
    if (!gateway || gateway === 'none') return undefined;
    return this.scenario.workloads.find((w) => w.namespace === service.namespace && w.labels[LABEL_GATEWAY_NAME] === gateway);
  }

  /**
   * The waypoint pod that traffic addressed to `pod` goes through: istiod's verdict when it
   * pushed one (Workload.waypoint), else the labels' (use-waypoint on the pod or its namespace).
   */
  waypointOfPod(pod: Workload): Workload | undefined {
    const gateway = pod.tunnelProtocol !== undefined ? pod.waypoint : workloadWaypointOf(this.scenario, pod);
    if (!gateway) return undefined;
    return this.scenario.workloads.find((w) => w.namespace === pod.namespace && w.app.kind === WAYPOINT_APP && w.labels[LABEL_GATEWAY_NAME] === gateway);
  }

  /** Pods whose own traffic a waypoint takes. */
  workloadsOfWaypoint(waypoint: Workload): Workload[] {
    return this.scenario.workloads.filter(
      (w) => w.namespace === waypoint.namespace && w.name !== waypoint.name && this.waypointOfPod(w)?.name === waypoint.name,
    );
  }

  /** Services a waypoint serves: those bound to its Gateway's name, by their label or their namespace's. */
  servicesOfWaypoint(waypoint: Workload): Service[] {
    const gateway = waypoint.labels[LABEL_GATEWAY_NAME];
    return this.scenario.services.filter((s) => s.namespace === waypoint.namespace && useWaypointOf(this.scenario, s) === gateway);
  }

  serviceByVip(vip: string): Service | undefined {
    return this.servicesByVip.get(vip);
  }

  /** Services that select a pod: what a destination reporter labels its metrics with. */
  servicesOf(pod: Workload): Service[] {
    return this.scenario.services.filter((s) => s.namespace === pod.namespace && selects(s.selector, pod.labels));
  }

  /**
   * A host name as a pod's resolver would expand it: `details`, `details.default`,
   * `details.default.svc` and the full name all find the service, short names in the
   * caller's namespace.
   */
  serviceByName(host: string, fromNamespace: string): Service | undefined {
    const name = host.replace(/\.$/, '').toLowerCase();
    const candidates = [name, `${name}.${fromNamespace}.${CLUSTER_DOMAIN}`, `${name}.${CLUSTER_DOMAIN}`, `${name}.cluster.local`];
    for (const c of candidates) {
      const s = this.servicesByHost.get(c);
      if (s) return s;
    }
    return undefined;
  }

  /** Resolves an original destination (host or IP, and port) for a source pod. */
  resolve(source: Workload, host: string, port: number): Upstream {
    const service = isIP(host) ? this.servicesByVip.get(host) : this.serviceByName(host, source.namespace);
    if (service) {
      const waypoint = this.waypointOf(service);
      // The waypoint's own connections go to the endpoints: never loop back into it.
      if (waypoint && waypoint !== source) {
        const servicePort = service.ports.find((p) => p.port === port);
        if (!servicePort) return { kind: 'unroutable', reason: `service ${serviceHost(service)} has no port ${port}` };
        return { kind: 'waypoint', waypoint, authority: formatAuthority(service.vip, port), service, servicePort };
      }
      return this.viaWorkloadWaypoint(source, this.upstreamOfService(service, port));
    }
    if (isIP(host)) {
      const pod = this.podsByIp.get(host);
      if (pod) return this.viaWorkloadWaypoint(source, this.speaksHbone(pod) ? { kind: 'hbone', pod, port } : { kind: 'direct', pod, port });
    }
    return { kind: 'passthrough', host, port };
  }

  /**
   * As ztunnel does once it has picked the pod: if a waypoint takes that pod's traffic (and the
   * caller is not that waypoint), the connection goes to the waypoint, :authority the pod's ip:port.
   */
  private viaWorkloadWaypoint(source: Workload, up: Upstream): Upstream {
    if (up.kind !== 'hbone' && up.kind !== 'direct') return up;
    const waypoint = this.waypointOfPod(up.pod);
    if (!waypoint || waypoint === source || !this.speaksHbone(up.pod)) return up;
    return { kind: 'waypoint', waypoint, authority: formatAuthority(up.pod.ip, up.port), service: up.service, servicePort: up.servicePort, pod: up.pod };
  }

  /** The next endpoint of a service, round robin (the waypoint picks one per request). */
  nextEndpointOf(service: Service): Workload | undefined {
    const endpoints = this.endpointsOf(service);
    return endpoints.length === 0 ? undefined : endpoints[this.step(service, endpoints.length)];
  }

  /** Every endpoint of a service in the order to try them: round robin, one step per call. */
  private endpointOrder(service: Service): readonly Workload[] {
    const endpoints = this.endpointsOf(service);
    if (endpoints.length === 0) return [];
    const start = this.step(service, endpoints.length);
    return [...endpoints.slice(start), ...endpoints.slice(0, start)];
  }

  /** The round robin's position for a service with `count` endpoints, moved one step on. */
  private step(service: Service, count: number): number {
    const key = `${service.namespace}/${service.name}`;
    const start = (this.nextEndpoint.get(key) ?? 0) % count;
    this.nextEndpoint.set(key, start + 1);
    return start;
  }

  private upstreamOfService(service: Service, port: number): Upstream {
    const servicePort = service.ports.find((p) => p.port === port);
    if (!servicePort) return { kind: 'unroutable', reason: `service ${serviceHost(service)} has no port ${port}` };
    const [pod, ...others] = this.endpointOrder(service);
    if (!pod) return { kind: 'unroutable', reason: `service ${serviceHost(service)} has no endpoints` };
    if (!this.speaksHbone(pod)) return { kind: 'direct', pod, port: servicePort.targetPort, service, servicePort };
    const fallbacks = others.filter((w) => this.speaksHbone(w));
    return { kind: 'hbone', pod, port: servicePort.targetPort, service, servicePort, fallbacks };
  }

  /** A pod reached over HBONE: one in the mesh, or a waypoint (which terminates HBONE itself). */
  speaksHbone(pod: Workload): boolean {
    return tunnelProtocolOf(this.current, pod) === 'HBONE';
  }
}

/** HBONE or NONE: istiod's verdict when it pushed one, else the enrollment labels'. */
export function tunnelProtocolOf(s: Pick<Scenario, 'namespaces'>, pod: Workload): TunnelProtocol {
  if (pod.tunnelProtocol) return pod.tunnelProtocol;
  // An ingress gateway is never captured (its Envoy originates HBONE itself): its clients reach it plain.
  if (pod.app.kind === GATEWAY_APP) return 'NONE';
  return pod.app.kind === WAYPOINT_APP || inMesh(s, pod) ? 'HBONE' : 'NONE';
}

/**
 * The waypoint a Service uses, as Istio reads istio.io/use-waypoint: the Service's own label
 * (`none` opts it out), else its namespace's; and only a waypoint for service traffic
 * (istio.io/waypoint-for service, the default, or all) takes it: one for workloads or none
 * leaves the Service's traffic direct.
 */
export function useWaypointOf(s: Pick<Scenario, 'namespaces'> & Partial<Pick<Scenario, 'gateways'>>, service: Service): string | undefined {
  const gateway = service.labels[LABEL_USE_WAYPOINT] ?? s.namespaces?.find((n) => n.name === service.namespace)?.labels[LABEL_USE_WAYPOINT];
  if (gateway === undefined || gateway === 'none') return gateway;
  const doc = s.gateways?.find((g) => g.metadata.name === gateway && g.metadata.namespace === service.namespace);
  const trafficFor = doc?.metadata.labels?.[LABEL_WAYPOINT_FOR] ?? WAYPOINT_FOR_SERVICE;
  return WAYPOINT_FOR_SERVICES.includes(trafficFor) ? gateway : undefined;
}

/**
 * The waypoint a pod's own traffic goes through, as Istio reads istio.io/use-waypoint for a
 * workload: the pod's label (`none` opts it out), else its namespace's; only a waypoint for
 * workload or all traffic takes it.
 */
export function workloadWaypointOf(s: Pick<Scenario, 'namespaces'> & Partial<Pick<Scenario, 'gateways'>>, pod: Workload): string | undefined {
  const gateway = pod.labels[LABEL_USE_WAYPOINT] ?? s.namespaces?.find((n) => n.name === pod.namespace)?.labels[LABEL_USE_WAYPOINT];
  if (gateway === undefined || gateway === 'none' || pod.app.kind === WAYPOINT_APP) return undefined;
  const doc = s.gateways?.find((g) => g.metadata.name === gateway && g.metadata.namespace === pod.namespace);
  const trafficFor = doc?.metadata.labels?.[LABEL_WAYPOINT_FOR] ?? WAYPOINT_FOR_SERVICE;
  return WAYPOINT_FOR_WORKLOADS.includes(trafficFor) ? gateway : undefined;
}

/**
 * A Service as istiod pushes it: bound to the waypoint it resolves to (its own label, else its
 * namespace's, if that waypoint takes service traffic), or to none: istiod resolves the binding
 * and the proxies read it from the Service.
 */
export function withWaypointBinding(s: Pick<Scenario, 'namespaces'> & Partial<Pick<Scenario, 'gateways'>>, service: Service): Service {
  const gateway = useWaypointOf(s, service);
  if (gateway === service.labels[LABEL_USE_WAYPOINT]) return service;
  const { [LABEL_USE_WAYPOINT]: _own, ...rest } = service.labels;
  return { ...service, labels: gateway === undefined ? rest : { ...rest, [LABEL_USE_WAYPOINT]: gateway } };
}
