// `hbone-sim ztunnel --scenario <s> --node <n>`: one node's ztunnel as a process.
import { loadScenario } from '../mesh/load';
import { loadOrCreateCa, defaultCaDir } from '../identity/ca-store';
import { authorize } from '../policy/authz';
import { TcpMetrics } from '../telemetry/tcp-metrics';
import { AccessLog } from './access-log';
import { logger } from '../telemetry/log';
import { runService } from '../cli/lifecycle';
import { requireString } from '../cli/commands';
import { Ztunnel } from './ztunnel';
import { ZtunnelReporter } from './reporter';
import type { Authorizer } from './inbound';

export async function ztunnelCommand(flags: Record<string, string | boolean>): Promise<number> {
  const scenario = loadScenario(requireString(flags, 'scenario', 'ztunnel'));
  const node = requireString(flags, 'node', 'ztunnel');
  const caDir = typeof flags['ca-dir'] === 'string' ? flags['ca-dir'] : defaultCaDir();
  const log = logger('ztunnel');
  await runService(`ztunnel::${node}`, async () => {
    const ca = await loadOrCreateCa(caDir, scenario.trustDomain);
    const metrics = new TcpMetrics();
    const authz = logger('rbac');
    const authorizer: Authorizer = (pod, req) => {
      const d = authorize(scenario.policies, { namespace: pod.namespace, labels: pod.labels }, req);
      for (const note of d.l7 ?? []) authz.warn(note.message);
      return { allowed: d.allowed, reason: d.reason, policy: d.policy };
    };
    const zt = new Ztunnel({
      scenario,
      node,
      ca,
      reporter: new ZtunnelReporter(metrics, new AccessLog(), scenario.trustDomain),
      authorize: authorizer,
      metricsText: () => metrics.metrics(),
      disablePooling: flags['no-pool'] === true,
      log,
    });
    await zt.start();
    return zt;
  });
  return -1;
}
