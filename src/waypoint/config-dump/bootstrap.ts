// BootstrapConfigDump: the waypoint's node, as istio-agent describes it to istiod.
import type { Workload } from '../../mesh/model';
import { canonicalService, DEFAULT_CLUSTER_ID } from '../../telemetry/workload-labels';
import type { JsonObject } from '../../admin/json';

export function bootstrap(waypoint: Workload, trustDomain: string): JsonObject {
  const c = canonicalService(waypoint);
  return {
    node: {
      // Istio's node id for a waypoint: <type>~<ip>~<pod>.<namespace>~<namespace>.svc.cluster.local.
      id: `waypoint~${waypoint.ip}~${waypoint.name}.${waypoint.namespace}~${waypoint.namespace}.svc.cluster.local`,
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
