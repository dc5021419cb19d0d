// Pieces every stage of the waypoint's dump shares: the listener and cluster type URLs, ADS as
// the config source of dynamic resources, the set_dst_address filter of every internal listener,
// the internal_upstream transport socket that reaches one, and durations as protobuf JSON writes them.
import type { JsonObject } from '../../admin/json';

export const TYPE_LISTENER = 'type.googleapis.com/envoy.config.listener.v3.Listener';
export const TYPE_CLUSTER = 'type.googleapis.com/envoy.config.cluster.v3.Cluster';
const TYPE_INTERNAL_UPSTREAM = 'type.googleapis.com/envoy.extensions.transport_sockets.internal_upstream.v3.InternalUpstreamTransport';
const TYPE_RAW_BUFFER = 'type.googleapis.com/envoy.extensions.transport_sockets.raw_buffer.v3.RawBuffer';
const TYPE_TYPED_STRUCT = 'type.googleapis.com/xds.type.v3.TypedStruct';

/** A cluster's way into an internal listener, passing on the metadata named (kind cluster or host). */
export function internalUpstream(passthrough: { kind: 'cluster' | 'host'; name: string }[]): JsonObject {
  return {
    name: 'envoy.transport_sockets.internal_upstream',
    typed_config: {
      '@type': TYPE_INTERNAL_UPSTREAM,
      ...(passthrough.length > 0 ? { passthrough_metadata: passthrough.map((p) => ({ kind: { [p.kind]: {} }, name: p.name })) } : {}),
      transport_socket: { name: 'envoy.transport_sockets.raw_buffer', typed_config: { '@type': TYPE_RAW_BUFFER } },
    },
  };
}

/** Istio's listener filter on every internal listener: the destination is the endpoint's, not the listener's. */
export const SET_DST_ADDRESS: JsonObject = {
  name: 'set_dst_address',
  typed_config: { '@type': TYPE_TYPED_STRUCT, type_url: 'type.googleapis.com/istio.set_internal_dst_address.v1.Config', value: {} },
};

/** Dynamic resources come over ADS (istiod's one gRPC stream). */
export const ADS: JsonObject = { ads: {}, initial_fetch_timeout: '0s', resource_api_version: 'V3' };

/** A google.protobuf.Duration as protobuf JSON writes it: 5s, 0.250s. */
export function durationText(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${(ms / 1000).toFixed(3)}s`;
}
