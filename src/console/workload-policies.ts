// The AuthorizationPolicies that apply to one pod, and where each is enforced: by the pod's node
// ztunnel (L4: selector, namespace-wide and mesh-wide policies), or by the waypoint in front of
// it (L7: targetRefs to the Service or the waypoint, and, as in the seed's waypoint, the
// selector policies too). The same selection the proxies make, so the page never disagrees
// with what they enforce.
import type { AuthorizationPolicyDoc, Scenario, Workload } from '../mesh/model';
import { LABEL_GATEWAY_NAME, selects } from '../mesh/model';
import { WAYPOINT_APP } from '../mesh/app-kinds';
import { useWaypointOf } from '../mesh/state';
import { compilePolicy } from '../policy/authz/compile-policy';
import { appliesTo } from '../policy/authz/authorize-l4';
import { appliesAtWaypoint, rbacTarget } from '../policy/authz/waypoint-attachment';

export interface AppliedPolicy {
  readonly name: string;
  readonly namespace: string;
  readonly action: string;
  /** Who enforces it for this pod: ztunnel-<node>, or the waypoint pod for a Service. */
  readonly enforcedBy: string;
  readonly layer: 'L4' | 'L7';
  /** For L7: the Service whose requests it applies to. */
  readonly service?: string;
  readonly spec: unknown;
}

function actionOf(p: AuthorizationPolicyDoc): string {
  const action = (p.spec as { action?: unknown } | undefined)?.action;
  return typeof action === 'string' ? action : 'ALLOW';
}

export function policiesFor(s: Scenario, pod: Workload): AppliedPolicy[] {
  const out: AppliedPolicy[] = [];
  const base = (p: AuthorizationPolicyDoc) => ({ name: p.metadata.name, namespace: p.metadata.namespace, action: actionOf(p), spec: p.spec });
  for (const p of s.policies) {
    if (appliesTo(compilePolicy(p), { namespace: pod.namespace, labels: pod.labels })) out.push({ ...base(p), enforcedBy: `ztunnel-${pod.node}`, layer: 'L4' });
  }
  for (const svc of s.services) {
    if (svc.namespace !== pod.namespace || Object.keys(svc.selector).length === 0 || !selects(svc.selector, pod.labels)) continue;
    const gateway = useWaypointOf(s, svc);
    const waypoint = s.workloads.find((w) => w.app.kind === WAYPOINT_APP && w.namespace === svc.namespace && w.labels[LABEL_GATEWAY_NAME] === gateway);
    if (!waypoint) continue;
    const target = rbacTarget(svc, pod, waypoint);
    for (const p of s.policies) {
      if (appliesAtWaypoint(p, target)) out.push({ ...base(p), enforcedBy: waypoint.name, layer: 'L7', service: `${svc.name}.${svc.namespace}` });
    }
  }
  return out;
}
