// The waypoint's mutual TLS as its dump shows it: TLS 1.3 only, ALPN h2, the workload certificate
// and the mesh root from SDS, peers verified to the trust domain. Downstream on
// inbound_CONNECT_terminate, upstream on the inbound_CONNECT_originate cluster.
import type { JsonObject } from '../../admin/json';

const TYPE_DOWNSTREAM_TLS = 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext';
const TYPE_UPSTREAM_TLS = 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext';
const TLS_SOCKET = 'envoy.transport_sockets.tls';

/** The SDS secret names Istio's proxies use for the workload certificate and the mesh root. */
const SDS_CERT = 'default';
const SDS_ROOT = 'ROOTCA';
const SPIFFE = 'spiffe://';

function sdsConfig(name: string): JsonObject {
  return {
    name,
    sds_config: {
      api_config_source: {
        api_type: 'GRPC',
        grpc_services: [{ envoy_grpc: { cluster_name: 'sds-grpc' } }],
        set_node_on_first_message_only: true,
        transport_api_version: 'V3',
      },
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

/** The transport socket of the listener that terminates HBONE: the client must show its certificate. */
export function downstreamTls(trustDomain: string): JsonObject {
  return { name: TLS_SOCKET, typed_config: { '@type': TYPE_DOWNSTREAM_TLS, common_tls_context: commonTls(trustDomain), require_client_certificate: true } };
}

/** The transport socket of the cluster that originates HBONE. */
export function upstreamTls(trustDomain: string): JsonObject {
  return { name: TLS_SOCKET, typed_config: { '@type': TYPE_UPSTREAM_TLS, common_tls_context: commonTls(trustDomain) } };
}
