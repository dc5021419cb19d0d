// The runner's lifecycle as a user meets it (block 10.71.x.y, served on 127.71.x.y):
// `hbone-sim scenario <file> --hold` is stopped with Ctrl-C, loses a child (restarted), is itself
// killed, or finds a port taken; every time the whole mesh goes away, processes and listeners alike.
import t, { Test } from 'tap';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { l4Scenario } from '../fixtures/scenario-mesh';
import { childSpecs } from '../../src/runner/run';
import { leftovers, listenersOf, pidOf, processesMentioning, runCli, CliRun, TempScenario, tempScenario, killGroup } from './fixtures/cli';

const N = 71;
const UP_MS = 15_000;
const EXIT_MS = 10_000;
const HOLDING = /The mesh stays up until Ctrl-C/;

/** A --hold run of l4Scenario(71) from a fresh temp dir; torn down with the test. */
async function holdMesh(t: Test, name: string): Promise<{ tmp: TempScenario; run: CliRun }> {
  const tmp = tempScenario(l4Scenario(N), name);
  const run = runCli(['scenario', tmp.file, '--hold', '--ca-dir', tmp.caDir]);
  t.teardown(async () => {
    killGroup(run.pid);
    await tmp.cleanup();
  });
  await run.waitForOutput(HOLDING, UP_MS);
  const kubeconfig = /kubeconfig: (\S+)/.exec(run.output())?.[1] ?? '';
  t.notOk(kubeconfig.startsWith(path.join(os.homedir(), '.hbone-sim')), `the kubeconfig is the test's, not the user's: ${kubeconfig}`);
  t.equal(
    processesMentioning(tmp.dir).length,
    1 + childSpecs(tmp.scenario, tmp.caDir).length,
    'the runner, one ztunnel per node and one node agent per node with pods',
  );
  return { tmp, run };
}

async function assertNothingLeft(t: Test, tmp: TempScenario, withinMs = 0): Promise<void> {
  const left = await leftovers(tmp.dir, listenersOf(tmp.scenario), withinMs);
  t.same(left.processes, [], `no process names ${tmp.file}`);
  t.same(left.listeners, [], `all ${listenersOf(tmp.scenario).length} listeners of the scenario refuse connections`);
}

t.test('Ctrl-C (SIGINT to the whole process group, as a terminal sends it) tears everything down', async (t) => {
  const { tmp, run } = await holdMesh(t, 'ctrl-c');
  const started = Date.now();
  process.kill(-run.pid, 'SIGINT');
  const exit = await run.waitExit(EXIT_MS);
  t.comment(`runner exited ${Date.now() - started} ms after Ctrl-C`);
  t.same(exit, { code: 130, signal: null }, 'exit code 130, as for a shell job stopped by SIGINT');
  t.match(run.output(), /SIGINT: tearing the mesh down/);
  t.notMatch(run.output(), /exited \((code|SIG)/, 'no child is reported as crashed');
  await assertNothingLeft(t, tmp);
});

t.test('SIGTERM to the runner alone (kill <pid>): it stops its children and exits 143', async (t) => {
  const { tmp, run } = await holdMesh(t, 'sigterm');
  process.kill(run.pid, 'SIGTERM');
  const exit = await run.waitExit(EXIT_MS);
  t.same(exit, { code: 143, signal: null }, '128 + 15, as a shell reports a job ended by SIGTERM');
  t.match(run.output(), /SIGTERM: tearing the mesh down/);
  t.notMatch(run.output(), /exited \((code|SIG)/, 'no child is reported as crashed');
  await assertNothingLeft(t, tmp);
});

t.test('Ctrl-C while the mesh is still starting leaves nothing behind either', async (t) => {
  const tmp = tempScenario(l4Scenario(N), 'ctrl-c-early');
  const run = runCli(['scenario', tmp.file, '--hold', '--ca-dir', tmp.caDir]);
  t.teardown(async () => {
    killGroup(run.pid);
    await tmp.cleanup();
  });
  // The header is printed just before the children are spawned.
  await run.waitForOutput(new RegExp(`^scenario l4-${N} `, 'm'), UP_MS);
  await new Promise((r) => setTimeout(r, 200));
  process.kill(-run.pid, 'SIGINT');
  const exit = await run.waitExit(EXIT_MS);
  t.same(exit, { code: 130, signal: null });
  t.notMatch(run.output(), HOLDING, 'the mesh was never reported up');
  await assertNothingLeft(t, tmp);
});

t.test('a ztunnel killed with SIGKILL once the mesh is up: restarted at once (kubelet timings), the runner stays up, Ctrl-C leaves nothing', async (t) => {
  const { tmp, run } = await holdMesh(t, 'killed-child');
  const victim = pidOf(tmp.file, 'ztunnel', '--node node-b');
  if (!t.ok(victim, 'found the ztunnel of node-b in /proc')) return;
  process.kill(victim!, 'SIGKILL');
  // The kubelet's first restart does not wait, whatever the back-off: no scaling needed here.
  await run.waitForOutput(/ztunnel-node-b: Ready again .* RESTARTS 1/, UP_MS);
  t.match(
    run.output(),
    'ztunnel-node-b: container istio-proxy Terminated (Reason: Error, Exit Code: 137 (SIGKILL))',
    'the output names the child that exited, and how',
  );
  t.match(run.output(), 'ztunnel-node-b: Started container istio-proxy again at once (a first restart does not wait), RESTARTS 1');
  t.notMatch(run.output(), /tearing the mesh down/);
  const restarted = pidOf(tmp.file, 'ztunnel', '--node node-b');
  t.ok(restarted && restarted !== victim, `a new ztunnel-node-b (pid ${restarted}) in place of ${victim}`);
  process.kill(-run.pid, 'SIGINT');
  const exit = await run.waitExit(EXIT_MS);
  t.same(exit, { code: 130, signal: null });
  t.match(run.output(), 'RESTARTS: ztunnel-node-b 1');
  await assertNothingLeft(t, tmp);
});

t.test('the runner itself SIGKILLed: children see their IPC channel close and exit on their own', async (t) => {
  const { tmp, run } = await holdMesh(t, 'killed-runner');
  const started = Date.now();
  process.kill(run.pid, 'SIGKILL');
  const exit = await run.waitExit(EXIT_MS);
  t.equal(exit.signal, 'SIGKILL');
  const left = await leftovers(tmp.dir, listenersOf(tmp.scenario), 5000);
  t.comment(`children gone ${Date.now() - started} ms after the runner died`);
  t.same(left.processes, [], 'no orphan names the scenario within 5 s');
  t.same(left.listeners, [], 'and no listener is left');
});

t.test('a port already in use: the runner names the address and what it is, fails, and leaves nothing', async (t) => {
  const tmp = tempScenario(l4Scenario(N), 'port-in-use');
  const squatter = net.createServer();
  await new Promise<void>((resolve, reject) => {
    squatter.once('error', reject);
    squatter.listen(15008, `127.${N}.2.1`, resolve);
  });
  t.teardown(async () => {
    await new Promise((r) => squatter.close(r));
    await tmp.cleanup();
  });
  const run = runCli(['scenario', tmp.file, '--hold', '--ca-dir', tmp.caDir]);
  t.teardown(() => killGroup(run.pid));
  const exit = await run.waitExit(UP_MS);
  t.equal(exit.code, 1, 'non-zero exit');
  t.match(run.output(), `127.${N}.2.1:15008, the HBONE inbound of echo (10.${N}.2.1:15008), is already in use`);
  t.match(run.output(), /ztunnel-node-b exited \(code 1\)/, 'and which process could not start');
  t.notMatch(run.output(), HOLDING, 'the mesh was never reported up');
  const ours = (l: { host: string; port: number }) => l.host === `127.${N}.2.1` && l.port === 15008;
  const left = await leftovers(
    tmp.dir,
    listenersOf(tmp.scenario).filter((l) => !ours(l)),
  );
  t.same(left.processes, [], 'no process names the scenario');
  t.same(left.listeners, [], 'no listener of the scenario is left (but the one the test holds)');
});

t.test('--json prints one JSON document with every result', async (t) => {
  const expect = `expect:
  - { from: sleep, to: "echo:8080", connects: true }
  - { from: notsleep, to: "echo:8080", denied: true }
  - { from: sleep, to: "http://details:9080/details/0", status: 200 }
  - { from: notsleep, to: "echo:8080", connects: true }
`;
  const tmp = tempScenario(l4Scenario(N, expect), 'json');
  const run = runCli(['scenario', tmp.file, '--json', '--ca-dir', tmp.caDir]);
  t.teardown(async () => {
    killGroup(run.pid);
    await tmp.cleanup();
  });
  const exit = await run.waitExit(30_000);
  t.equal(exit.code, 1, 'one expectation fails on purpose, so the exit code is 1');
  let doc: { scenario: string; results: Array<{ ok: boolean; got: string; expectation: { from: string; to: string } }> } | undefined;
  try {
    doc = JSON.parse(run.stdout());
  } catch (err) {
    t.fail(`stdout is not JSON: ${(err as Error).message}\n${run.stdout()}`);
    return;
  }
  t.equal(doc!.scenario, `l4-${N}`);
  t.same(
    doc!.results.map((r) => [r.expectation.from, r.expectation.to, r.ok, r.got]),
    [
      ['sleep', 'echo:8080', true, 'connected'],
      ['notsleep', 'echo:8080', true, 'denied'],
      ['sleep', 'http://details:9080/details/0', true, '200'],
      ['notsleep', 'echo:8080', false, 'denied'],
    ],
  );
  t.ok(
    doc!.results.every((r) => typeof r.ok === 'boolean'),
    'results[].ok is a boolean',
  );
  await assertNothingLeft(t, tmp);
});
