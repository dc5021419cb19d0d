// What the runner starts for a scenario: istiod first (the only process that reads the root's
// key), a ztunnel per node, a process per waypoint, and a node agent per node hosting its pods
// (or a process per pod). Each proxy gets its own service account token.
import type { Scenario, Workload } from '../mesh/model';
import { hostAddress } from '../mesh/model';
import { PORT_KUBELET_HEALTHZ, PORT_READINESS } from '../mesh/ports';
import { GATEWAY_APP, isProxyPod } from '../mesh/app-kinds';
import { ENV_SA_TOKEN, ENV_TOKEN_KEY, TokenClaims, newTokenKey, signToken } from '../identity/sa-token';
import { ISTIOD_NAME, istiodIp, istiodXdsAddress, ZTUNNEL_NAMESPACE, ZTUNNEL_SERVICE_ACCOUNT } from '../mesh/control-plane';
import { hostedPods, nodeAgentName } from '../node/agent';
import type { ChildSpec } from './supervisor';
import { BackOffTimings, KUBELET_BACKOFF } from './backoff';

/** The container of each child, as a pod spec would name it: ztunnel and the waypoint run istio-proxy. */
const PROXY_CONTAINER = 'istio-proxy';
/** istiod's container in its pod, as Kubernetes names it. */
const ISTIOD_CONTAINER = 'discovery';
/** The node agent's "container", for its own restart events. */
const NODE_AGENT_CONTAINER = 'kubelet';
/** `node --pods` naming no pod: the agent hosts none until the runner tells it of one. */
const NO_PODS = ',';

export interface ChildSpecOptions {
  /** One process per pod (`app --pod`) instead of one node agent per node. */
  readonly podProcesses?: boolean;
  /** Children, or pods, left out (a test stands in for them). */
  readonly without?: readonly string[];
  /** The restart back-off a node agent applies to its pods; the kubelet's by default. */
  readonly backOff?: BackOffTimings;
  /**
   * The key service account tokens are signed with (the runner plays the API server): istiod
   * verifies them, each proxy gets its own. A new one by default.
   */
  readonly tokenKey?: string;
  /** Where the API server keeps the live configuration for istiod (under --hold). */
  readonly liveConfigFile?: string;
  /** Worker threads of every ztunnel and waypoint (`--workers N`); 1 (one process, no flag) by default. */
  readonly workers?: number;
}

/** `--workers N` for a proxy's command line, nothing for the default of one. */
function workersArgs(workers: number | undefined): string[] {
  return workers !== undefined && workers > 1 ? ['--workers', String(workers)] : [];
}

export function childSpecs(scenario: Scenario, caDir: string, options: ChildSpecOptions = {}): ChildSpec[] {
  const without = new Set(options.without ?? []);
  const tokenKey = options.tokenKey ?? newTokenKey();
  const xds = istiodXdsAddress(scenario);
  const token = (c: TokenClaims) => ({ [ENV_SA_TOKEN]: signToken(tokenKey, c) });
  // The control plane first: the only process that reads the root's key.
  const istiod: ChildSpec = {
    name: ISTIOD_NAME,
    args: ['istiod', '--scenario', scenario.file, '--ca-dir', caDir, ...(options.liveConfigFile ? ['--live-config', options.liveConfigFile] : [])],
    ready: `${hostAddress(istiodIp(scenario))}:${PORT_READINESS}`,
    container: ISTIOD_CONTAINER,
    env: { [ENV_TOKEN_KEY]: tokenKey },
  };
  const ztunnels = scenario.nodes.map((n) => ({
    name: `ztunnel-${n.name}`,
    args: ['ztunnel', '--scenario', scenario.file, '--node', n.name, '--ca-dir', caDir, '--istiod', xds, ...workersArgs(options.workers)],
    ready: `${hostAddress(n.ip)}:${PORT_READINESS}`,
    container: PROXY_CONTAINER,
    env: token({ namespace: ZTUNNEL_NAMESPACE, serviceAccount: ZTUNNEL_SERVICE_ACCOUNT, pod: `ztunnel-${n.name}`, node: n.name }),
  }));
  const readiness = (w: Workload): string => `${hostAddress(w.ip)}:${PORT_READINESS}`;
  const waypoints = scenario.workloads.filter(isProxyPod).map((w) => waypointSpec(scenario, w, caDir, { ...options, tokenKey }));
  if (options.podProcesses) {
    const pods = scenario.workloads
      .filter((w) => !isProxyPod(w))
      .map((w) => ({ name: w.name, args: ['app', '--scenario', scenario.file, '--pod', w.name], ready: readiness(w), container: w.app.kind }));
    return [istiod, ...ztunnels, ...waypoints, ...pods].filter((c) => !without.has(c.name));
  }
  // The scale of the back-off travels as the CLI's --backoff-scale.
  const scale = options.backOff ? options.backOff.initialMs / KUBELET_BACKOFF.initialMs : undefined;
  const agents = scenario.nodes.flatMap((n) => {
    const all = hostedPods(scenario, n.name);
    const pods = all.filter((w) => !without.has(w.name));
    if (pods.length === 0) return [];
    const args = ['node', '--scenario', scenario.file, '--node', n.name];
    if (pods.length < all.length) args.push('--pods', pods.map((w) => w.name).join(','));
    if (scale !== undefined) args.push('--backoff-scale', String(scale));
    const healthz = `${hostAddress(n.ip)}:${PORT_KUBELET_HEALTHZ}`;
    return [{ name: nodeAgentName(n.name), args, ready: healthz, alsoReady: pods.map(readiness), container: NODE_AGENT_CONTAINER }];
  });
  return [istiod, ...ztunnels, ...waypoints, ...agents].filter((c) => !without.has(c.name));
}

/**
 * A waypoint's process, or an ingress gateway's (the same shape: a proxy pod of its own). Under --hold it reads the API server's live configuration when there is
 * one: a waypoint deployed for an applied Gateway is in no scenario file, and a restarted one
 * must find its pod as the mesh is now.
 */
export function waypointSpec(
  scenario: Scenario,
  w: Workload,
  caDir: string,
  options: { readonly tokenKey: string; readonly liveConfigFile?: string; readonly workers?: number },
): ChildSpec {
  // Worker threads are the waypoint's (Envoy's --concurrency); an ingress gateway runs one process.
  const workers = w.app.kind === GATEWAY_APP ? [] : workersArgs(options.workers);
  const live = options.liveConfigFile ? ['--live-config', options.liveConfigFile] : [];
  return {
    name: w.name,
    args: [
      w.app.kind === GATEWAY_APP ? 'gateway' : 'waypoint',
      '--scenario',
      scenario.file,
      ...live,
      '--pod',
      w.name,
      '--ca-dir',
      caDir,
      '--istiod',
      istiodXdsAddress(scenario),
      ...workers,
    ],
    ready: `${hostAddress(w.ip)}:${PORT_READINESS}`,
    container: PROXY_CONTAINER,
    env: { [ENV_SA_TOKEN]: signToken(options.tokenKey, { namespace: w.namespace, serviceAccount: w.serviceAccount, pod: w.name, node: w.node }) },
  };
}

/** A node agent that hosts no pod yet (the runner starts one when a pod is applied to its node). */
export function emptyNodeAgentSpec(scenario: Scenario, node: string, backOff?: BackOffTimings): ChildSpec {
  const n = scenario.nodes.find((x) => x.name === node)!;
  const args = ['node', '--scenario', scenario.file, '--node', node, '--pods', NO_PODS];
  if (backOff) args.push('--backoff-scale', String(backOff.initialMs / KUBELET_BACKOFF.initialMs));
  return { name: nodeAgentName(node), args, ready: `${hostAddress(n.ip)}:${PORT_KUBELET_HEALTHZ}`, container: NODE_AGENT_CONTAINER };
}
