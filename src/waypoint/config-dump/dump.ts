// The waypoint's admin /config_dump: Envoy's ConfigDump JSON, built from what the simulated
// waypoint really does, with the names of the seed article's dump (DESIGN.md sections 1 and 6),
// so a learner can hold the two side by side:
//
//   listener inbound_CONNECT_terminate        <waypoint ip>:15008; routes match :authority VIP:port
//     route -> cluster inbound-vip|<port>|internal|<host>   (STATIC, an internal address)
//   listener inbound-vip|<port>||<host>       internal; HTTP connection manager, routes by RDS:
//     route_config inbound-vip|<port>|http|<host>           HTTPRoutes (weighted_clusters for splits)
//     -> cluster inbound-vip|<port>|http|<host>             (EDS; endpoints below)
//   endpoints inbound-pod|<targetPort>||<pod ip>            one per pod of the service
//   listener inbound-pod|<targetPort>||<pod ip> internal; the RBAC filter (AuthorizationPolicy)
//     -> cluster inbound-pod|<targetPort>||<pod ip>         (STATIC, tunnel metadata)
//   listener inbound_CONNECT_originate        tcp_proxy tunnelling: CONNECT + x-envoy-original-dst-host
//     -> cluster inbound_CONNECT_originate                  (ORIGINAL_DST, TLS 1.3, ALPN h2, SAN prefix)
//
// Then and now: the seed's waypoint (2022) listened on 15006; every HBONE listener, this one's
// included, is on 15008 today. The seed's inline route_config of inbound-vip|...||<host> is served
// here by RDS under the same name (HTTPRoutes are dynamic), so it is in RoutesConfigDump.
// Today's Istio waypoints call the listeners connect_terminate, main_internal and
// connect_originate and put the RBAC filter in main_internal's per-service chain; the seed's
// layout is kept because it is the one the simulator's stages are named after.
import type { AuthorizationPolicyDoc, Service, ServicePort, Workload } from '../../mesh/model';
import { serviceHost } from '../../mesh/model';
import { PORT_HBONE } from '../../mesh/ports';
import type { MeshState } from '../../mesh/state';
import { STAGE_ORIGINATE, STAGE_TERMINATE, internalClusterName, podStage, vipListenerName, vipStage, workloadMetadata } from '../envoy-names';
import {
  CONNECTION_WINDOW_BYTES,
  CONNECT_TIMEOUT_MS,
  HEADER_ORIGINAL_DST,
  SERVER_MAX_CONCURRENT_STREAMS,
  STREAM_WINDOW_BYTES,
} from '../../hbone/constants';
import { appliesAtWaypoint, AuthorizeL7Options, rbacTarget } from '../../policy/authz-l7';
import { compilePolicy, CompiledCondition, CompiledOperation, CompiledPolicy, CompiledRule, CompiledSource } from '../../policy/compile';
import type { Cidr } from '../../policy/match';
import { compileRoutes } from '../../policy/httproute';
import type { CompiledMatch, CompiledRouteTable, RetryPolicy, ValueMatcher } from '../../policy/httproute-table';
import type { HeaderModifier } from '../../policy/httproute-headers';
import { canonicalService, DEFAULT_CLUSTER_ID } from '../../telemetry/workload-labels';
import { hcmPathOptions, HcmPathOptions } from '../../policy/path-normalization';

// ---- JSON ----

export type Json = string | number | boolean | null | Json[] | JsonObject;
export interface JsonObject {
  [key: string]: Json;
}

export interface EnvoyConfigDump {
  readonly configs: JsonObject[];
}

// ---- Envoy type URLs ----

const TYPE = 'type.googleapis.com/';
export const DUMP_TYPES = {
  bootstrap: `${TYPE}envoy.admin.v3.BootstrapConfigDump`,
  clusters: `${TYPE}envoy.admin.v3.ClustersConfigDump`,
  endpoints: `${TYPE}envoy.admin.v3.EndpointsConfigDump`,
  listeners: `${TYPE}envoy.admin.v3.ListenersConfigDump`,
  routes: `${TYPE}envoy.admin.v3.RoutesConfigDump`,
} as const;
export type DumpKind = keyof typeof DUMP_TYPES;

const T = {
  listener: `${TYPE}envoy.config.listener.v3.Listener`,
  cluster: `${TYPE}envoy.config.cluster.v3.Cluster`,
  routeConfiguration: `${TYPE}envoy.config.route.v3.RouteConfiguration`,
  clusterLoadAssignment: `${TYPE}envoy.config.endpoint.v3.ClusterLoadAssignment`,
  hcm: `${TYPE}envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager`,
  tcpProxy: `${TYPE}envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy`,
  rbac: `${TYPE}envoy.extensions.filters.http.rbac.v3.RBAC`,
  extAuthz: `${TYPE}envoy.extensions.filters.http.ext_authz.v3.ExtAuthz`,
  router: `${TYPE}envoy.extensions.filters.http.router.v3.Router`,
  downstreamTls: `${TYPE}envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext`,
  upstreamTls: `${TYPE}envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext`,
  internalUpstream: `${TYPE}envoy.extensions.transport_sockets.internal_upstream.v3.InternalUpstreamTransport`,
  rawBuffer: `${TYPE}envoy.extensions.transport_sockets.raw_buffer.v3.RawBuffer`,
  http2Options: `${TYPE}envoy.extensions.upstreams.http.v3.HttpProtocolOptions`,
  typedStruct: `${TYPE}xds.type.v3.TypedStruct`,
  uuid: `${TYPE}envoy.extensions.request_id.uuid.v3.UuidRequestIdConfig`,
  uriTemplate: `${TYPE}envoy.extensions.path.match.uri_template.v3.UriTemplateMatchConfig`,
  previousHosts: `${TYPE}envoy.extensions.retry.host.previous_hosts.v3.PreviousHostsPredicate`,
} as const;

const FILTER_HCM = 'envoy.filters.network.http_connection_manager';
const FILTER_RBAC = 'envoy.filters.http.rbac';
const FILTER_EXT_AUTHZ = 'envoy.filters.http.ext_authz';
const FILTER_ROUTER = 'envoy.filters.http.router';
/** Istio's stat prefixes for the shadow (dry-run) rules of each RBAC filter. */
const SHADOW_PREFIX = { ALLOW: 'istio_dry_run_allow_', DENY: 'istio_dry_run_deny_', CUSTOM: 'istio_ext_authz_' } as const;
/** The SDS secret names Istio's proxies use for the workload certificate and the mesh root. */
const SDS_CERT = 'default';
const SDS_ROOT = 'ROOTCA';
const SPIFFE = 'spiffe://';
/** Istio's retry_on for every retry policy it writes. */
const ISTIO_RETRY_ON = 'connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes';
const OVERPROVISIONING_FACTOR = 140;
/** The port the seed's (2022) waypoint listened on; told to learners in the listener's metadata. */
const SEED_WAYPOINT_PORT = 15006;

// ---- options ----

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

// ---- the dump ----

interface VipCluster {
  readonly service: Service;
  readonly port: ServicePort;
}

interface PodEndpoint {
  readonly pod: Workload;
  readonly port: number;
  /** Served services whose requests can reach this endpoint: the RBAC filter's targets. */
  readonly via: Service[];
}

/**
 * The waypoint's /config_dump. `served` are the services bound to it (MeshState.servicesOfWaypoint).
 * Configs come in Envoy's order: bootstrap, clusters, endpoints (with includeEds), listeners,
 * routes; find one by type with findConfig().
 */
export function configDump(state: MeshState, waypoint: Workload, served: readonly Service[], options: WaypointDumpOptions = {}): EnvoyConfigDump {
  const lastUpdated = (options.lastUpdated ?? new Date()).toISOString();
  const versionInfo = options.versionInfo ?? `${lastUpdated.replace(/\.\d+Z$/, 'Z')}/1`;
  const meta = { version_info: versionInfo, last_updated: lastUpdated };
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

  const configs: JsonObject[] = [
    { '@type': DUMP_TYPES.bootstrap, bootstrap: bootstrap(waypoint, trustDomain), last_updated: lastUpdated },
    { '@type': DUMP_TYPES.clusters, version_info: versionInfo, dynamic_active_clusters: clusters.map((cluster) => ({ ...meta, cluster })) },
  ];
  if (options.includeEds ?? true) {
    configs.push({ '@type': DUMP_TYPES.endpoints, dynamic_endpoint_configs: endpoints.map((endpoint_config) => ({ ...meta, endpoint_config })) });
  }
  configs.push(
    {
      '@type': DUMP_TYPES.listeners,
      version_info: versionInfo,
      dynamic_listeners: listeners.map((listener) => ({ name: listener.name, active_state: { version_info: versionInfo, listener, last_updated: lastUpdated } })),
    },
    { '@type': DUMP_TYPES.routes, dynamic_route_configs: routeConfigs.map((route_config) => ({ ...meta, route_config })) },
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

// ---- bootstrap ----

function bootstrap(waypoint: Workload, trustDomain: string): JsonObject {
  const c = canonicalService(waypoint);
  return {
    node: {
      // Istio's node id for a waypoint: <type>~<ip>~<pod>.<namespace>~<namespace>.svc.cluster.local.
      id: `waypoint~${waypoint.ip}~${waypoint.name}.${waypoint.namespace}~${waypoint.namespace}.svc.cluster.local`,
      cluster: `${waypoint.workloadName}.${waypoint.namespace}`,
      metadata: {
        CLUSTER_ID: DEFAULT_CLUSTER_ID,
        NAMESPACE: waypoint.namespace,
        NAME: waypoint.name,
        WORKLOAD_NAME: waypoint.workloadName,
        SERVICE_ACCOUNT: waypoint.serviceAccount,
        MESH_ID: trustDomain,
        INSTANCE_IPS: waypoint.ip,
        LABELS: { ...waypoint.labels, 'service.istio.io/canonical-name': c.name, 'service.istio.io/canonical-revision': c.revision },
      },
      user_agent_name: 'envoy',
    },
  };
}

// ---- shared pieces ----

function sdsConfig(name: string): JsonObject {
  return {
    name,
    sds_config: {
      api_config_source: { api_type: 'GRPC', grpc_services: [{ envoy_grpc: { cluster_name: 'sds-grpc' } }], set_node_on_first_message_only: true, transport_api_version: 'V3' },
      initial_fetch_timeout: '0s',
      resource_api_version: 'V3',
    },
  };
}

/** TLS 1.3 only, ALPN h2, the workload certificate, peers verified to the root and the trust domain. */
function commonTls(trustDomain: string): JsonObject {
  return {
    tls_params: { tls_minimum_protocol_version: 'TLSv1_3', tls_maximum_protocol_version: 'TLSv1_3' },
    alpn_protocols: ['h2'],
    tls_certificate_sds_secret_configs: [sdsConfig(SDS_CERT)],
    combined_validation_context: {
      default_validation_context: { match_subject_alt_names: [{ prefix: `${SPIFFE}${trustDomain}/` }] },
      validation_context_sds_secret_config: sdsConfig(SDS_ROOT),
    },
  };
}

function internalUpstream(passthrough: { kind: 'cluster' | 'host'; name: string }[]): JsonObject {
  return {
    name: 'envoy.transport_sockets.internal_upstream',
    typed_config: {
      '@type': T.internalUpstream,
      ...(passthrough.length > 0 ? { passthrough_metadata: passthrough.map((p) => ({ kind: { [p.kind]: {} }, name: p.name })) } : {}),
      transport_socket: { name: 'envoy.transport_sockets.raw_buffer', typed_config: { '@type': T.rawBuffer } },
    },
  };
}

const SET_DST_ADDRESS: JsonObject = {
  name: 'set_dst_address',
  typed_config: { '@type': T.typedStruct, type_url: 'type.googleapis.com/istio.set_internal_dst_address.v1.Config', value: {} },
};

const ROUTER: JsonObject = { name: FILTER_ROUTER, typed_config: { '@type': T.router } };

const ADS: JsonObject = { ads: {}, initial_fetch_timeout: '0s', resource_api_version: 'V3' };

/**
 * The path normalization fields, in the dump's (proto field number) order around
 * request_id_extension: normalize_path is a BoolValue, so false is shown; merge_slashes is a
 * plain bool, shown only when true; Istio always sets path_with_escaped_slashes_action.
 */
function normalizeFields(path: HcmPathOptions, between: JsonObject = {}): JsonObject {
  return {
    normalize_path: path.normalize_path,
    ...(path.merge_slashes ? { merge_slashes: true } : {}),
    ...between,
    path_with_escaped_slashes_action: path.path_with_escaped_slashes_action,
  };
}

/** The connection manager settings every inbound HTTP chain of the seed's waypoint carries. */
function inboundHcm(statPrefix: string, routing: JsonObject, httpFilters: JsonObject[], path: HcmPathOptions): JsonObject {
  return {
    name: FILTER_HCM,
    typed_config: {
      '@type': T.hcm,
      stat_prefix: statPrefix,
      ...routing,
      http_filters: [...httpFilters, ROUTER],
      server_name: 'istio-envoy',
      use_remote_address: false,
      forward_client_cert_details: 'APPEND_FORWARD',
      set_current_client_cert_details: { subject: true, dns: true, uri: true },
      upgrade_configs: [{ upgrade_type: 'websocket' }],
      stream_idle_timeout: '0s',
      ...normalizeFields(path, { request_id_extension: { typed_config: { '@type': T.uuid, use_request_id_for_trace_sampling: true } } }),
    },
  };
}

function durationText(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${(ms / 1000).toFixed(3)}s`;
}

// ---- stage 1: inbound_CONNECT_terminate ----

function terminateListener(waypoint: Workload, served: readonly Service[], trustDomain: string, path: HcmPathOptions): JsonObject {
  const routes: JsonObject[] = served.flatMap((s) =>
    s.ports.map((p) => ({
      match: { headers: [{ name: ':authority', string_match: { exact: `${s.vip}:${p.port}` } }], connect_matcher: {} },
      route: { cluster: internalClusterName(s, p.port), upgrade_configs: [{ upgrade_type: 'CONNECT', connect_config: {} }] },
    })),
  );
  return {
    '@type': T.listener,
    name: STAGE_TERMINATE,
    address: { socket_address: { address: waypoint.ip, port_value: PORT_HBONE } },
    filter_chains: [
      {
        filters: [
          {
            name: FILTER_HCM,
            typed_config: {
              '@type': T.hcm,
              stat_prefix: 'inbound_hcm',
              route_config: { name: 'local_route', virtual_hosts: [{ name: 'connect', domains: ['*'], routes }], validate_clusters: false },
              http_filters: [ROUTER],
              http2_protocol_options: {
                allow_connect: true,
                max_concurrent_streams: SERVER_MAX_CONCURRENT_STREAMS,
                initial_stream_window_size: STREAM_WINDOW_BYTES,
                initial_connection_window_size: CONNECTION_WINDOW_BYTES,
              },
              use_remote_address: false,
              upgrade_configs: [{ upgrade_type: 'CONNECT' }],
              stream_idle_timeout: '0s',
              ...normalizeFields(path),
            },
          },
        ],
        transport_socket: {
          name: 'envoy.transport_sockets.tls',
          typed_config: { '@type': T.downstreamTls, common_tls_context: commonTls(trustDomain), require_client_certificate: true },
        },
        name: STAGE_TERMINATE,
      },
    ],
    metadata: {
      filter_metadata: {
        'hbone-sim': {
          note: `The seed article's waypoint (2022) listened on ${SEED_WAYPOINT_PORT}; today every HBONE listener is on ${PORT_HBONE}.`,
          seed_port: SEED_WAYPOINT_PORT,
        },
      },
    },
    traffic_direction: 'INBOUND',
  };
}

function internalCluster(service: Service, port: number): JsonObject {
  const name = internalClusterName(service, port);
  return {
    '@type': T.cluster,
    name,
    type: 'STATIC',
    transport_socket: internalUpstream([{ kind: 'cluster', name: 'istio' }]),
    common_lb_config: {},
    load_assignment: {
      cluster_name: name,
      endpoints: [{ lb_endpoints: [{ endpoint: { address: { envoy_internal_address: { server_listener_name: vipListenerName(service, port) } } } }] }],
    },
  };
}

// ---- stage 2: inbound-vip|<port>|http|<host> ----

function vipListener(service: Service, port: number, path: HcmPathOptions): JsonObject {
  const name = vipListenerName(service, port);
  const rds = { rds: { route_config_name: vipStage(service, port), config_source: ADS } };
  return {
    '@type': T.listener,
    name,
    filter_chains: [{ filters: [inboundHcm(`inbound_0.0.0.0_${port}`, rds, [], path)], name: `${name}-http` }],
    listener_filters: [SET_DST_ADDRESS],
    traffic_direction: 'INBOUND',
    internal_listener: {},
  };
}

function vipRouteConfig(service: Service, port: number, table: CompiledRouteTable): JsonObject {
  const host = serviceHost(service);
  const decorator = { operation: `${host}:${port}/*` };
  const routes: JsonObject[] =
    table.matches.length === 0
      ? [
          {
            match: { prefix: '/' },
            route: { cluster: vipStage(service, port), timeout: '0s', max_stream_duration: { max_stream_duration: '0s', grpc_timeout_header_max: '0s' } },
            decorator: { operation: `:${port}/*` },
            name: 'default',
          },
        ]
      : table.matches.map((m) => httpRoute(m, decorator));
  return { '@type': T.routeConfiguration, name: vipStage(service, port), virtual_hosts: [{ name: `inbound|http|${port}`, domains: ['*'], routes }], validate_clusters: false };
}

function httpRoute(m: CompiledMatch, decorator: JsonObject): JsonObject {
  const rule = m.rule;
  const match: JsonObject = {};
  switch (m.path.type) {
    case 'Exact':
      match.path = m.path.value;
      break;
    case 'RegularExpression':
      match.safe_regex = { regex: m.path.value };
      break;
    default:
      // Istio writes PathPrefix /foo as path_separated_prefix (/foo and /foo/..., not /foobar).
      if (m.path.value === '/') match.prefix = '/';
      else match.path_separated_prefix = m.path.value;
  }
  const headers: JsonObject[] = m.headers.map((h) => ({ name: h.name, string_match: valueMatch(h) }));
  if (m.method) headers.push({ name: ':method', string_match: { exact: m.method } });
  if (headers.length > 0) match.headers = headers;
  if (m.queryParams.length > 0) match.query_parameters = m.queryParams.map((q) => ({ name: q.name, string_match: valueMatch(q) }));

  const out: JsonObject = { name: rule.envoyName, match };
  const valid = rule.backends;
  if (valid.length === 0) {
    out.direct_response = { status: 500 };
  } else {
    const route: JsonObject = {};
    const clusterOf = (t: { name: string; namespace: string; port: number }) => vipStage(t, t.port);
    if (valid.length === 1 && valid[0].headerModifiers.length === 0) {
      route.cluster = clusterOf(valid[0].target);
    } else {
      route.weighted_clusters = {
        clusters: valid.map((b) => ({ name: clusterOf(b.target), weight: b.weight, ...headerActions(b.headerModifiers) })),
      };
    }
    route.timeout = durationText(rule.timeoutMs ?? 0);
    route.retry_policy = retryPolicy(rule.retry);
    route.max_stream_duration = { max_stream_duration: '0s', grpc_timeout_header_max: '0s' };
    out.route = route;
  }
  Object.assign(out, headerActions(rule.headerModifiers));
  out.decorator = decorator;
  return out;
}

function valueMatch(v: ValueMatcher): JsonObject {
  return v.type === 'RegularExpression' ? { safe_regex: { regex: v.value } } : { exact: v.value };
}

/** RequestHeaderModifier filters as Envoy's request_headers_to_add / _to_remove. */
function headerActions(mods: readonly HeaderModifier[]): JsonObject {
  const add: JsonObject[] = [];
  const remove: string[] = [];
  for (const m of mods) {
    for (const h of m.set) add.push({ header: { key: h.name, value: h.value }, append_action: 'OVERWRITE_IF_EXISTS_OR_ADD' });
    for (const h of m.add) add.push({ header: { key: h.name, value: h.value }, append_action: 'APPEND_IF_EXISTS_OR_ADD' });
    remove.push(...m.remove);
  }
  return { ...(add.length > 0 ? { request_headers_to_add: add } : {}), ...(remove.length > 0 ? { request_headers_to_remove: remove } : {}) };
}

function retryPolicy(r: RetryPolicy): JsonObject {
  return {
    retry_on: ISTIO_RETRY_ON,
    num_retries: r.attempts,
    ...(r.perTryTimeoutMs !== undefined ? { per_try_timeout: durationText(r.perTryTimeoutMs) } : {}),
    ...(r.backoffMs !== undefined ? { retry_back_off: { base_interval: durationText(r.backoffMs) } } : {}),
    retry_host_predicate: [{ name: 'envoy.retry_host_predicates.previous_hosts', typed_config: { '@type': T.previousHosts } }],
    host_selection_retry_max_attempts: '5',
    retriable_status_codes: [...r.codes],
  };
}

function vipCluster(service: Service, port: number): JsonObject {
  const name = vipStage(service, port);
  return {
    '@type': T.cluster,
    name,
    type: 'EDS',
    eds_cluster_config: { eds_config: ADS, service_name: name },
    transport_socket: internalUpstream([]),
    metadata: { filter_metadata: { istio: { services: [{ namespace: service.namespace, name: service.name, host: serviceHost(service) }] } } },
    common_lb_config: {},
  };
}

function vipEndpoints(state: MeshState, v: VipCluster): JsonObject {
  const pods = state.endpointsOf(v.service);
  const lbEndpoints: JsonObject[] = pods.map((pod) => ({
    endpoint: { address: { envoy_internal_address: { server_listener_name: podStage(pod, v.port.targetPort) } }, health_check_config: {} },
    health_status: 'HEALTHY',
    metadata: {
      filter_metadata: {
        istio: { workload: workloadMetadata(pod) },
        tunnel: { destination: `${pod.ip}:${v.port.targetPort}`, address: `${pod.ip}:${PORT_HBONE}` },
      },
    },
    load_balancing_weight: 1,
  }));
  return {
    '@type': T.clusterLoadAssignment,
    cluster_name: vipStage(v.service, v.port.port),
    endpoints: lbEndpoints.length > 0 ? [{ locality: {}, lb_endpoints: lbEndpoints }] : [],
    policy: { overprovisioning_factor: OVERPROVISIONING_FACTOR },
  };
}

// ---- stage 3: inbound-pod|<port>||<pod ip> and its RBAC filter ----

function podListener(e: PodEndpoint, compiled: readonly { doc: AuthorizationPolicyDoc; policy: CompiledPolicy }[], waypoint: Workload, authz: AuthorizeL7Options, trustDomain: string, path: HcmPathOptions): JsonObject {
  const name = podStage(e.pod, e.port);
  // The policies that apply to requests for any served service that reaches this pod.
  const applicable = compiled.filter((c) => e.via.some((s) => appliesAtWaypoint(c.doc, rbacTarget(s, e.pod, waypoint), authz))).map((c) => c.policy);
  const routeConfig = {
    route_config: {
      name,
      virtual_hosts: [
        {
          name: `inbound|http|${e.port}`,
          domains: ['*'],
          routes: [
            {
              match: { prefix: '/' },
              route: { cluster: name, timeout: '0s', max_stream_duration: { max_stream_duration: '0s', grpc_timeout_header_max: '0s' } },
              decorator: { operation: `:${e.port}/*` },
              name: 'default',
            },
          ],
        },
      ],
      validate_clusters: false,
    },
  };
  return {
    '@type': T.listener,
    name,
    filter_chains: [{ filters: [inboundHcm(`inbound_0.0.0.0_${e.port}`, routeConfig, rbacFilters(applicable, trustDomain), path)], name: `${name}-http` }],
    listener_filters: [SET_DST_ADDRESS],
    traffic_direction: 'INBOUND',
    internal_listener: {},
  };
}

/**
 * Istio's HTTP authorization filters for a set of policies, in Istio's order: CUSTOM (ext_authz
 * behind an RBAC shadow filter that marks the requests to check), AUDIT (action LOG), DENY, ALLOW.
 * A filter exists only for actions some policy uses; an ALLOW filter with no policies denies all.
 * ALLOW is proto3's default action, so its filter has no `action` field, as in the seed.
 */
export function rbacFilters(policies: readonly CompiledPolicy[], trustDomain: string): JsonObject[] {
  const byAction = (action: CompiledPolicy['action']) => policies.filter((p) => p.action === action);
  const filters: JsonObject[] = [];
  const custom = byAction('CUSTOM');
  if (custom.length > 0) {
    filters.push({ name: FILTER_RBAC, typed_config: { '@type': T.rbac, shadow_rules: { action: 'DENY', policies: rbacPolicies(custom, trustDomain) }, shadow_rules_stat_prefix: SHADOW_PREFIX.CUSTOM } });
    const providers = [...new Set(custom.map((p) => p.provider ?? ''))];
    filters.push({
      name: FILTER_EXT_AUTHZ,
      typed_config: {
        '@type': T.extAuthz,
        // The simulator runs no ext-authz server: matching requests fail closed (403), as with failure_mode_allow false.
        failure_mode_allow: false,
        filter_enabled_metadata: { filter: FILTER_RBAC, path: [{ key: 'istio_ext_authz_shadow_effective_policy_id' }], value: { string_match: { prefix: 'istio-ext-authz' } } },
        stat_prefix: providers.join(','),
      },
    });
  }
  const audit = byAction('AUDIT');
  if (audit.length > 0) filters.push({ name: FILTER_RBAC, typed_config: { '@type': T.rbac, rules: { action: 'LOG', policies: rbacPolicies(audit, trustDomain) } } });
  const deny = byAction('DENY');
  if (deny.length > 0) {
    filters.push({ name: FILTER_RBAC, typed_config: { '@type': T.rbac, rules: { action: 'DENY', policies: rbacPolicies(deny, trustDomain) }, shadow_rules_stat_prefix: SHADOW_PREFIX.DENY } });
  }
  const allow = byAction('ALLOW');
  if (allow.length > 0) {
    filters.push({ name: FILTER_RBAC, typed_config: { '@type': T.rbac, rules: { policies: rbacPolicies(allow, trustDomain) }, shadow_rules_stat_prefix: SHADOW_PREFIX.ALLOW } });
  }
  return filters;
}

/** ns[<ns>]-policy[<name>]-rule[<i>] -> {permissions, principals}, in name order (Envoy's map order). */
function rbacPolicies(policies: readonly CompiledPolicy[], trustDomain: string): JsonObject {
  const rules = policies.flatMap((p) => p.rules).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const out: JsonObject = {};
  for (const rule of rules) out[rule.name] = rbacPolicy(rule, trustDomain);
  return out;
}

// `when` keys Istio turns into principals (who is asking); the rest are permissions (what is asked).
const PRINCIPAL_CONDITION = /^(source\.|remote\.ip$|request\.headers\[|request\.auth\.)/;

/** One rule as Envoy's Policy: permissions from `to` (and `when` on the request), principals from `from` (and `when` on the caller). */
export function rbacPolicy(rule: CompiledRule, trustDomain: string): JsonObject {
  const principalWhen = rule.when.filter((c) => PRINCIPAL_CONDITION.test(c.key)).map(conditionId);
  const permissionWhen = rule.when.filter((c) => !PRINCIPAL_CONDITION.test(c.key)).map(conditionRule);
  const permissions = (rule.to ?? [undefined]).map((op) => {
    const rules = [...(op ? operationRules(op) : []), ...permissionWhen];
    return { and_rules: { rules: rules.length > 0 ? rules : [{ any: true }] } };
  });
  const principals = (rule.from ?? [undefined]).map((src) => {
    const ids = [...(src ? sourceIds(src, trustDomain) : []), ...principalWhen];
    return { and_ids: { ids: ids.length > 0 ? ids : [{ any: true }] } };
  });
  return { permissions, principals };
}

/** Istio's string match: "*" any non-empty value, "x*" prefix, "*x" suffix, else exact. */
function stringMatch(pattern: string, extra: JsonObject = {}): JsonObject {
  if (pattern === '*') return { safe_regex: { regex: '.+' }, ...extra };
  if (pattern.startsWith('*')) return { suffix: pattern.slice(1), ...extra };
  if (pattern.endsWith('*')) return { prefix: pattern.slice(0, -1), ...extra };
  return { exact: pattern, ...extra };
}

/** A principal pattern (written without spiffe://) against the peer certificate's URI SAN. */
function principalMatch(pattern: string): JsonObject {
  if (pattern === '*' || pattern.startsWith('*')) return stringMatch(pattern);
  if (pattern.endsWith('*')) return { prefix: SPIFFE + pattern.slice(0, -1) };
  return { exact: SPIFFE + pattern };
}

function escapeRegex(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function namespaceRegex(pattern: string): string {
  const body = pattern === '*' ? '.+' : pattern.split('*').map(escapeRegex).join('.*');
  return `.*/ns/${body}/.*`;
}

const authenticated = (principal_name: JsonObject): JsonObject => ({ authenticated: { principal_name } });
const orIds = (ids: JsonObject[]): JsonObject => ({ or_ids: { ids } });
const notId = (ids: JsonObject[]): JsonObject => ({ not_id: orIds(ids) });
const orRules = (rules: JsonObject[]): JsonObject => ({ or_rules: { rules } });
const notRule = (rules: JsonObject[]): JsonObject => ({ not_rule: orRules(rules) });

function cidrRange(c: Cidr): JsonObject {
  return { address_prefix: c.text.split('/')[0], prefix_len: c.prefixLength };
}

function authnMetadata(key: string, value: JsonObject): JsonObject {
  return { metadata: { filter: 'istio_authn', path: [{ key }], value: { string_match: value } } };
}

function sourceIds(src: CompiledSource, td: string): JsonObject[] {
  const ids: JsonObject[] = [];
  const field = <T>(pos: readonly T[] | undefined, neg: readonly T[] | undefined, one: (v: T) => JsonObject): void => {
    if (pos) ids.push(orIds(pos.map(one)));
    if (neg) ids.push(notId(neg.map(one)));
  };
  field(src.principals, src.notPrincipals, (p) => authenticated(principalMatch(p)));
  field(src.requestPrincipals, src.notRequestPrincipals, (p) => authnMetadata('request.auth.principal', stringMatch(p)));
  field(src.namespaces, src.notNamespaces, (n) => authenticated({ safe_regex: { regex: namespaceRegex(n) } }));
  field(src.serviceAccounts, src.notServiceAccounts, (sa) => authenticated({ exact: `${SPIFFE}${td}/ns/${sa.namespace}/sa/${sa.serviceAccount}` }));
  field(src.ipBlocks, src.notIpBlocks, (c) => ({ direct_remote_ip: cidrRange(c) }));
  field(src.remoteIpBlocks, src.notRemoteIpBlocks, (c) => ({ remote_ip: cidrRange(c) }));
  return ids;
}

function headerRule(name: string, pattern: string, ignoreCase = false): JsonObject {
  if (pattern === '*') return { header: { name, present_match: true } };
  return { header: { name, string_match: stringMatch(pattern, ignoreCase ? { ignore_case: true } : {}) } };
}

function pathRule(pattern: string): JsonObject {
  if (/\{\*\*?\}/.test(pattern)) return { uri_template: { name: 'uri-template', typed_config: { '@type': T.uriTemplate, path_template: pattern } } };
  return { url_path: { path: stringMatch(pattern) } };
}

function operationRules(op: CompiledOperation): JsonObject[] {
  const rules: JsonObject[] = [];
  const field = <T>(pos: readonly T[] | undefined, neg: readonly T[] | undefined, one: (v: T) => JsonObject): void => {
    if (pos) rules.push(orRules(pos.map(one)));
    if (neg) rules.push(notRule(neg.map(one)));
  };
  field(op.hosts, op.notHosts, (h) => headerRule(':authority', h, true));
  field(op.ports, op.notPorts, (p) => ({ destination_port: p }));
  field(op.methods, op.notMethods, (m) => headerRule(':method', m));
  field(op.paths, op.notPaths, pathRule);
  return rules;
}

/** A principal-side `when` (source.*, remote.ip, request.headers[...], request.auth.*). */
function conditionId(c: CompiledCondition): JsonObject {
  let one: (v: string, i: number, cidrs?: readonly Cidr[]) => JsonObject;
  const header = /^request\.headers\[(.+)\]$/.exec(c.key);
  if (c.key === 'source.ip') one = (_v, i, cidrs) => ({ direct_remote_ip: cidrRange(cidrs![i]) });
  else if (c.key === 'remote.ip') one = (_v, i, cidrs) => ({ remote_ip: cidrRange(cidrs![i]) });
  else if (c.key === 'source.namespace') one = (v) => authenticated({ safe_regex: { regex: namespaceRegex(v) } });
  else if (c.key === 'source.principal') one = (v) => authenticated(principalMatch(v));
  else if (header) one = (v) => headerRule(header[1], v);
  else one = (v) => authnMetadata(c.key, stringMatch(v));
  const ids: JsonObject[] = [];
  if (c.values) ids.push(orIds(c.values.map((v, i) => one(v, i, c.cidrs))));
  if (c.notValues) ids.push(notId(c.notValues.map((v, i) => one(v, i, c.notCidrs))));
  return ids.length === 1 ? ids[0] : { and_ids: { ids } };
}

/** A permission-side `when` (destination.ip, destination.port, connection.sni, experimental.*). */
function conditionRule(c: CompiledCondition): JsonObject {
  let one: (v: string, i: number, cidrs?: readonly Cidr[], ports?: readonly number[]) => JsonObject;
  if (c.key === 'destination.ip') one = (_v, i, cidrs) => ({ destination_ip: cidrRange(cidrs![i]) });
  else if (c.key === 'destination.port') one = (_v, i, _c, ports) => ({ destination_port: ports![i] });
  else if (c.key === 'connection.sni') one = (v) => ({ requested_server_name: stringMatch(v) });
  else one = (v) => ({ metadata: { filter: c.key, path: [], value: { string_match: stringMatch(v) } } });
  const rules: JsonObject[] = [];
  if (c.values) rules.push(orRules(c.values.map((v, i) => one(v, i, c.cidrs, c.ports))));
  if (c.notValues) rules.push(notRule(c.notValues.map((v, i) => one(v, i, c.notCidrs, c.notPorts))));
  return rules.length === 1 ? rules[0] : { and_rules: { rules } };
}

function podCluster(e: PodEndpoint): JsonObject {
  const name = podStage(e.pod, e.port);
  const destination = `${e.pod.ip}:${e.port}`;
  return {
    '@type': T.cluster,
    name,
    type: 'STATIC',
    transport_socket: internalUpstream([
      { kind: 'host', name: 'tunnel' },
      { kind: 'host', name: 'istio' },
    ]),
    common_lb_config: {},
    load_assignment: {
      cluster_name: name,
      endpoints: [
        {
          lb_endpoints: [
            {
              endpoint: { address: { envoy_internal_address: { server_listener_name: STAGE_ORIGINATE, endpoint_id: destination } } },
              metadata: { filter_metadata: { tunnel: { destination, address: `${e.pod.ip}:${PORT_HBONE}` }, istio: { workload: workloadMetadata(e.pod) } } },
            },
          ],
        },
      ],
    },
  };
}

// ---- stage 4: inbound_CONNECT_originate ----

function originateListener(): JsonObject {
  return {
    '@type': T.listener,
    name: STAGE_ORIGINATE,
    filter_chains: [
      {
        filters: [
          {
            name: 'envoy.filters.network.tcp_proxy',
            typed_config: {
              '@type': T.tcpProxy,
              stat_prefix: STAGE_ORIGINATE,
              cluster: STAGE_ORIGINATE,
              tunneling_config: {
                hostname: '%DYNAMIC_METADATA(tunnel:destination)%',
                headers_to_add: [{ header: { key: HEADER_ORIGINAL_DST, value: '%DYNAMIC_METADATA(["tunnel", "destination"])%' } }],
              },
            },
          },
        ],
      },
    ],
    use_original_dst: false,
    listener_filters: [SET_DST_ADDRESS],
    internal_listener: {},
  };
}

function originateCluster(trustDomain: string): JsonObject {
  return {
    '@type': T.cluster,
    name: STAGE_ORIGINATE,
    type: 'ORIGINAL_DST',
    connect_timeout: durationText(CONNECT_TIMEOUT_MS),
    lb_policy: 'CLUSTER_PROVIDED',
    cleanup_interval: '60s',
    transport_socket: { name: 'envoy.transport_sockets.tls', typed_config: { '@type': T.upstreamTls, common_tls_context: commonTls(trustDomain) } },
    typed_extension_protocol_options: {
      'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': {
        '@type': T.http2Options,
        explicit_http_config: {
          http2_protocol_options: { allow_connect: true, initial_stream_window_size: STREAM_WINDOW_BYTES, initial_connection_window_size: CONNECTION_WINDOW_BYTES },
        },
      },
    },
  };
}
