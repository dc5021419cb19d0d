// Stage 2, inbound-vip|<port>|http|<host>: one internal listener per served service port (its
// HTTP connection manager routes by RDS, vip-routes.ts), one EDS cluster per service a route can
// reach, and that cluster's endpoints: the service's pods, each by its stage 3 listener.
import type { Service, ServicePort } from '../../mesh/model';
import { serviceHost } from '../../mesh/model';
import { PORT_HBONE } from '../../mesh/ports';
import type { MeshState } from '../../mesh/state';
import type { HcmPathOptions } from '../path-normalization';
import { podStage, vipListenerName, vipStage, workloadMetadata } from '../envoy-names';
import { inboundHcm } from './http-connection-manager';
import type { JsonObject } from '../../admin/json';
import { ADS, SET_DST_ADDRESS, TYPE_CLUSTER, TYPE_LISTENER, internalUpstream } from './resources';

const TYPE_CLUSTER_LOAD_ASSIGNMENT = 'type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment';

const OVERPROVISIONING_FACTOR = 140;

/** A service port some route of a served service can send to: an inbound-vip cluster. */
export interface VipCluster {
  readonly service: Service;
  readonly port: ServicePort;
}

export function vipListener(service: Service, port: number, path: HcmPathOptions): JsonObject {
  const name = vipListenerName(service, port);
  const rds = { rds: { route_config_name: vipStage(service, port), config_source: ADS } };
  return {
    '@type': TYPE_LISTENER,
    name,
    filter_chains: [{ filters: [inboundHcm(`inbound_0.0.0.0_${port}`, rds, [], path)], name: `${name}-http` }],
    listener_filters: [SET_DST_ADDRESS],
    traffic_direction: 'INBOUND',
    internal_listener: {},
  };
}

export function vipCluster(service: Service, port: number): JsonObject {
  const name = vipStage(service, port);
  return {
    '@type': TYPE_CLUSTER,
    name,
    type: 'EDS',
    eds_cluster_config: { eds_config: ADS, service_name: name },
    transport_socket: internalUpstream([]),
    metadata: { filter_metadata: { istio: { services: [{ namespace: service.namespace, name: service.name, host: serviceHost(service) }] } } },
    common_lb_config: {},
  };
}

export function vipEndpoints(state: MeshState, v: VipCluster): JsonObject {
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
    '@type': TYPE_CLUSTER_LOAD_ASSIGNMENT,
    cluster_name: vipStage(v.service, v.port.port),
    endpoints: lbEndpoints.length > 0 ? [{ locality: {}, lb_endpoints: lbEndpoints }] : [],
    policy: { overprovisioning_factor: OVERPROVISIONING_FACTOR },
  };
}
