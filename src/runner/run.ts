// `hbone-sim scenario <name|file>`: build the mesh of a scenario as real processes, check its
// expectations hop by hop, and tear it all down (or hold it up with --hold). The processes: one
// ztunnel per node, one per waypoint, and one node agent per node with pods, hosting them
// (src/node/; --pod-processes: one process per pod instead). Once the mesh is up, a child that
// exits is restarted with the kubelet's back-off (restarter.ts); a node agent restarts its own
// pods the same way and reports their events here, told like the runner's own.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Scenario } from '../mesh/model';
import { hostAddress } from '../mesh/model';
import { PORT_ADMIN, PORT_ISTIOD_MONITORING, PORT_KUBELET_HEALTHZ, PORT_METRICS, PORT_SOCKS5 } from '../mesh/ports';
import { defaultCaDir, ROOT_CERT_FILE } from '../identity/ca-store';
import { newTokenKey } from '../identity/sa-token';
import { istiodIp, writeLiveConfig } from '../mesh/control-plane';
import { loadedDigest } from '../mesh/load';
import { ENV_PARSED_SCENARIO, writeParsedScenario } from '../mesh/parsed-scenario';
import { Supervisor } from './supervisor';
import { AccessRecords } from './access-records';
import { runExpectation, ExpectationResult } from './expectations';
import { Restarter, MAX_FAILED_STARTS } from './restarter';
import { BackOffTimings, KUBELET_BACKOFF, kubeDuration } from './backoff';
import type { RestartEvent } from './restart-events';
import { errorMessage } from '../error-message';
import { hostedPods, nodeAgentName } from '../node/agent';
import { isNodeAgentMessage } from '../node/agent-message';
import { makeClusterCredentials } from '../identity/cluster-ca';
import { logger } from '../telemetry/log';
import { IstiodChannel } from './istiod-channel';
import { ApiServer, API_HOST } from './api-server';
import { LiveConfig } from './live-config';
import { TraceFollower } from './trace-follower';
import { LineReaders } from './line-readers';
import { LogStore } from './log-store';
import { writeKubeconfig, removeKubeconfig } from './kubeconfig';

export const READY_TIMEOUT_MS = 10_000;
/**
 * Set to a directory to have every child (istiod, ztunnels, node agents, waypoints) write a
 * .cpuprofile there when it exits: how the pods bench profiles a mesh's start-up. Node refuses
 * --cpu-prof in NODE_OPTIONS, so the runner passes it to each child itself.
 */
export const ENV_CHILD_CPU_PROF = 'HBONE_CHILD_CPU_PROF';
const PARSED_SCENARIO_FILE = 'scenario.json';
import { childSpecs, emptyNodeAgentSpec, waypointSpec } from './child-specs';
import { HostedPods } from './hosted-pods';
import { WaypointDeployments } from './waypoint-deployments';
import { isProxyPod } from '../mesh/app-kinds';
export { childSpecs } from './child-specs';
export type { ChildSpecOptions } from './child-specs';
const CLI_ENTRY = path.resolve(__dirname, '..', 'cli', 'main.js');

export interface RunOptions {
  readonly hold?: boolean;
  readonly json?: boolean;
  readonly verbose?: boolean;
  readonly caDir?: string;
  readonly out?: (line: string) => void;
  /** CrashLoopBackOff timings for restarts; the kubelet's by default (--backoff-scale scales them). */
  readonly backOff?: BackOffTimings;
  /** One process per pod instead of a node agent per node (--pod-processes). */
  readonly podProcesses?: boolean;
  /** Worker threads of every ztunnel and waypoint (their --workers); 1, one process each, by default. */
  readonly workers?: number;
  /**
   * Under --hold, once the API server is up: what else serves the held mesh (the live page).
   * Its lines are printed after the kubeconfig's; it is stopped first at teardown.
   */
  readonly onHold?: (mesh: HeldMesh) => Promise<HeldAddOn>;
}

/** What a held mesh offers an add-on: its live configuration, its records, its API server. */
export interface HeldMesh {
  readonly scenario: () => Scenario;
  readonly records: AccessRecords;
  readonly api: ApiServer;
  /** The proxies write their trace records until the returned function is called (line-readers.ts). */
  readonly readTraces: () => () => void;
}

export interface HeldAddOn {
  readonly lines: readonly string[];
  /** The same, for --json: fields of the `hold` line (e.g. livePage: its URL). */
  readonly fields: Readonly<Record<string, string>>;
  stop(): Promise<void>;
}

/** Runs the scenario; resolves with the process exit code. */
export async function runScenario(scenario: Scenario, options: RunOptions = {}): Promise<number> {
  const out = options.out ?? ((l: string) => process.stdout.write(l + '\n'));
  const started = performance.now();
  // istiod makes the root on first use: the runner never reads its key.
  const caDir = options.caDir ?? defaultCaDir();
  const records = new AccessRecords();
  const logs = new LogStore();
  // The runner plays the API server: it signs every service account token.
  const tokenKey = newTokenKey();
  const env: NodeJS.ProcessEnv = { ...process.env, HBONE_LOG: process.env.HBONE_LOG ?? (options.verbose ? 'info' : 'warn') };
  const supervisor = new Supervisor(
    CLI_ENTRY,
    env,
    (child, line) => {
      const isAccess = records.add(child, line);
      if (options.verbose || (!isAccess && !options.json)) out(`[${child}] ${line}`);
    },
    (child, line) => {
      logs.add(child, line);
      if (options.verbose) out(`[${child}] ${line}`);
    },
    cpuProfileArgs(process.env[ENV_CHILD_CPU_PROF]),
  );
  // The proxies write trace records and access-log lines only while someone reads them: the
  // expectations, a trace --follow, a live page; everything with --verbose, which prints them.
  const readers = new LineReaders(supervisor);
  if (options.verbose) readers.read({ trace: true, accessLog: true });
  const readTraces = () => readers.read({ trace: true });
  const doneExpecting = scenario.expect.length > 0 ? readTraces() : undefined;

  // Restart events: printed as they happen; with --json, they go into the results document, and
  // under --hold each later one is a JSON line of its own (without --hold, stdout stays one document).
  let documentPrinted = false;
  let hosted: HostedPods | undefined;
  let liveConfig: LiveConfig | undefined;
  const restarter = new Restarter(supervisor, {
    timings: options.backOff,
    readyTimeoutMs: READY_TIMEOUT_MS,
    onEvent: (e: RestartEvent) => {
      if (!options.json) out(e.message);
      else if (documentPrinted && options.hold) out(JSON.stringify({ restartEvent: e }));
      // A proxy back from a crash is told who reads its lines (its environment told it too).
      if (e.kind === 'Ready') readers.resend();
      // A node agent back from a crash hosts the scenario file's pods: give it the API server's.
      if (e.kind === 'Ready' && hosted && liveConfig) hosted.resync(e.child, scenario, liveConfig.scenario);
    },
  });

  // Under --hold: the API server, its configuration store and its line to istiod, and the
  // runner's private directory where the live configuration waits for an istiod that restarts.
  const istiodChannel = new IstiodChannel(supervisor);
  let api: ApiServer | undefined;
  let addOn: HeldAddOn | undefined;
  let traces: TraceFollower | undefined;
  const privateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'hbone-sim-runner-'));
  const liveConfigFile = path.join(privateDir, 'live-config.json');
  // Parsed here once for every child, rather than by each (parsed-scenario.ts).
  const digest = loadedDigest(scenario);
  if (digest) {
    const parsedFile = path.join(privateDir, PARSED_SCENARIO_FILE);
    writeParsedScenario(parsedFile, scenario, digest);
    env[ENV_PARSED_SCENARIO] = parsedFile;
  }

  let finish!: (code: number) => void;
  const finished = new Promise<number>((r) => (finish = r));
  let tearingDown = false;
  const teardown = async (code: number, why?: string): Promise<void> => {
    if (tearingDown) return;
    tearingDown = true;
    if (why) out(why);
    // Back-off timers and readiness waits first: nothing may start while the children stop.
    restarter.stop();
    istiodChannel.close();
    traces?.close();
    await addOn?.stop();
    if (api) {
      await api.stop();
      removeKubeconfig(scenario.name);
    }
    await supervisor.stopAll();
    fs.rmSync(privateDir, { recursive: true, force: true });
    const summary = restarter.summary();
    // A mesh that lost a child for good did not hold, however the run ended.
    const exitCode = summary.gaveUp.length > 0 ? 1 : code;
    if (options.json) {
      if (documentPrinted && options.hold && restarter.log.total > 0) out(JSON.stringify({ restartSummary: { ...summary, exitCode } }));
    } else if (restarter.log.total > 0) {
      out(summaryLine(summary));
      if (summary.gaveUp.length > 0) out(`exit code 1: the runner gave up on ${summary.gaveUp.join(', ')}`);
    }
    finish(exitCode);
  };
  // A node agent's pod events: told like the runner's own once the mesh is up; before, a pod
  // that exited means the mesh could not come up, as when a pod process exits.
  supervisor.onMessage((child, message) => {
    if (!isNodeAgentMessage(message)) return;
    const e: RestartEvent = { ...message.restartEvent, at: performance.now() };
    if (restarter.isArmed) return restarter.relay(e);
    if (e.kind !== 'Terminated') return;
    const tail = message.tail.length > 0 ? `\n  ${message.tail.join('\n  ')}` : '';
    void teardown(1, `${e.child} (hosted by ${child.spec.name}) exited (code ${e.exitCode}) before the mesh was ready; tearing the mesh down.${tail}`);
  });
  supervisor.onCrash((child, code, signal) => {
    // Once the mesh was up, an exit is the restarter's; before, the mesh could not come up.
    if (restarter.isArmed) return restarter.exited(child, code, signal);
    const tail = child.tail.slice(-8);
    void teardown(
      1,
      `${child.spec.name} exited (${signal ?? `code ${code}`}) before the mesh was ready; tearing the mesh down.${tail.length > 0 ? `\n  ${tail.join('\n  ')}` : ''}`,
    );
  });
  // A shell reports a job ended by signal N as 128 + N: 130 for SIGINT, 143 for SIGTERM.
  const onSignal = (sig: string, code: number) => () => void teardown(code, `\n${sig}: tearing the mesh down.`);
  const sigint = onSignal('SIGINT', 130);
  const sigterm = onSignal('SIGTERM', 143);
  process.on('SIGINT', sigint);
  process.on('SIGTERM', sigterm);

  try {
    if (!options.json)
      out(
        `scenario ${scenario.name} (${path.relative(process.cwd(), scenario.file) || scenario.file}): ${scenario.nodes.length} nodes, ${scenario.workloads.length} pods, ${scenario.services.length} services`,
      );
    const specs = childSpecs(scenario, caDir, {
      podProcesses: options.podProcesses,
      backOff: options.backOff,
      liveConfigFile,
      tokenKey,
      workers: options.workers,
    });
    for (const spec of specs) supervisor.start(spec);
    await supervisor.waitReady(READY_TIMEOUT_MS);
    restarter.arm();
    if (!options.json) out(`mesh ready in ${(performance.now() - started).toFixed(0)} ms: ${supervisor.children.length} processes\n`);

    const results: ExpectationResult[] = [];
    for (const e of scenario.expect) {
      if (tearingDown) break;
      const r = await runExpectation(scenario, records, e, restarter);
      results.push(r);
      if (!options.json) printResult(out, r);
    }
    doneExpecting?.();
    const failed = results.filter((r) => !r.ok).length;
    if (options.json) {
      out(JSON.stringify({ scenario: scenario.name, results, restarts: { events: restarter.log.all(), ...restarter.summary() } }, null, 2));
      documentPrinted = true;
    } else if (results.length > 0 || !options.hold) out(`${results.length - failed} of ${results.length} expectations held`);

    if (options.hold && !tearingDown) {
      const podStatus = (pod: string) => ({ status: restarter.status(pod) ?? 'Running', restarts: restarter.summary().restarts[pod] ?? 0 });
      const live = new LiveConfig(scenario, (next) => writeLiveConfig(liveConfigFile, next));
      liveConfig = live;
      traces = new TraceFollower(records, () => live.scenario, readTraces);
      api = new ApiServer({
        credentials: await makeClusterCredentials(API_HOST),
        config: live,
        istiod: istiodChannel,
        podStatus,
        traces,
        logs,
        children: () => supervisor.children.map((c) => c.spec.name),
        tokenKey,
        // The root's certificate only: istiod made it and alone reads the key.
        rootPem: () => fs.readFileSync(path.join(caDir, ROOT_CERT_FILE), 'utf8'),
        waypoints: new WaypointDeployments(
          {
            start: (spec) => supervisor.start(spec),
            stop: (name) => supervisor.stop(name),
            watch: (handle) => restarter.watch(handle),
            forget: (name) => restarter.forget(name),
          },
          (s, pod) => waypointSpec(s, pod, caDir, { tokenKey, liveConfigFile, workers: options.workers }),
          READY_TIMEOUT_MS,
          logger('kube-controller-manager', out),
        ),
        pods: (hosted = new HostedPods(
          {
            start: (spec) => supervisor.start(spec),
            stop: (name) => supervisor.stop(name),
            watch: (handle) => restarter.watch(handle),
            forget: (name) => restarter.forget(name),
            child: (name) => supervisor.child(name),
          },
          (s, node) => emptyNodeAgentSpec(s, node, options.backOff),
          READY_TIMEOUT_MS,
          logger('kubelet', out),
        )),
        log: logger('kube-apiserver', out),
      });
      const creds = api.credentials;
      const kubeconfig = writeKubeconfig(scenario.name, await api.start(), creds);
      if (!options.json) out(`${results.length > 0 ? '\n' : ''}kubeconfig: ${kubeconfig} (the API server; hbone-sim apply, get, x status use it)`);
      if (options.onHold) {
        addOn = await options.onHold({ scenario: () => live.scenario, records, api, readTraces });
        if (!options.json) for (const l of addOn.lines) out(l);
      }
      // With --json, stdout stays JSON lines: where the held mesh is served, then its events.
      if (options.json) out(JSON.stringify({ hold: { kubeconfig, ...addOn?.fields } }));
      else printHold(out, scenario, options.backOff ?? KUBELET_BACKOFF, options.podProcesses === true);
      return await finished;
    }
    await teardown(failed === 0 ? 0 : 1);
    return await finished;
  } catch (err) {
    await teardown(1, `error: ${errorMessage(err)}`);
    return await finished;
  } finally {
    process.off('SIGINT', sigint);
    process.off('SIGTERM', sigterm);
  }
}

function cpuProfileArgs(dir: string | undefined): string[] {
  return dir ? ['--cpu-prof', `--cpu-prof-dir=${path.resolve(dir)}`] : [];
}

function summaryLine(s: { restarts: Record<string, number>; gaveUp: string[] }): string {
  const counts = Object.entries(s.restarts).map(([name, n]) => `${name} ${n}`);
  const parts = [`RESTARTS: ${counts.length > 0 ? counts.join(', ') : 'none'}`];
  if (s.gaveUp.length > 0) parts.push(`gave up on ${s.gaveUp.join(', ')} (failed to start ${MAX_FAILED_STARTS} times in a row)`);
  return parts.join('; ');
}

function printResult(out: (l: string) => void, r: ExpectationResult): void {
  const e = r.expectation;
  const want = e.outcome === 'denied' ? 'denied' : e.outcome === 'connected' ? 'connected' : String(e.outcome);
  out(`${r.ok ? '✔' : '✘'} ${e.from} → ${e.to}: ${r.got}${r.ok ? '' : ` (expected ${want})`} in ${r.timeMs.toFixed(1)} ms`);
  for (const h of r.hops) out(`    ${h}`);
  if (r.error && (!r.ok || r.got === 'denied')) out(`    client saw: ${r.error}`);
  out('');
}

function printHold(out: (l: string) => void, s: Scenario, b: BackOffTimings, podProcesses: boolean): void {
  out('\nThe mesh stays up until Ctrl-C.');
  out(
    `A process${podProcesses ? '' : ' or a pod'} that exits is restarted as the kubelet restarts a container: the first time at once, then after a CrashLoopBackOff of ${kubeDuration(b.initialMs)} doubling up to ${kubeDuration(b.maxMs)} (reset once it ran ${kubeDuration(b.resetAfterMs)}); one that fails to start ${MAX_FAILED_STARTS} times in a row is given up on.\n`,
  );
  if (!podProcesses && s.workloads.length > 0) {
    out('Node agents (one process per node, hosting its pods as the kubelet does; --pod-processes gives each pod its own):');
    for (const n of s.nodes) {
      const pods = hostedPods(s, n.name).length;
      if (pods > 0) out(`  ${nodeAgentName(n.name)}: ${pods} pod${pods === 1 ? '' : 's'}, healthz http://${hostAddress(n.ip)}:${PORT_KUBELET_HEALTHZ}/healthz`);
    }
    out('');
  }
  if (s.captures.length > 0) {
    out('Port captures (plain TCP in, HBONE out):');
    for (const c of s.captures) out(`  ${c.listen.address}:${c.listen.port}  ${c.source} → ${c.target}`);
    out('');
  }
  const pods = s.workloads.filter((x) => !isProxyPod(x));
  if (pods.length > 0) out('SOCKS5 per pod (the pod identity is the one whose address you use):');
  for (const w of pods) out(`  ${hostAddress(w.ip)}:${PORT_SOCKS5}  ${w.namespace}/${w.name}  (cluster ${w.ip})`);
  const cp = hostAddress(istiodIp(s));
  out(`\nistiod (the control plane): http://${cp}:${PORT_ISTIOD_MONITORING}/debug/syncz   http://${cp}:${PORT_ISTIOD_MONITORING}/debug/config_dump`);
  out('\nztunnel admin and metrics:');
  for (const n of s.nodes) {
    const h = hostAddress(n.ip);
    out(`  ${n.name}: http://${h}:${PORT_ADMIN}/config_dump   http://${h}:${PORT_METRICS}/metrics`);
  }
  const waypoints = s.workloads.filter((w) => w.app.kind === 'waypoint');
  if (waypoints.length > 0) {
    out('\nwaypoint admin (Envoy-shaped config dump, to lay beside the seed) and metrics:');
    for (const w of waypoints) out(`  ${w.name}: http://${hostAddress(w.ip)}:${PORT_ADMIN}/config_dump   http://${hostAddress(w.ip)}:${PORT_METRICS}/metrics`);
  }
  const client = s.workloads.find((w) => w.app.kind === 'sleep');
  const svc = s.services[0];
  if (client && svc) {
    const url = `http://${svc.name}:${svc.ports[0].port}/${svc.name === 'productpage' ? 'productpage' : ''}`;
    out('\nTry:');
    out(`  npx hbone-sim exec deploy/${client.workloadName} -- curl -s ${url}`);
    out(`  curl --socks5-hostname ${hostAddress(client.ip)}:${PORT_SOCKS5} ${url}`);
  }
  if (s.workloads.length === 0) {
    out('\nNo pods yet. Try:');
    out('  npx hbone-sim get nodes        npx hbone-sim x status');
    out('  npx hbone-sim apply -f policy.yaml --wait');
  }
  const cap = s.captures[0];
  if (cap) out(`  npx autocannon -c 16 -d 10 http://${cap.listen.address}:${cap.listen.port}/${cap.target.startsWith('productpage') ? 'productpage' : ''}`);
  out('');
}
