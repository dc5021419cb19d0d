// One node's ztunnel with what its process wires around it: where its configuration and
// certificates come from (istiod over xDS and its CA, or, run alone, the scenario file and the
// CA on disk), L4 authorization of the current policies, TCP metrics and the access log
// (src/cli/ztunnel.ts runs it as a process).
import type { Scenario } from '../mesh/model';
import { MeshState } from '../mesh/state';
import { loadOrCreateCa } from '../identity/ca-store';
import { makeSpiffeId, SpiffeId } from '../identity/spiffe';
import type { CertificateSource } from '../identity/workload-cert';
import type { TypeHandler } from '../xds/ads-client';
import type { XdsNode } from '../xds/types';
import { authorize } from '../policy/authz';
import { TcpMetrics } from '../telemetry/tcp-metrics';
import { logger } from '../telemetry/log';
import { joinControlPlane, ControlPlaneLink, IstiodLink } from '../xds/bootstrap';
import { addressHandler, authorizationHandler } from '../xds/mesh-handlers';
import { ZTUNNEL_NAMESPACE, ZTUNNEL_SERVICE_ACCOUNT } from '../mesh/control-plane';
import { AccessLog } from './access-log';
import { Ztunnel } from './ztunnel';
import { ZtunnelReporter } from './reporter';
import type { Authorizer } from './inbound';

export interface ZtunnelProcessOptions {
  readonly scenario: Scenario;
  readonly node: string;
  readonly caDir: string;
  /** istiod's host:port and this ztunnel's service account token; without them, the file and the local CA. */
  readonly istiod?: IstiodLink;
  /** Every outbound CONNECT on its own TLS connection (the connections bench). */
  readonly disablePooling?: boolean;
}

/** A running ztunnel and its link to istiod, stopped together. */
export interface ZtunnelProcess {
  readonly ztunnel: Ztunnel;
  stop(): Promise<void>;
}

export async function startZtunnel(o: ZtunnelProcessOptions): Promise<ZtunnelProcess> {
  const { scenario } = o;
  const node = scenario.nodes.find((n) => n.name === o.node);
  if (!node) throw new Error(`node ${o.node} is not in scenario ${scenario.name}`);
  const state = new MeshState(scenario);
  let link: ControlPlaneLink | undefined;
  let ca: CertificateSource;
  if (o.istiod) {
    // Before any listener: the pods to serve come with istiod's first push.
    link = await joinAsZtunnel(o, o.istiod, node.ip, ztunnelHandlers(state));
    ca = link.ca;
  } else {
    ca = await loadOrCreateCa(o.caDir, scenario.trustDomain);
  }
  const { ztunnel: zt } = buildZtunnel(o, state, ca, true);
  try {
    await zt.start();
  } catch (err) {
    link?.stop();
    throw err;
  }
  return {
    ztunnel: zt,
    stop: async () => {
      link?.stop();
      await zt.stop();
    },
  };
}

/** Joins istiod as this node's ztunnel: its certificate from the CA, then one ADS stream fed to `handlers`. */
export function joinAsZtunnel(o: ZtunnelProcessOptions, istiod: IstiodLink, nodeIp: string, handlers: TypeHandler[]): Promise<ControlPlaneLink> {
  return joinControlPlane({
    istiod: istiod.address,
    caDir: o.caDir,
    token: istiod.token,
    certLifetimeMs: istiod.secretTtlMs,
    ...ztunnelXdsNode(o.scenario, o.node, nodeIp),
    handlers,
    log: logger('xds'),
  });
}

/** The xDS types a ztunnel takes, each applied to its MeshState. */
export function ztunnelHandlers(state: MeshState): TypeHandler[] {
  return [addressHandler(state), authorizationHandler(state)];
}

/**
 * A ztunnel wired as its process runs it: L4 authorization of the current policies, TCP metrics
 * and the access log; `serveAdmin` false for a worker, whose primary serves the admin ports.
 */
export function buildZtunnel(
  o: ZtunnelProcessOptions,
  state: MeshState,
  ca: CertificateSource,
  serveAdmin: boolean,
): { ztunnel: Ztunnel; metrics: TcpMetrics } {
  const { scenario } = o;
  const metrics = new TcpMetrics();
  const authz = logger('rbac');
  const authorizer: Authorizer = (pod, req) => {
    const d = authorize(state.scenario.policies, { namespace: pod.namespace, labels: pod.labels }, req);
    for (const note of d.l7 ?? []) authz.warn(note.message);
    return { allowed: d.allowed, reason: d.reason, policy: d.policy };
  };
  const ztunnel = new Ztunnel({
    scenario,
    state,
    node: o.node,
    ca,
    reporter: new ZtunnelReporter(metrics, new AccessLog(), scenario.trustDomain),
    authorize: authorizer,
    metricsText: () => metrics.metrics(),
    disablePooling: o.disablePooling === true,
    certLifetimeMs: o.istiod?.secretTtlMs,
    serveAdmin,
    log: logger('ztunnel'),
  });
  return { ztunnel, metrics };
}

/** The xDS node a ztunnel shows istiod, and the identity it joins as. */
export function ztunnelXdsNode(scenario: Scenario, nodeName: string, nodeIp: string): { identity: SpiffeId; node: XdsNode } {
  return {
    identity: makeSpiffeId(ZTUNNEL_NAMESPACE, ZTUNNEL_SERVICE_ACCOUNT, scenario.trustDomain),
    node: { id: `ztunnel~${nodeIp}~ztunnel-${nodeName}.${ZTUNNEL_NAMESPACE}~${ZTUNNEL_NAMESPACE}.svc.cluster.local`, proxyType: 'ztunnel' },
  };
}
