// The HTTP connection manager (envoy.filters.network.http_connection_manager) as Istio writes it
// on the waypoint's inbound HTTP chains, meshConfig.pathNormalization included.
import type { HcmPathOptions } from '../path-normalization';
import type { JsonObject } from '../../admin/json';

export const FILTER_HCM = 'envoy.filters.network.http_connection_manager';
const FILTER_ROUTER = 'envoy.filters.http.router';
export const TYPE_HCM = 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';
const TYPE_ROUTER = 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router';
const TYPE_UUID_REQUEST_ID = 'type.googleapis.com/envoy.extensions.request_id.uuid.v3.UuidRequestIdConfig';

/** The last filter of every HTTP chain: it sends the request to the route's cluster. */
export const ROUTER: JsonObject = { name: FILTER_ROUTER, typed_config: { '@type': TYPE_ROUTER } };

/**
 * The path normalization fields, in the dump's (proto field number) order around
 * request_id_extension: normalize_path is a BoolValue, so false is shown; merge_slashes is a
 * plain bool, shown only when true; Istio always sets path_with_escaped_slashes_action.
 */
export function normalizeFields(path: HcmPathOptions, between: JsonObject = {}): JsonObject {
  return {
    normalize_path: path.normalize_path,
    ...(path.merge_slashes ? { merge_slashes: true } : {}),
    ...between,
    path_with_escaped_slashes_action: path.path_with_escaped_slashes_action,
  };
}

/** The connection manager settings every inbound HTTP chain of the seed's waypoint carries. */
export function inboundHcm(statPrefix: string, routing: JsonObject, httpFilters: JsonObject[], path: HcmPathOptions): JsonObject {
  return {
    name: FILTER_HCM,
    typed_config: {
      '@type': TYPE_HCM,
      stat_prefix: statPrefix,
      ...routing,
      http_filters: [...httpFilters, ROUTER],
      server_name: 'istio-envoy',
      use_remote_address: false,
      forward_client_cert_details: 'APPEND_FORWARD',
      set_current_client_cert_details: { subject: true, dns: true, uri: true },
      upgrade_configs: [{ upgrade_type: 'websocket' }],
      stream_idle_timeout: '0s',
      ...normalizeFields(path, { request_id_extension: { typed_config: { '@type': TYPE_UUID_REQUEST_ID, use_request_id_for_trace_sampling: true } } }),
    },
  };
}
