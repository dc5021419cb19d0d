// One node's ztunnel with what its process wires around it: the mesh CA, L4 authorization of the
// scenario's policies, TCP metrics and the access log (src/cli/ztunnel.ts runs it as a process).
import type { Scenario } from '../mesh/model';
import { loadOrCreateCa } from '../identity/ca-store';
import { authorize } from '../policy/authz';
import { TcpMetrics } from '../telemetry/tcp-metrics';
import { logger } from '../telemetry/log';
import { AccessLog } from './access-log';
import { Ztunnel } from './ztunnel';
import { ZtunnelReporter } from './reporter';
import type { Authorizer } from './inbound';

export interface ZtunnelProcessOptions {
  readonly scenario: Scenario;
  readonly node: string;
  readonly caDir: string;
  /** Every outbound CONNECT on its own TLS connection (the connections bench). */
  readonly disablePooling?: boolean;
}

export async function startZtunnel(o: ZtunnelProcessOptions): Promise<Ztunnel> {
  const { scenario } = o;
  const ca = await loadOrCreateCa(o.caDir, scenario.trustDomain);
  const metrics = new TcpMetrics();
  const authz = logger('rbac');
  const authorizer: Authorizer = (pod, req) => {
    const d = authorize(scenario.policies, { namespace: pod.namespace, labels: pod.labels }, req);
    for (const note of d.l7 ?? []) authz.warn(note.message);
    return { allowed: d.allowed, reason: d.reason, policy: d.policy };
  };
  const zt = new Ztunnel({
    scenario,
    node: o.node,
    ca,
    reporter: new ZtunnelReporter(metrics, new AccessLog(), scenario.trustDomain),
    authorize: authorizer,
    metricsText: () => metrics.metrics(),
    disablePooling: o.disablePooling === true,
    log: logger('ztunnel'),
  });
  await zt.start();
  return zt;
}
