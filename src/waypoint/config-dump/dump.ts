// configDump(): walks the waypoint's path (served service ports, the services their routes send
// to, the pods behind them) and assembles each stage's resources in Envoy's ConfigDump order.
import type { AuthorizationPolicyDoc, Service, ServicePort, Workload } from '../../mesh/model';
import type { MeshState } from '../../mesh/state';
import { AuthorizeL7Options, compilePolicy } from '../../policy/authz';
import { compileRoutes, CompiledRouteTable } from '../../policy/httproute';
import { hcmPathOptions } from '../path-normalization';
import { podStage, vipStage } from '../envoy-names';
import { bootstrap } from './bootstrap';
import type { JsonObject } from '../../admin/json';
import { originateCluster, originateListener } from './originate';
import { PodEndpoint, podCluster, podListener } from './pod';
import { internalCluster, terminateListener } from './terminate';
import { VipCluster, vipCluster, vipEndpoints, vipListener } from './vip';
import { vipRouteConfig } from './vip-routes';

const TYPE = 'type.googleapis.com/';
/** The @type of each config in the dump, in Envoy's order. */
export const DUMP_TYPES = {
  bootstrap: `${TYPE}envoy.admin.v3.BootstrapConfigDump`,
  clusters: `${TYPE}envoy.admin.v3.ClustersConfigDump`,
  endpoints: `${TYPE}envoy.admin.v3.EndpointsConfigDump`,
  listeners: `${TYPE}envoy.admin.v3.ListenersConfigDump`,
  routes: `${TYPE}envoy.admin.v3.RoutesConfigDump`,
} as const;
export type DumpKind = keyof typeof DUMP_TYPES;

export interface EnvoyConfigDump {
  readonly configs: JsonObject[];
}

export interface WaypointDumpOptions {
  /**
   * The route table of a served service port. The waypoint passes its own (compiled at start);
   * absent, tables are compiled here from the scenario's HTTPRoutes the same way.
   */
  readonly routeTable?: (service: Service, port: number) => CompiledRouteTable;
  /** AuthorizationPolicies to render; the scenario's by default. */
  readonly policies?: readonly AuthorizationPolicyDoc[];
  readonly authz?: AuthorizeL7Options;
  /** Include EndpointsConfigDump (Envoy does with ?include_eds); default true, as the seed's dump. */
  readonly includeEds?: boolean;
  /** xDS version_info on every resource; default "<start time>/1". */
  readonly versionInfo?: string;
  /** last_updated on every resource; default now. */
  readonly lastUpdated?: Date;
}

/**
 * The waypoint's /config_dump. `served` are the services bound to it (MeshState.servicesOfWaypoint).
 * Configs come in Envoy's order: bootstrap, clusters, endpoints (with includeEds), listeners,
 * routes; find one by type with findConfig().
 */
export function configDump(state: MeshState, waypoint: Workload, served: readonly Service[], options: WaypointDumpOptions = {}): EnvoyConfigDump {
  const lastUpdated = (options.lastUpdated ?? new Date()).toISOString();
  const versionInfo = options.versionInfo ?? `${lastUpdated.replace(/\.\d+Z$/, 'Z')}/1`;
  const trustDomain = state.trustDomain;
  const table = options.routeTable ?? defaultRouteTables(state);
  const compiled = (options.policies ?? state.scenario.policies).map((doc) => ({ doc, policy: compilePolicy(doc) }));
  // meshConfig.pathNormalization, as the fields of every connection manager Istio writes.
  const path = hcmPathOptions(state.scenario.meshConfig.pathNormalization.normalization);

  // Walk the path: served service ports, the services their routes send to, the pods behind them.
  const vipClusters = new Map<string, VipCluster>();
  const pods = new Map<string, PodEndpoint>();
  const addVip = (service: Service, port: ServicePort, via: Service): void => {
    const name = vipStage(service, port.port);
    if (!vipClusters.has(name)) vipClusters.set(name, { service, port });
    for (const pod of state.endpointsOf(service)) {
      const key = podStage(pod, port.targetPort);
      const entry = pods.get(key) ?? { pod, port: port.targetPort, via: [] };
      if (!entry.via.includes(via)) entry.via.push(via);
      pods.set(key, entry);
    }
  };
  const routeConfigs: JsonObject[] = [];
  for (const service of served) {
    for (const port of service.ports) {
      const routes = table(service, port.port);
      addVip(service, port, service);
      for (const target of backendsOf(routes)) {
        const backend = state.scenario.services.find((s) => s.name === target.name && s.namespace === target.namespace);
        const backendPort = backend?.ports.find((p) => p.port === target.port);
        if (backend && backendPort) addVip(backend, backendPort, service);
      }
      routeConfigs.push(vipRouteConfig(service, port.port, routes));
    }
  }
  const podList = [...pods.values()].sort((a, b) => compareIp(a.pod.ip, b.pod.ip) || a.port - b.port);

  const listeners: JsonObject[] = [
    terminateListener(waypoint, served, trustDomain, path),
    ...served.flatMap((s) => s.ports.map((p) => vipListener(s, p.port, path))),
    ...podList.map((e) => podListener(e, compiled, waypoint, options.authz ?? {}, trustDomain, path)),
    originateListener(),
  ];
  const clusters: JsonObject[] = [
    ...served.flatMap((s) => s.ports.map((p) => internalCluster(s, p.port))),
    ...[...vipClusters.values()].map((v) => vipCluster(v.service, v.port.port)),
    ...podList.map(podCluster),
    originateCluster(trustDomain),
  ];
  const endpoints: JsonObject[] = [...vipClusters.values()].map((v) => vipEndpoints(state, v));

  return envoyConfigDump({
    bootstrap: bootstrap(waypoint, trustDomain),
    clusters,
    endpoints: (options.includeEds ?? true) ? endpoints : undefined,
    listeners,
    routeConfigs,
    versionInfo,
    lastUpdated,
  });
}

/** A proxy's resources, each kind in its ConfigDump section, in Envoy's order (endpoints only when given). */
export interface DumpParts {
  readonly bootstrap: JsonObject;
  readonly clusters: readonly JsonObject[];
  readonly endpoints?: readonly JsonObject[];
  readonly listeners: readonly JsonObject[];
  readonly routeConfigs: readonly JsonObject[];
  readonly versionInfo: string;
  /** ISO time. */
  readonly lastUpdated: string;
}

/** Envoy's ConfigDump of a waypoint or a gateway: bootstrap, clusters, endpoints, listeners, routes. */
export function envoyConfigDump(p: DumpParts): EnvoyConfigDump {
  const meta = { version_info: p.versionInfo, last_updated: p.lastUpdated };
  const configs: JsonObject[] = [
    { '@type': DUMP_TYPES.bootstrap, bootstrap: p.bootstrap, last_updated: p.lastUpdated },
    { '@type': DUMP_TYPES.clusters, version_info: p.versionInfo, dynamic_active_clusters: p.clusters.map((cluster) => ({ ...meta, cluster })) },
  ];
  if (p.endpoints)
    configs.push({ '@type': DUMP_TYPES.endpoints, dynamic_endpoint_configs: p.endpoints.map((endpoint_config) => ({ ...meta, endpoint_config })) });
  configs.push(
    {
      '@type': DUMP_TYPES.listeners,
      version_info: p.versionInfo,
      dynamic_listeners: p.listeners.map((listener) => ({
        name: listener.name,
        active_state: { version_info: p.versionInfo, listener, last_updated: p.lastUpdated },
      })),
    },
    { '@type': DUMP_TYPES.routes, dynamic_route_configs: p.routeConfigs.map((route_config) => ({ ...meta, route_config })) },
  );
  return { configs };
}

/** The config of one kind, e.g. findConfig(dump, 'listeners').dynamic_listeners. */
export function findConfig(dump: EnvoyConfigDump, kind: DumpKind): JsonObject | undefined {
  return dump.configs.find((c) => c['@type'] === DUMP_TYPES[kind]);
}

/** Route tables compiled as the waypoint compiles them: the scenario's HTTPRoutes, for one service port. */
function defaultRouteTables(state: MeshState): (service: Service, port: number) => CompiledRouteTable {
  const docs = state.scenario.httpRoutes.map(({ origin: _origin, ...doc }) => doc);
  return (service, port) => {
    const portName = service.ports.find((p) => p.port === port)?.name;
    return compileRoutes(docs as unknown as Parameters<typeof compileRoutes>[0], { name: service.name, namespace: service.namespace, port, portName });
  };
}

/** Every backend some rule of the table can send to (valid ones: invalid backends get 500 and reach no cluster). */
function backendsOf(table: CompiledRouteTable): { name: string; namespace: string; port: number }[] {
  const out = new Map<string, { name: string; namespace: string; port: number }>();
  for (const m of table.matches) {
    for (const b of m.rule.backends) if (!b.invalid) out.set(`${b.target.namespace}/${b.target.name}:${b.target.port}`, b.target);
  }
  return [...out.values()];
}

function compareIp(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) if ((pa[i] ?? 0) !== (pb[i] ?? 0)) return (pa[i] ?? 0) - (pb[i] ?? 0);
  return 0;
}
