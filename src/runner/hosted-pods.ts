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

function hosted(s: Scenario): Workload[] {
  return s.workloads.filter((w) => w.app.kind !== 'waypoint');
}
