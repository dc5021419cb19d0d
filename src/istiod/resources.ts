// What istiod pushes, built from the mesh's configuration: every resource of every type, named
// as Istio names them, each with a version that changes only when its body does.
//   istio.workload.Address        one per pod (Kubernetes//Pod/<ns>/<name>) and per service (<ns>/<host>)
//   istio.security.Authorization  one per AuthorizationPolicy (<ns>/<name>)
//   RouteConfiguration            one per port of a waypoint-bound service, named as Envoy's
//                                 route (inbound-vip|<port>|http|<host>), holding its HTTPRoutes;
//                                 one per listener of an ingress Gateway (<ns>/<gateway>/http.<port>)
import { createHash } from 'node:crypto';
import type { HttpRouteDoc, Scenario, Service, Workload, AuthorizationPolicyDoc } from '../mesh/model';
import { serviceHost } from '../mesh/model';
import { MeshState, tunnelProtocolOf, withWaypointBinding, workloadWaypointOf } from '../mesh/state';
import { attachesTo } from '../policy/httproute';
import { vipStage } from '../waypoint/envoy-names';
import { GATEWAY_APP } from '../mesh/app-kinds';
import { gatewayOfPod, listenersOf } from '../mesh/ingress-gateway';
import { gatewayRouteName } from '../gateway/envoy-names';
import { virtualHosts } from '../gateway/virtual-hosts';
import { TYPE_ADDRESS, TYPE_AUTHORIZATION, TYPE_ROUTE, TypeUrl, XdsResource } from '../xds/types';

/** Istio's workload uid: <cluster>//Pod/<namespace>/<name>. */
const CLUSTER_ID = 'Kubernetes';

/** An Address resource: exactly one of a workload or a service. */
export type AddressBody = { readonly workload: Workload } | { readonly service: Service };

/** A waypoint's route configuration: the service port it routes and the HTTPRoutes attached to it. */
export interface RouteConfigurationBody {
  readonly service: {
    /** A Service port (a waypoint's), or with kind Gateway an ingress Gateway's listener. */
    readonly kind?: 'Gateway';
    readonly name: string;
    readonly namespace: string;
    readonly port: number;
    readonly portName: string;
  };
  readonly httpRoutes: readonly HttpRouteDoc[];
}

export type Snapshot = ReadonlyMap<TypeUrl, ReadonlyMap<string, XdsResource>>;

export function workloadResourceName(w: Pick<Workload, 'namespace' | 'name'>): string {
  return `${CLUSTER_ID}//Pod/${w.namespace}/${w.name}`;
}

export function serviceResourceName(s: Pick<Service, 'namespace' | 'name'>): string {
  return `${s.namespace}/${serviceHost(s)}`;
}

export function policyResourceName(p: AuthorizationPolicyDoc): string {
  return `${p.metadata.namespace}/${p.metadata.name}`;
}

export function buildSnapshot(s: Scenario): Snapshot {
  const address = new Map<string, XdsResource>();
  // istiod resolves enrollment (namespace and pod labels) into each workload's tunnel protocol.
  for (const w of s.workloads) {
    // ... and the labels into the waypoint of traffic addressed to the pod, if any.
    const waypoint = workloadWaypointOf(s, w);
    add(address, workloadResourceName(w), {
      workload: { ...w, tunnelProtocol: tunnelProtocolOf(s, w), ...(waypoint ? { waypoint } : {}) },
    } satisfies AddressBody);
  }
  for (const svc of s.services) add(address, serviceResourceName(svc), { service: withWaypointBinding(s, svc) } satisfies AddressBody);

  const authorization = new Map<string, XdsResource>();
  for (const p of s.policies) add(authorization, policyResourceName(p), p);

  const routes = new Map<string, XdsResource>();
  const state = new MeshState(s);
  for (const waypoint of s.workloads.filter((w) => w.app.kind === 'waypoint')) {
    for (const svc of state.servicesOfWaypoint(waypoint)) {
      for (const p of svc.ports) {
        const service = { name: svc.name, namespace: svc.namespace, port: p.port, portName: p.name };
        // `origin` (file:line) is the loader's note, not part of the HTTPRoute.
        const httpRoutes = s.httpRoutes.filter((r) => attachesTo(r, service)).map(({ origin: _origin, ...doc }) => doc as HttpRouteDoc);
        const body: RouteConfigurationBody = { service, httpRoutes };
        add(routes, vipStage(svc, p.port), body);
      }
    }
  }
  // An ingress gateway's listeners: http.<port> of each, scoped by its Gateway (names are per proxy in Istio).
  for (const pod of s.workloads.filter((w) => w.app.kind === GATEWAY_APP)) {
    const gateway = gatewayOfPod(s, pod);
    if (!gateway) continue;
    const docs = s.httpRoutes.map(({ origin: _origin, ...doc }) => doc as HttpRouteDoc);
    for (const l of listenersOf(gateway)) {
      const service = { kind: 'Gateway' as const, name: gateway.metadata.name, namespace: gateway.metadata.namespace, port: l.port, portName: l.name };
      const httpRoutes = [...new Set(virtualHosts(gateway, l, docs).flatMap((v) => v.routes))];
      const body: RouteConfigurationBody = { service, httpRoutes };
      add(routes, `${gateway.metadata.namespace}/${gateway.metadata.name}/${gatewayRouteName(l.port)}`, body);
    }
  }
  return new Map<TypeUrl, ReadonlyMap<string, XdsResource>>([
    [TYPE_ADDRESS, address],
    [TYPE_AUTHORIZATION, authorization],
    [TYPE_ROUTE, routes],
  ]);
}

function add(into: Map<string, XdsResource>, name: string, resource: unknown): void {
  const version = createHash('sha256').update(JSON.stringify(resource)).digest('hex').slice(0, 12);
  into.set(name, { name, version, resource });
}
