// The ingress gateway's admin /config_dump: Envoy's ConfigDump JSON in the shape istiod gives a
// gateway of class istio, built from what this gateway really serves:
//   listener 0.0.0.0_<port>           HTTP connection manager, RBAC filter, routes by RDS:
//     route_config http.<port>        one virtual host per hostname (<host>:<port>), HTTPRoutes in precedence order
//     -> cluster outbound|<port>||<host>   (EDS) each backend, endpoints its pods (HBONE: tunnel metadata)
//   listener connect_originate        internal: a CONNECT to the pod's ztunnel on 15008, as the gateway
import type { Workload } from '../mesh/model';
import { serviceHost } from '../mesh/model';
import { PORT_HBONE } from '../mesh/ports';
import type { MeshState } from '../mesh/state';
import type { GatewayListener } from '../mesh/ingress-gateway';
import type { JsonObject } from '../admin/json';
import { appliesAtWaypoint, compilePolicy, rbacFilters, WaypointTarget } from '../policy/authz';
import type { CompiledRouteTable } from '../policy/httproute';
import { hcmPathOptions } from '../waypoint/path-normalization';
import { ADS, bootstrap, envoyConfigDump, envoyRoutes, inboundHcm, TYPE_CLUSTER, TYPE_LISTENER, upstreamTls } from '../waypoint/config-dump';
import type { EnvoyConfigDump } from '../waypoint/config-dump';
import { gatewayListenerName, gatewayRouteName, outboundCluster, STAGE_CONNECT_ORIGINATE } from './envoy-names';
import type { VirtualHost } from './virtual-hosts';

const TYPE_ROUTE_CONFIGURATION = 'type.googleapis.com/envoy.config.route.v3.RouteConfiguration';
const TYPE_CLUSTER_LOAD_ASSIGNMENT = 'type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment';

export interface GatewayDumpOptions {
  readonly listeners: readonly GatewayListener[];
  /** Each port's virtual hosts with their compiled routes. */
  readonly virtualHosts: (port: number) => readonly { host: VirtualHost; table: CompiledRouteTable }[];
  /** Whom the RBAC filter decides for. */
  readonly rbacTarget: WaypointTarget;
  readonly versionInfo?: string;
}

export function gatewayConfigDump(state: MeshState, pod: Workload, o: GatewayDumpOptions): EnvoyConfigDump {
  const lastUpdated = new Date().toISOString();
  const versionInfo = o.versionInfo ?? `${lastUpdated.replace(/\.\d+Z$/, 'Z')}/1`;
  const td = state.trustDomain;
  const path = hcmPathOptions(state.scenario.meshConfig.pathNormalization.normalization);
  const policies = state.scenario.policies.filter((p) => appliesAtWaypoint(p, o.rbacTarget)).map(compilePolicy);
  const backends = new Map<string, { name: string; namespace: string; port: number }>();
  const routeConfigs: JsonObject[] = [];
  const listeners: JsonObject[] = [];
  for (const l of o.listeners) {
    const vhosts = o.virtualHosts(l.port).map(({ host, table }) => {
      for (const m of table.matches) for (const b of m.rule.backends) backends.set(outboundCluster(b.target, b.target.port), b.target);
      return {
        name: host.name,
        domains: [host.domain],
        routes: envoyRoutes(table, (t) => outboundCluster(t, t.port), { operation: `${host.domain}:${l.port}/*` }),
      };
    });
    routeConfigs.push({ '@type': TYPE_ROUTE_CONFIGURATION, name: gatewayRouteName(l.port), virtual_hosts: vhosts, validate_clusters: false });
    const rds = { rds: { route_config_name: gatewayRouteName(l.port), config_source: ADS } };
    listeners.push({
      '@type': TYPE_LISTENER,
      name: gatewayListenerName(l.port),
      address: { socket_address: { address: '0.0.0.0', port_value: l.port } },
      filter_chains: [{ filters: [inboundHcm(`outbound_0.0.0.0_${l.port}`, rds, rbacFilters(policies, td), path)] }],
      traffic_direction: 'OUTBOUND',
    });
  }
  listeners.push(originateListener());
  const clusters: JsonObject[] = [];
  const endpoints: JsonObject[] = [];
  for (const [name, b] of backends) {
    const service = state.scenario.services.find((s) => s.name === b.name && s.namespace === b.namespace);
    clusters.push({
      '@type': TYPE_CLUSTER,
      name,
      type: 'EDS',
      eds_cluster_config: { eds_config: ADS, service_name: name },
      metadata: { filter_metadata: { istio: { services: [{ namespace: b.namespace, name: b.name, host: serviceHost(b) }] } } },
    });
    const targetPort = service?.ports.find((p) => p.port === b.port)?.targetPort ?? b.port;
    const lb = (service ? state.endpointsOf(service) : []).map((p) => ({
      endpoint: { address: { socket_address: { address: p.ip, port_value: targetPort } } },
      health_status: 'HEALTHY',
      // A meshed pod is reached through connect_originate: the tunnel metadata names where.
      ...(state.speaksHbone(p)
        ? { metadata: { filter_metadata: { tunnel: { destination: `${p.ip}:${targetPort}`, address: `${p.ip}:${PORT_HBONE}` } } } }
        : {}),
    }));
    endpoints.push({ '@type': TYPE_CLUSTER_LOAD_ASSIGNMENT, cluster_name: name, endpoints: lb.length > 0 ? [{ lb_endpoints: lb }] : [] });
  }
  clusters.push({
    '@type': TYPE_CLUSTER,
    name: STAGE_CONNECT_ORIGINATE,
    type: 'ORIGINAL_DST',
    lb_policy: 'CLUSTER_PROVIDED',
    transport_socket: upstreamTls(td),
  });
  return envoyConfigDump({ bootstrap: bootstrap(pod, td, 'router'), clusters, endpoints, listeners, routeConfigs, versionInfo, lastUpdated });
}

/** connect_originate: the internal listener whose tcp_proxy tunnels a request to the pod as a CONNECT. */
function originateListener(): JsonObject {
  return {
    '@type': TYPE_LISTENER,
    name: STAGE_CONNECT_ORIGINATE,
    filter_chains: [
      {
        filters: [
          {
            name: 'envoy.filters.network.tcp_proxy',
            typed_config: {
              '@type': 'type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy',
              stat_prefix: STAGE_CONNECT_ORIGINATE,
              cluster: STAGE_CONNECT_ORIGINATE,
              tunneling_config: { hostname: '%DOWNSTREAM_LOCAL_ADDRESS%' },
            },
          },
        ],
      },
    ],
    internal_listener: {},
  };
}
