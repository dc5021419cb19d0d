// Stage 4, inbound_CONNECT_originate: the internal listener whose tcp_proxy tunnels each stream
// to the pod as an HBONE CONNECT (x-envoy-original-dst-host names pod ip:port), and the
// ORIGINAL_DST cluster that dials the pod's ztunnel on 15008 over mutual TLS, HTTP/2 with CONNECT.
import { CONNECTION_WINDOW_BYTES, CONNECT_TIMEOUT_MS, HEADER_ORIGINAL_DST, STREAM_WINDOW_BYTES } from '../../hbone/constants';
import { STAGE_ORIGINATE } from '../envoy-names';
import type { JsonObject } from '../../admin/json';
import { SET_DST_ADDRESS, TYPE_CLUSTER, TYPE_LISTENER, durationText } from './resources';
import { upstreamTls } from './tls';

const TYPE_TCP_PROXY = 'type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy';
const TYPE_HTTP_PROTOCOL_OPTIONS = 'type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions';

export function originateListener(): JsonObject {
  return {
    '@type': TYPE_LISTENER,
    name: STAGE_ORIGINATE,
    filter_chains: [
      {
        filters: [
          {
            name: 'envoy.filters.network.tcp_proxy',
            typed_config: {
              '@type': TYPE_TCP_PROXY,
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

export function originateCluster(trustDomain: string): JsonObject {
  return {
    '@type': TYPE_CLUSTER,
    name: STAGE_ORIGINATE,
    type: 'ORIGINAL_DST',
    connect_timeout: durationText(CONNECT_TIMEOUT_MS),
    lb_policy: 'CLUSTER_PROVIDED',
    cleanup_interval: '60s',
    transport_socket: upstreamTls(trustDomain),
    typed_extension_protocol_options: {
      'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': {
        '@type': TYPE_HTTP_PROTOCOL_OPTIONS,
        explicit_http_config: {
          http2_protocol_options: {
            allow_connect: true,
            initial_stream_window_size: STREAM_WINDOW_BYTES,
            initial_connection_window_size: CONNECTION_WINDOW_BYTES,
          },
        },
      },
    },
  };
}
