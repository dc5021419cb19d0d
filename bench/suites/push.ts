// The push suite: how long an apply takes to reach every proxy, on a mesh of 12 processes held
// the way a user holds one (`hbone-sim up`): istiod, 4 ztunnels, 3 waypoints and 4 node agents.
// Each change goes through the API server as `hbone-sim apply --wait` sends it (checked, stored,
// handed to istiod, answered once every proxy ACKed), one at a time, adding or removing an
// AuthorizationPolicy that every ztunnel and waypoint takes. Two times per change: the apply's
// round trip (what the user waits for), and istiod's push to the last ACK (what it reports).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { callApi } from '../../src/cli/api-client';
import { ENV_HOME, readKubeconfig } from '../../src/runner/kubeconfig';
import type { ChangeAnswer } from '../../src/runner/api-server';
import { percentile } from '../load';
import { startHeldRunner, stopHeldRunner } from '../held-runner';

const NODES = 4;
const WAYPOINTS = 3;
const MESH_NAME = 'bench-push';

export interface PushResult {
  readonly pushes: number;
  /** Proxies that answered each push (ztunnels and waypoints), and the mesh's processes. */
  readonly proxies: number;
  readonly processes: number;
  /** istiod's push to the last proxy's ACK. */
  readonly p50Ms: number;
  readonly p90Ms: number;
  readonly maxMs: number;
  /** The apply's round trip through the API server, answered once every proxy ACKed (--wait). */
  readonly applyP50Ms: number;
  readonly applyP90Ms: number;
  readonly applyMaxMs: number;
  readonly nacks: number;
  readonly timedOut: number;
}

export interface PushSetup {
  /** Address block: the mesh's 10.<n>, served at 127.<n>. */
  readonly block: number;
  readonly pushes: number;
  readonly progress: (line: string) => void;
}

/** 4 nodes with an http-echo pod each (so 4 node agents), 3 waypoints each bound to one Service. */
export function pushScenario(n: number): string {
  const lines = [`# hbone-sim bench push mesh (bench/suites/push.ts), block 10.${n}`, `name: ${MESH_NAME}`, 'nodes:'];
  for (let i = 0; i < NODES; i++) lines.push(`  - { name: node-${i}, ip: 10.${n}.0.${i + 1} }`);
  lines.push('workloads:');
  for (let i = 0; i < NODES; i++) {
    lines.push(
      `  - { name: echo-${i}, namespace: bench, serviceAccount: echo, node: node-${i}, ip: 10.${n}.${i + 1}.1, labels: { app: echo-${i} }, run: { app: http-echo, port: 8080 } }`,
    );
  }
  for (let i = 0; i < WAYPOINTS; i++) {
    lines.push(
      `  - { name: waypoint-${i}, namespace: bench, serviceAccount: waypoint-${i}, node: node-${i}, ip: 10.${n}.${i + 1}.9, labels: { gateway.networking.k8s.io/gateway-name: waypoint-${i} }, run: { app: waypoint } }`,
    );
  }
  lines.push('services:');
  for (let i = 0; i < NODES; i++) {
    const bound = i < WAYPOINTS ? `, labels: { istio.io/use-waypoint: waypoint-${i} }` : '';
    lines.push(
      `  - { name: echo-${i}, namespace: bench, vip: 10.${n}.8.${i + 1}${bound}, selector: { app: echo-${i} }, ports: [ { name: http, port: 8080 } ] }`,
    );
  }
  lines.push('gateways:');
  for (let i = 0; i < WAYPOINTS; i++) {
    lines.push(
      `  - { apiVersion: gateway.networking.k8s.io/v1, kind: Gateway, metadata: { name: waypoint-${i}, namespace: bench }, spec: { gatewayClassName: istio-waypoint } }`,
    );
  }
  return lines.join('\n') + '\n';
}

/** A policy that denies nothing anyone sends: the change is real, the traffic unaffected. */
function policy(i: number): string {
  return `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: bench-push-${i}, namespace: bench }
spec:
  action: DENY
  rules: [ { to: [ { operation: { paths: ["/bench-push-${i}"] } } ] } ]
`;
}

export async function runPush(setup: PushSetup): Promise<PushResult> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hbone-bench-push-'));
  const file = path.join(dir, `${MESH_NAME}.yaml`);
  fs.writeFileSync(file, pushScenario(setup.block));
  const home = path.join(dir, 'home');
  const runner = await startHeldRunner(['up', file, '--ca-dir', path.join(dir, 'ca')], { [ENV_HOME]: home });
  const savedHome = process.env[ENV_HOME];
  try {
    process.env[ENV_HOME] = home;
    const access = readKubeconfig(MESH_NAME);
    const processes = Number(/mesh ready in \d+ ms: (\d+) processes/.exec(runner.output)?.[1] ?? NaN);
    const pushMs: number[] = [];
    const applyMs: number[] = [];
    let nacks = 0;
    let timedOut = 0;
    let proxies = 0;
    for (let i = 0; i < setup.pushes; i++) {
      // Every other change adds a policy, the next deletes it again.
      const verb = i % 2 === 0 ? '/apply' : '/delete';
      const text = policy(i - (i % 2));
      const started = performance.now();
      const answer = await callApi<ChangeAnswer>(access, 'POST', verb, { files: [{ file: 'bench-push.yaml', text }], wait: true });
      applyMs.push(performance.now() - started);
      const synced = answer.synced;
      if (!synced) throw new Error(`the API server answered ${verb} without waiting for the proxies: ${answer.lines.join('; ')}`);
      pushMs.push(synced.ms);
      nacks += synced.nacked.length;
      if (synced.timedOut) timedOut++;
      proxies = synced.acked + synced.nacked.length;
    }
    const sorted = (xs: number[]) => [...xs].sort((a, b) => a - b);
    const push = sorted(pushMs);
    const apply = sorted(applyMs);
    const result: PushResult = {
      pushes: push.length,
      proxies,
      processes,
      p50Ms: percentile(push, 50),
      p90Ms: percentile(push, 90),
      maxMs: push[push.length - 1] ?? NaN,
      applyP50Ms: percentile(apply, 50),
      applyP90Ms: percentile(apply, 90),
      applyMaxMs: apply[apply.length - 1] ?? NaN,
      nacks,
      timedOut,
    };
    setup.progress(
      `  push: ${result.pushes} applies to ${proxies} proxies (${processes} processes): apply to all ACKed p50 ${result.applyP50Ms.toFixed(1)} max ${result.applyMaxMs.toFixed(1)} ms; push to last ACK p50 ${result.p50Ms.toFixed(1)} max ${result.maxMs.toFixed(1)} ms`,
    );
    return result;
  } finally {
    if (savedHome === undefined) delete process.env[ENV_HOME];
    else process.env[ENV_HOME] = savedHome;
    await stopHeldRunner(runner.child);
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
