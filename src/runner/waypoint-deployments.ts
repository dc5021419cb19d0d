// Waypoint Deployments while the mesh runs: what Istio's gateway controller and the kubelet do
// together when a waypoint Gateway (or an ingress Gateway of class istio) is applied or deleted. A new waypoint's process is started
// and ready before istiod tells the proxies about it, so no connection goes to a waypoint that
// is not listening yet; a deleted one's process stops once the proxies have the configuration
// without it, so traffic has gone direct again first.
import type { Scenario, Workload } from '../mesh/model';
import { GATEWAY_APP, isProxyPod } from '../mesh/app-kinds';
import { errorMessage } from '../error-message';
import type { Logger } from '../telemetry/log';
import type { ChildHandle, ChildSpec } from './supervisor';
import { waitChildReady } from './supervisor';

/** The parts of the runner a deployment uses: its supervisor and its restarter. */
export interface DeploymentHost {
  start(spec: ChildSpec): ChildHandle;
  stop(name: string): Promise<void>;
  /** From now on, restart it when it exits (the restarter's watch). */
  watch(handle: ChildHandle): void;
  /** Never restart it again (the restarter's forget). */
  forget(name: string): void;
}

export interface StartedWaypoint {
  readonly pod: Workload;
  readonly readyMs: number;
}

export class WaypointDeployments {
  constructor(
    private readonly host: DeploymentHost,
    /** The process of a waypoint pod, as the runner starts one. */
    private readonly specOf: (s: Scenario, pod: Workload) => ChildSpec,
    private readonly readyTimeoutMs: number,
    private readonly log: Logger,
  ) {}

  /**
   * Starts the waypoint pods `after` has and `before` has not, and resolves once all are ready.
   * If one does not come up, every one started here is stopped and the error says why.
   */
  async startAdded(before: Scenario, after: Scenario): Promise<StartedWaypoint[]> {
    const added = waypointPods(after).filter((w) => !waypointPods(before).some((b) => b.name === w.name));
    const started: { pod: Workload; handle: ChildHandle; at: number }[] = [];
    try {
      for (const pod of added) started.push({ pod, handle: this.host.start(this.specOf(after, pod)), at: performance.now() });
      const ready = await Promise.all(
        started.map(async (s) => {
          await waitChildReady(s.handle, this.readyTimeoutMs);
          return { pod: s.pod, readyMs: performance.now() - s.at };
        }),
      );
      for (const s of started) this.host.watch(s.handle);
      for (const r of ready) this.log.info(`${role(r.pod)} deployed`, { pod: r.pod.name, node: r.pod.node, ip: r.pod.ip, ready_ms: Math.round(r.readyMs) });
      return ready;
    } catch (err) {
      await Promise.all(started.map((s) => this.host.stop(s.pod.name)));
      const what = started.map((s) => `${role(s.pod)} ${s.pod.name}`).join(', ');
      throw new Error(`the ${what} did not come up, so nothing was applied: ${errorMessage(err)}`, { cause: err });
    }
  }

  /** Stops the waypoint pods `before` had and `after` has not. */
  async stopRemoved(before: Scenario, after: Scenario): Promise<string[]> {
    const removed = waypointPods(before).filter((w) => !waypointPods(after).some((a) => a.name === w.name));
    await Promise.all(
      removed.map(async (w) => {
        this.host.forget(w.name);
        await this.host.stop(w.name);
        this.log.info(`${role(w)} removed`, { pod: w.name });
      }),
    );
    return removed.map((w) => w.name);
  }
}

/** Waypoint and ingress gateway pods: each a process of the runner's. */
function waypointPods(s: Scenario): Workload[] {
  return s.workloads.filter(isProxyPod);
}

function role(pod: Workload): string {
  return pod.app.kind === GATEWAY_APP ? 'gateway' : 'waypoint';
}
