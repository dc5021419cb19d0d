// Runs a scenario's `expect:` checks from inside the mesh and explains each one hop by hop,
// from what the ztunnels logged about it.
import type { Expectation, Scenario, Workload } from '../mesh/model';
import { execInPod, ExecResult } from './exec';
import { AccessRecords, field } from './access-records';
import { RequestTrace, complete, hopsOf, originateDetail, targetOf, traceJson, traceOf } from './hop-trace';
import type { RestartLog } from './restart-events';
import type { ChildStatus } from './restarter';
import { traceNotes } from './restart-trace';
import { errorMessage } from '../error-message';
import { hostedPods, nodeAgentName } from '../node/agent';
import { isProxyPod } from '../mesh/app-kinds';

/** What the trace reads of the restarter: recent restart events and each child's status. */
export interface RestartView {
  readonly log: RestartLog;
  status(child: string): ChildStatus | undefined;
}

const LOG_WAIT_MS = 1500;

export interface ExpectationResult {
  readonly expectation: Expectation;
  readonly ok: boolean;
  readonly got: string;
  readonly timeMs: number;
  readonly hops: string[];
  readonly error?: string;
  /** The raw records of every hop, for --json. */
  readonly trace?: unknown;
}

export async function runExpectation(scenario: Scenario, records: AccessRecords, e: Expectation, restarts?: RestartView): Promise<ExpectationResult> {
  const pod = scenario.workloads.find((w) => w.name === e.from)!;
  const started = performance.now();
  const isUrl = /^https?:\/\//.test(e.to);
  let result: ExecResult;
  try {
    result = isUrl ? await execInPod(pod.ip, '/fetch', { url: e.to }) : await execInPod(pod.ip, '/tcp', { target: e.to, send: 'hello, mesh' });
  } catch (err) {
    return { expectation: e, ok: false, got: 'exec failed', timeMs: performance.now() - started, hops: [], error: errorMessage(err) };
  }
  const finished = performance.now();
  const denied = isUrl ? result.status === 0 && !!result.error : !!result.error;
  const got = denied ? 'denied' : isUrl ? String(result.status) : 'connected';
  const ok = e.outcome === 'denied' ? denied : e.outcome === 'connected' ? !result.error : result.status === e.outcome;
  // The source ztunnel's record names the trace; every later hop is found by that trace id.
  const target = targetOf(e.to);
  const found = await records.waitFor(started, (rs) => complete(scenario, rs, pod, target), LOG_WAIT_MS);
  const trace = traceOf(scenario, found, pod, target);
  const hops = hopsOf(scenario, pod, trace);
  let restartEvents: unknown[] | undefined;
  if (restarts) {
    const onPath = withNodeAgents(scenario, pathOf(scenario, pod, trace));
    const agents = scenario.nodes.filter((n) => hostedPods(scenario, n.name).length > 0).map((n) => nodeAgentName(n.name));
    const children = [...scenario.nodes.map((n) => `ztunnel-${n.name}`), ...agents, ...scenario.workloads.map((w) => w.name)];
    hops.push(...traceNotes(restarts.log.all(), { started, finished }, children, onPath, (c) => restarts.status(c)));
    const events = restarts.log.all().filter((r) => r.at >= started && r.at <= finished && onPath(r.child));
    if (events.length > 0) restartEvents = events;
  }
  return {
    expectation: e,
    ok,
    got,
    timeMs: result.timeMs ?? performance.now() - started,
    hops,
    error: result.error,
    trace: { ...traceJson(trace), restartEvents },
  };
}

/** A node agent is on the path when a pod it hosts is: its exit took that pod down. */
function withNodeAgents(scenario: Scenario, onPath: (child: string) => boolean): (child: string) => boolean {
  return (child) => onPath(child) || scenario.nodes.some((n) => nodeAgentName(n.name) === child && hostedPods(scenario, n.name).some((w) => onPath(w.name)));
}

/**
 * The processes a request went through, by the runner's child names: the source pod and its
 * ztunnel, the waypoint, and the destination's ztunnel and pod. When the source ztunnel left no
 * record (it may be the one that died), the path is unknown: every process counts.
 */
function pathOf(scenario: Scenario, pod: Workload, t: RequestTrace): (child: string) => boolean {
  if (!t.outbound) return () => true;
  const names = new Set<string>([pod.name, `ztunnel-${pod.node}`]);
  if (t.waypoint) {
    names.add(t.waypoint.reporter);
    const authority = originateDetail(t.waypoint, 'authority');
    const dst = scenario.workloads.find((w) => authority.startsWith(`${w.ip}:`));
    if (dst) names.add(dst.name).add(`ztunnel-${dst.node}`);
  } else {
    const dst = scenario.workloads.find((w) => w.name === field(t.outbound, 'dst.workload'));
    // A waypoint terminates HBONE itself: its node's ztunnel is not on the path. (Its own record
    // may be missing when the waypoint is what died.)
    if (dst) names.add(dst.name);
    if (dst && !isProxyPod(dst)) names.add(`ztunnel-${dst.node}`);
  }
  return (child) => names.has(child);
}
