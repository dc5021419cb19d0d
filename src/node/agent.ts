// The node agent: one process per node that hosts the node's pods, in the kubelet's role (a
// real node runs one kubelet and a container per pod, not a runtime per pod). It starts every
// pod the scenario puts on its node (but waypoints, which keep a process each, as Istio's are
// Deployments of their own), restarts a pod whose app crashed or failed to start with the
// kubelet's CrashLoopBackOff (the runner's Restarter, driving a PodHost), and reports each
// restart event to the runner over the IPC channel, so the runner tells it in kubectl's words as
// it tells its own. The agent's own health is the kubelet's: GET /healthz on nodeIP:10248.
import type { Scenario, Workload } from '../mesh/model';
import { hostAddress } from '../mesh/model';
import { PORT_KUBELET_HEALTHZ } from '../mesh/ports';
import { AdminServer, AdminHandler, readinessRoutes, startHttp } from '../admin/http';
import { Restarter } from '../runner/restarter';
import type { BackOffTimings } from '../runner/backoff';
import type { RestartEvent } from '../runner/restart-events';
import type { Logger } from '../telemetry/log';
import { PodHandle, PodHost, StartPod } from './pod-host';
import { isProxyPod } from '../mesh/app-kinds';

/** Error lines of a pod sent with each of its events (the runner shows them when the mesh cannot come up). */
const TAIL_REPORTED = 8;

export interface NodeAgentOptions {
  readonly scenario: Scenario;
  readonly node: string;
  /** Host only these pods of the node (a test stands in for the others); all of them by default. */
  readonly pods?: readonly string[];
  /** CrashLoopBackOff timings; the kubelet's by default. */
  readonly timings?: BackOffTimings;
  /** How long a restarted pod has to be ready before it counts as a failed start. */
  readonly readyTimeoutMs: number;
  /** Where each restart event goes (the runner, over IPC), with the pod's last error lines. */
  readonly report: (e: RestartEvent, tail: readonly string[]) => void;
  readonly log: Logger;
  readonly startPod?: StartPod;
}

/** The runner's name for a node's agent process. */
export function nodeAgentName(node: string): string {
  return `kubelet-${node}`;
}

/** The pods a node agent hosts: the node's workloads but proxies (waypoints, ingress gateways). */
export function hostedPods(scenario: Scenario, node: string): Workload[] {
  return scenario.workloads.filter((w) => w.node === node && !isProxyPod(w));
}

export class NodeAgent {
  readonly host: PodHost;
  readonly restarter: Restarter<PodHandle>;
  private healthz?: AdminServer;
  private started = false;

  constructor(private readonly options: NodeAgentOptions) {
    const n = options.scenario.nodes.find((x) => x.name === options.node);
    if (!n) throw new Error(`node ${options.node} is not in scenario ${options.scenario.name}`);
    this.host = new PodHost(options.log, options.startPod);
    this.restarter = new Restarter(this.host, {
      timings: options.timings,
      readyTimeoutMs: options.readyTimeoutMs,
      onEvent: (e) => options.report(e, this.host.child(e.child)?.tail.slice(-TAIL_REPORTED) ?? []),
    });
    this.host.onExit((h, code, signal) => this.restarter.exited(h, code, signal));
  }

  get pods(): Workload[] {
    const all = hostedPods(this.options.scenario, this.options.node);
    const only = this.options.pods;
    if (!only) return all;
    const unknown = only.filter((name) => !all.some((w) => w.name === name));
    if (unknown.length > 0) throw new Error(`node ${this.options.node} hosts no pod ${unknown.join(', ')}`);
    return all.filter((w) => only.includes(w.name));
  }

  get address(): string {
    return hostAddress(this.options.scenario.nodes.find((x) => x.name === this.options.node)!.ip);
  }

  /**
   * Starts the healthz server and every pod, and arms the restarts once each pod's first start
   * settled: a pod that failed it is restarted with the back-off like any other (the runner
   * decides whether a pod lost before the mesh was ready fails the run).
   */
  async start(): Promise<void> {
    const routes: Record<string, AdminHandler> = {
      ...readinessRoutes(() => this.started),
      '/healthz': (_req, res) => void res.writeHead(200, { 'content-type': 'text/plain' }).end('ok'),
    };
    this.healthz = await startHttp(this.address, PORT_KUBELET_HEALTHZ, routes);
    const handles = this.pods.map((pod) => this.host.start(pod));
    await Promise.all(handles.map((h) => this.host.whenReady(h, this.options.readyTimeoutMs, () => false).catch(() => undefined)));
    this.restarter.arm((h) => !this.host.hasExited(h) && h.app !== undefined);
    // Pods that exited before arming: their exit is reported now, and they are restarted.
    for (const h of handles) if (h.exit) this.restarter.exited(h, h.exit.code, h.exit.signal);
    // A pod still starting after the timeout is killed, as the restarter kills a late restart.
    for (const h of handles) if (!h.exit && !h.app) this.host.forceStop(h);
    this.started = true;
    this.options.log.info('node agent ready', { node: this.options.node, pods: handles.length });
  }

  /** A pod applied to this node while the agent runs: started, and restarted like the others from now on. */
  add(pod: Workload): void {
    if (this.host.child(pod.name)) return;
    this.restarter.watch(this.host.start(pod));
    this.options.log.info('pod added', { pod: pod.name, ip: pod.ip, app: pod.app.kind });
  }

  /** A pod deleted: stopped and forgotten, its neighbours untouched. */
  async delete(name: string): Promise<void> {
    this.restarter.forget(name);
    await this.host.delete(name);
    this.options.log.info('pod deleted', { pod: name });
  }

  async stop(): Promise<void> {
    this.restarter.stop();
    await this.host.stopAll();
    await this.healthz?.close();
  }
}
