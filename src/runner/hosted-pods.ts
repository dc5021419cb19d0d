// Pods applied to a running mesh, or deleted from it, on their node's agent: what the kubelet
// does when the API server binds a pod to its node. The node's agent is told over IPC (and
// started first if the node had no pod yet, as in an empty cluster); an applied pod counts once
// it answers ready on podIP:15021. istiod's push has enrolled it with its ztunnel before.
import type { Scenario, Workload } from '../mesh/model';
import { hostAddress } from '../mesh/model';
import { PORT_READINESS } from '../mesh/ports';
import { nodeAgentName } from '../node/agent';
import type { PodCommand } from '../node/agent-message';
import type { Logger } from '../telemetry/log';
import type { ChildHandle, ChildSpec } from './supervisor';
import { answersReady, waitChildReady } from './supervisor';
import type { DeploymentHost } from './waypoint-deployments';
import { isProxyPod } from '../mesh/app-kinds';

const READY_POLL_MS = 50;

export interface HostedPod {
  readonly pod: Workload;
  readonly readyMs: number;
}

export class HostedPods {
  constructor(
    private readonly host: DeploymentHost & { child(name: string): ChildHandle | undefined },
    /** A node agent hosting no pod yet, as the runner starts one. */
    private readonly agentSpec: (s: Scenario, node: string) => ChildSpec,
    private readonly readyTimeoutMs: number,
    private readonly log: Logger,
  ) {}

  /** The pods `after` hosts and `before` did not. */
  static added(before: Scenario, after: Scenario): Workload[] {
    const had = new Set(hosted(before).map((w) => `${w.namespace}/${w.name}`));
    return hosted(after).filter((w) => !had.has(`${w.namespace}/${w.name}`));
  }

  /** Starts each pod on its node's agent; resolves once every one answers ready. */
  async add(after: Scenario, pods: readonly Workload[]): Promise<HostedPod[]> {
    const started = performance.now();
    for (const pod of pods) {
      const agent = await this.agentOf(after, pod.node);
      agent.process.send({ kind: 'hbone-sim/pod-add', pod } satisfies PodCommand);
    }
    return Promise.all(
      pods.map(async (pod) => {
        const where = `${hostAddress(pod.ip)}:${PORT_READINESS}`;
        for (const deadline = Date.now() + this.readyTimeoutMs; !(await answersReady(where));) {
          if (Date.now() > deadline) throw new Error(`pod ${pod.name} was not ready on ${where}/healthz/ready after ${this.readyTimeoutMs} ms`);
          await new Promise((r) => setTimeout(r, READY_POLL_MS));
        }
        const readyMs = performance.now() - started;
        this.log.info('pod running', { pod: pod.name, node: pod.node, ip: pod.ip, ready_ms: Math.round(readyMs) });
        return { pod, readyMs };
      }),
    );
  }

  /**
   * After a node agent restarted: it came back with the pods its command line names (the
   * scenario file's), not the API server's, so the pods applied to its node since are started
   * again and those deleted since are stopped, as a kubelet re-reads its pods on start.
   */
  resync(agentName: string, original: Scenario, live: Scenario): void {
    const node = original.nodes.find((n) => nodeAgentName(n.name) === agentName)?.name;
    const agent = this.host.child(agentName);
    if (!node || !agent) return;
    const started = new Set(startedBy(agent.spec.args, original, node));
    const wanted = hosted(live).filter((w) => w.node === node);
    const add = wanted.filter((w) => !started.has(w.name));
    const remove = [...started].filter((name) => !wanted.some((w) => w.name === name));
    for (const pod of add) agent.process.send({ kind: 'hbone-sim/pod-add', pod } satisfies PodCommand);
    for (const name of remove) agent.process.send({ kind: 'hbone-sim/pod-delete', name } satisfies PodCommand);
    if (add.length + remove.length > 0) this.log.info('node agent resynced', { agent: agentName, started: add.length, stopped: remove.length });
  }

  /** Stops each pod on its node's agent. */
  remove(pods: readonly Workload[]): void {
    for (const pod of pods) this.host.child(nodeAgentName(pod.node))?.process.send({ kind: 'hbone-sim/pod-delete', name: pod.name } satisfies PodCommand);
  }

  private async agentOf(s: Scenario, node: string): Promise<ChildHandle> {
    const running = this.host.child(nodeAgentName(node));
    if (running) return running;
    const agent = this.host.start(this.agentSpec(s, node));
    await waitChildReady(agent, this.readyTimeoutMs);
    this.host.watch(agent);
    this.log.info('node agent started', { node, agent: agent.spec.name });
    return agent;
  }
}

/** The pods a node agent hosts from its command line: --pods a,b (or none), else the scenario's on its node. */
function startedBy(args: readonly string[], original: Scenario, node: string): string[] {
  const i = args.indexOf('--pods');
  if (i < 0)
    return hosted(original)
      .filter((w) => w.node === node)
      .map((w) => w.name);
  return args[i + 1].split(',').filter((name) => name !== '');
}

function hosted(s: Scenario): Workload[] {
  return s.workloads.filter((w) => !isProxyPod(w));
}
