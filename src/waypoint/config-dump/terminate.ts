// Stage 1, inbound_CONNECT_terminate: the HBONE listener on <waypoint ip>:15008. It terminates
// mutual TLS and the CONNECT, and routes on :authority (the service VIP:port the client dialled)
// to the internal cluster inbound-vip|<port>|internal|<host>, which leads to stage 2's listener.
import type { Service, Workload } from '../../mesh/model';
import { PORT_HBONE } from '../../mesh/ports';
import { CONNECTION_WINDOW_BYTES, SERVER_MAX_CONCURRENT_STREAMS, STREAM_WINDOW_BYTES } from '../../hbone/constants';
import type { HcmPathOptions } from '../path-normalization';
import { STAGE_TERMINATE, internalClusterName, vipListenerName } from '../envoy-names';
import { FILTER_HCM, ROUTER, TYPE_HCM, normalizeFields } from './http-connection-manager';
import type { JsonObject } from '../../admin/json';
import { TYPE_CLUSTER, TYPE_LISTENER, internalUpstream } from './resources';
import { downstreamTls } from './tls';

/** The port the seed's (2022) waypoint listened on; told to learners in the listener's metadata. */
const SEED_WAYPOINT_PORT = 15006;

export function terminateListener(waypoint: Workload, served: readonly Service[], trustDomain: string, path: HcmPathOptions): JsonObject {
  const routes: JsonObject[] = served.flatMap((s) =>
    s.ports.map((p) => ({
      match: { headers: [{ name: ':authority', string_match: { exact: `${s.vip}:${p.port}` } }], connect_matcher: {} },
      route: { cluster: internalClusterName(s, p.port), upgrade_configs: [{ upgrade_type: 'CONNECT', connect_config: {} }] },
    })),
  );
  return {
    '@type': TYPE_LISTENER,
    name: STAGE_TERMINATE,
    address: { socket_address: { address: waypoint.ip, port_value: PORT_HBONE } },
    filter_chains: [
      {
        filters: [
          {
            name: FILTER_HCM,
            typed_config: {
              '@type': TYPE_HCM,
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
        transport_socket: downstreamTls(trustDomain),
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

export function internalCluster(service: Service, port: number): JsonObject {
  const name = internalClusterName(service, port);
  return {
    '@type': TYPE_CLUSTER,
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
