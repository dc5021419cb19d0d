// BootstrapConfigDump: the waypoint's node, as istio-agent describes it to istiod.
import type { Workload } from '../../mesh/model';
import { canonicalService, DEFAULT_CLUSTER_ID } from '../../telemetry/workload-labels';
import type { JsonObject } from '../../admin/json';

/** `type` is Istio's proxy type: waypoint, or router for a gateway. */
export function bootstrap(waypoint: Workload, trustDomain: string, type: 'waypoint' | 'router' = 'waypoint'): JsonObject {
  const c = canonicalService(waypoint);
  return {
    node: {
      // Istio's node id for a proxy: <type>~<ip>~<pod>.<namespace>~<namespace>.svc.cluster.local.
      id: `${type}~${waypoint.ip}~${waypoint.name}.${waypoint.namespace}~${waypoint.namespace}.svc.cluster.local`,
      cluster: `${waypoint.workloadName}.${waypoint.namespace}`,
      metadata: {
        CLUSTER_ID: DEFAULT_CLUSTER_ID,
        NAMESPACE: waypoint.namespace,
        NAME: waypoint.name,
        WORKLOAD_NAME: waypoint.workloadName,
        SERVICE_ACCOUNT: waypoint.serviceAccount,
        MESH_ID: trustDomain,
        INSTANCE_IPS: waypoint.ip,
        LABELS: { ...waypoint.labels, 'service.istio.io/canonical-name': c.name, 'service.istio.io/canonical-revision': c.revision },
      },
      user_agent_name: 'envoy',
    },
  };
}
