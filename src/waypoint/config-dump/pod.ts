// Stage 3, inbound-pod|<targetPort>||<pod ip>: one internal listener per pod a served service can
// reach, whose HTTP chain carries the RBAC filters of the AuthorizationPolicies that apply
// (policy/authz/envoy-rbac.ts), and its STATIC cluster, whose endpoint carries the tunnel metadata for stage 4.
import type { AuthorizationPolicyDoc, Service, Workload } from '../../mesh/model';
import { PORT_HBONE } from '../../mesh/ports';
import { appliesAtWaypoint, AuthorizeL7Options, CompiledPolicy, rbacFilters, rbacTarget } from '../../policy/authz';
import type { HcmPathOptions } from '../path-normalization';
import { STAGE_ORIGINATE, podStage, workloadMetadata } from '../envoy-names';
import { inboundHcm } from './http-connection-manager';
import type { JsonObject } from '../../admin/json';
import { SET_DST_ADDRESS, TYPE_CLUSTER, TYPE_LISTENER, internalUpstream } from './resources';

/** A pod port behind some served service: an inbound-pod listener and cluster. */
export interface PodEndpoint {
  readonly pod: Workload;
  readonly port: number;
  /** Served services whose requests can reach this endpoint: the RBAC filter's targets. */
  readonly via: Service[];
}

export function podListener(
  e: PodEndpoint,
  compiled: readonly { doc: AuthorizationPolicyDoc; policy: CompiledPolicy }[],
  waypoint: Workload,
  authz: AuthorizeL7Options,
  trustDomain: string,
  path: HcmPathOptions,
): JsonObject {
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
    '@type': TYPE_LISTENER,
    name,
    filter_chains: [{ filters: [inboundHcm(`inbound_0.0.0.0_${e.port}`, routeConfig, rbacFilters(applicable, trustDomain), path)], name: `${name}-http` }],
    listener_filters: [SET_DST_ADDRESS],
    traffic_direction: 'INBOUND',
    internal_listener: {},
  };
}

export function podCluster(e: PodEndpoint): JsonObject {
  const name = podStage(e.pod, e.port);
  const destination = `${e.pod.ip}:${e.port}`;
  return {
    '@type': TYPE_CLUSTER,
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
