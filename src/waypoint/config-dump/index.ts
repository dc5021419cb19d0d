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
//
// One file per part, in the order of the path:
//   dump.ts                     configDump(): walks served services, their routes' backends, their pods
//   bootstrap.ts                BootstrapConfigDump: the waypoint's node
//   terminate.ts                stage 1 listener and the internal clusters it routes to
//   vip.ts, vip-routes.ts       stage 2 listeners, clusters, endpoints; its RDS route configurations
//   pod.ts                      stage 3 listeners (with the RBAC filters of policy/authz/envoy-rbac.ts) and clusters
//   originate.ts                stage 4 listener and cluster
//   http-connection-manager.ts, tls.ts, resources.ts   pieces the stages share (JSON types: admin/json.ts)
export { configDump, envoyConfigDump, findConfig, DUMP_TYPES } from './dump';
export { bootstrap } from './bootstrap';
export { envoyRoutes } from './vip-routes';
export { inboundHcm } from './http-connection-manager';
export { ADS, TYPE_CLUSTER, TYPE_LISTENER } from './resources';
export { upstreamTls } from './tls';
export type { DumpKind, EnvoyConfigDump, WaypointDumpOptions } from './dump';
