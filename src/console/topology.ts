// What the live page draws as the cluster: the Kubernetes nodes as boxes, each holding its pods
// and its ztunnel; the waypoints and ingress gateways among the pods (they are pods, on a node);
// the Services with their VIPs, their endpoints and the waypoint each is bound to. Built from
// the live configuration, so an `apply` that adds a pod or a waypoint redraws the page.
import type { Scenario, Workload } from '../mesh/model';
import { selects } from '../mesh/model';
import { GATEWAY_APP, WAYPOINT_APP } from '../mesh/app-kinds';
import { tunnelProtocolOf, useWaypointOf } from '../mesh/state';
import { formatSpiffeId, makeSpiffeId } from '../identity/spiffe';

/** What a pod is on the path: an application, a waypoint, or an ingress gateway. */
export type PodRole = 'app' | 'waypoint' | 'gateway';

export interface TopologyPod {
  readonly name: string;
  readonly namespace: string;
  readonly node: string;
  readonly ip: string;
  /** The workload (Deployment) name: what Istio's metrics and Kiali's graph call it. */
  readonly workload: string;
  readonly role: PodRole;
  /** In the mesh (HBONE) or outside it (plain TCP, not captured). */
  readonly inMesh: boolean;
  /** Its SPIFFE identity, spiffe://cluster.local/ns/<ns>/sa/<sa>. */
  readonly identity: string;
  /** The waypoint its own traffic goes through (istio.io/use-waypoint for workloads), if any. */
  readonly waypoint?: string;
}

export interface TopologyNode {
  readonly name: string;
  readonly ip: string;
  /** The node's ztunnel, as its process is named (ztunnel-node-a). */
  readonly ztunnel: string;
  /** Its pods' names (namespace/name). */
  readonly pods: readonly string[];
}

export interface TopologyService {
  readonly name: string;
  readonly namespace: string;
  readonly vip: string;
  readonly ports: readonly number[];
  /** The waypoint Gateway the Service's traffic goes through, resolved as istiod resolves it. */
  readonly waypoint?: string;
  /** The pods it selects (namespace/name). */
  readonly endpoints: readonly string[];
}

export interface Topology {
  readonly mesh: string;
  readonly nodes: readonly TopologyNode[];
  readonly pods: readonly TopologyPod[];
  readonly services: readonly TopologyService[];
}

export const podKey = (p: Pick<Workload, 'namespace' | 'name'>): string => `${p.namespace}/${p.name}`;

function roleOf(w: Workload): PodRole {
  if (w.app.kind === WAYPOINT_APP) return 'waypoint';
  if (w.app.kind === GATEWAY_APP) return 'gateway';
  return 'app';
}

export function topologyOf(s: Scenario): Topology {
  const pods: TopologyPod[] = s.workloads.map((w) => {
    const waypoint = w.waypoint;
    return {
      name: w.name,
      namespace: w.namespace,
      node: w.node,
      ip: w.ip,
      workload: w.workloadName,
      role: roleOf(w),
      inMesh: tunnelProtocolOf(s, w) === 'HBONE',
      identity: formatSpiffeId(makeSpiffeId(w.namespace, w.serviceAccount)),
      ...(waypoint ? { waypoint } : {}),
    };
  });
  const nodes: TopologyNode[] = s.nodes.map((n) => ({
    name: n.name,
    ip: n.ip,
    ztunnel: `ztunnel-${n.name}`,
    pods: s.workloads.filter((w) => w.node === n.name).map(podKey),
  }));
  const services: TopologyService[] = s.services.map((svc) => {
    const waypoint = useWaypointOf(s, svc);
    return {
      name: svc.name,
      namespace: svc.namespace,
      vip: svc.vip,
      ports: svc.ports.map((p) => p.port),
      ...(waypoint && waypoint !== 'none' ? { waypoint } : {}),
      endpoints: s.workloads
        .filter((w) => w.namespace === svc.namespace && Object.keys(svc.selector).length > 0 && selects(svc.selector, w.labels))
        .map(podKey),
    };
  });
  return { mesh: s.name, nodes, pods, services };
}
