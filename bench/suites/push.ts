// The push suite: how long a configuration change takes to reach every proxy. istiod is handed
// a change (as the API server hands it an apply) that adds or removes an AuthorizationPolicy,
// which every ztunnel and the waypoint take; the time is from istiod's push to the last proxy's
// ACK, one change at a time.
import type { AuthorizationPolicyDoc } from '../../src/mesh/model';
import type { BenchMesh } from '../mesh';
import { percentile } from '../load';

export interface PushResult {
  readonly pushes: number;
  /** Proxies that answered each push (ztunnels and waypoints), and the mesh's processes. */
  readonly proxies: number;
  readonly processes: number;
  readonly p50Ms: number;
  readonly p90Ms: number;
  readonly maxMs: number;
  readonly nacks: number;
  readonly timedOut: number;
}

export interface PushSetup {
  readonly mesh: BenchMesh;
  readonly pushes: number;
  readonly progress: (line: string) => void;
}

/** A policy that denies nothing anyone sends: the change is real, the traffic unaffected. */
function policy(i: number): AuthorizationPolicyDoc {
  return {
    apiVersion: 'security.istio.io/v1',
    kind: 'AuthorizationPolicy',
    metadata: { name: `bench-push-${i}`, namespace: 'default' },
    spec: { action: 'DENY', rules: [{ to: [{ operation: { paths: [`/bench-push-${i}`] } }] }] },
    origin: 'bench/suites/push.ts',
  };
}

export async function runPush(setup: PushSetup): Promise<PushResult> {
  const { mesh } = setup;
  const times: number[] = [];
  let nacks = 0;
  let timedOut = 0;
  let proxies = 0;
  for (let i = 0; i < setup.pushes; i++) {
    // Every other push adds a policy, the next removes it again.
    const policies = i % 2 === 0 ? [...mesh.scenario.policies, policy(i)] : mesh.scenario.policies;
    const synced = await mesh.pushConfig({ ...mesh.scenario, policies });
    times.push(synced.ms);
    nacks += synced.nacked.length;
    if (synced.timedOut) timedOut++;
    proxies = synced.acked.length + synced.nacked.length;
  }
  const sorted = [...times].sort((a, b) => a - b);
  const result: PushResult = {
    pushes: times.length,
    proxies,
    processes: mesh.processCount,
    p50Ms: percentile(sorted, 50),
    p90Ms: percentile(sorted, 90),
    maxMs: sorted[sorted.length - 1] ?? NaN,
    nacks,
    timedOut,
  };
  setup.progress(`  push: ${result.pushes} changes to ${proxies} proxies, p50 ${result.p50Ms.toFixed(1)} max ${result.maxMs.toFixed(1)} ms`);
  return result;
}
