// What ztunnel's /config_dump lists as its policies: what istiod sends it. A policy bound by
// targetRefs (to a Service, a waypoint Gateway) is the waypoint's to enforce, so it is not among
// them, as `istioctl ztunnel-config policies` shows in a cluster; selector, namespace-wide and
// mesh-wide policies are.
import t from 'tap';
import { loadScenario } from '../../src/mesh/load';
import { MeshState } from '../../src/mesh/state';
import { configDump } from '../../src/ztunnel/config-dump';

t.test("targetRefs policies are not in ztunnel's dump; the others are, with their scope", async (t) => {
  const s = loadScenario('bookinfo');
  const named = (name: string, namespace: string, spec: Record<string, unknown>) => ({
    apiVersion: 'security.istio.io/v1',
    kind: 'AuthorizationPolicy' as const,
    metadata: { name, namespace },
    spec,
    origin: `test: ${name}`,
  });
  const scenario = {
    ...s,
    policies: [
      named('l7-viewer', 'default', { targetRefs: [{ kind: 'Service', group: '', name: 'productpage' }], action: 'ALLOW', rules: [{}] }),
      named('pods', 'default', { selector: { matchLabels: { app: 'productpage' } }, action: 'ALLOW', rules: [{}] }),
      named('ns-wide', 'default', { action: 'DENY', rules: [{ from: [{ source: { namespaces: ['evil'] } }] }] }),
      named('mesh-wide', 'istio-system', { action: 'ALLOW', rules: [{}] }),
    ],
  };
  const dump = configDump(new MeshState(scenario), []) as { policies: { name: string; scope: string }[] };
  t.same(
    dump.policies.map((p) => `${p.name} ${p.scope}`),
    ['pods WorkloadSelector', 'ns-wide Namespace', 'mesh-wide Global'],
  );
});
