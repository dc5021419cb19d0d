// kill -9 of a mesh process under `hbone-sim scenario --hold` (block 10.74.x.y): the runner
// restarts it as the kubelet restarts a container and says so in Kubernetes words, the client
// whose transfer went through it sees a reset (never a clean, short response), new requests
// work again once it is ready, and at the end nothing is left. Back-off scaled by 0.01 (the
// first restart does not wait at any scale; a quick second exit waits 100 ms instead of 10 s).
// The mesh runs with --pod-processes: one process per pod, so productpage's app can be killed on
// its own (test/node/ kills pods inside a node agent, and the node agent itself).
import t, { Test } from 'tap';
import { leftovers, listenersOf, pidOf, processesMentioning, runCli, CliRun, TempScenario, tempScenario, killGroup } from './fixtures/cli';
import { ChaosChild, chaosAddresses, chaosChildren, chaosScenario, describeOutcome, failuresIn, killMidTransfer, traffic, untilOk } from './fixtures/chaos';

const N = 74;
const A = chaosAddresses(N);
const UP_MS = 15_000;
const EXIT_MS = 15_000;
const HOLDING = /The mesh stays up until Ctrl-C/;
const RECOVERY_MS = 10_000;
const READY_AGAIN_MS = 10_000;

function esc(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

async function holdMesh(t: Test): Promise<{ tmp: TempScenario; run: CliRun; processes: number }> {
  const tmp = tempScenario(chaosScenario(N), 'restart');
  const run = runCli(['scenario', tmp.file, '--hold', '--pod-processes', '--ca-dir', tmp.caDir, '--backoff-scale', '0.01']);
  t.teardown(async () => {
    killGroup(run.pid);
    await tmp.cleanup();
  });
  await run.waitForOutput(HOLDING, UP_MS);
  const processes = 2 + tmp.scenario.nodes.length + tmp.scenario.workloads.length;
  t.equal(processesMentioning(tmp.dir).length, processes, '--pod-processes: the runner, istiod, one ztunnel per node and one process per pod');
  return { tmp, run, processes };
}

/** Kills `v` with SIGKILL while traffic and a large transfer per path run through it. */
async function killDuringTraffic(t: Test, tmp: TempScenario, run: CliRun, processes: number, v: ChaosChild, restartsBefore: number): Promise<void> {
  const pid = pidOf(...v.cmd);
  if (!t.ok(pid, `found ${v.child} in /proc`)) return;
  const load = traffic(A.capture.host, A.capture.l7);
  try {
    const mark = run.output().length;
    const restarts = restartsBefore + 1;
    const { killedAt, cut } = await killMidTransfer(pid!, A.capture.host, v.paths);
    // From the kill on: when the runner saw it ready again, and when each path answered again.
    let readyAt: number | undefined;
    const ready = run
      .waitForOutput(new RegExp(`${esc(v.child)}: Ready again .* after it exited, RESTARTS ${restarts}`), READY_AGAIN_MS)
      .then(() => (readyAt = Date.now()));
    const recovered = Promise.all(v.paths.map((p) => untilOk(A.capture.host, p.port, RECOVERY_MS)));
    for (const { path, outcome } of await cut) {
      t.equal(
        outcome.kind,
        'reset',
        `${path.name}: the client's transfer through ${v.child} was reset (${describeOutcome(outcome)}), not ended cleanly or left hanging`,
      );
    }
    await ready;
    const back = await recovered;
    v.paths.forEach((p, i) => {
      const { ms, failures } = back[i];
      if (t.ok(ms !== undefined, `${p.name}: new requests succeed again after the restart (failed before: ${failures.join(', ') || 'none'})`)) {
        t.comment(`${v.child}: ${p.name} answers 200 again ${ms} ms after the kill (the runner saw it ready after ${readyAt! - killedAt} ms)`);
      }
    });
    for (const p of v.paths) {
      t.same(
        await failuresIn(A.capture.host, p.port, 20),
        [],
        `${p.name}: then 20 requests in a row succeed (no pool hands out a session to the dead process)`,
      );
    }
    const seen = await load.stop();
    t.ok(seen.ok > 0, `traffic kept going: ${seen.ok} requests answered 200, ${seen.failed} failed while ${v.child} was down`);

    const said = run.output().slice(mark);
    t.match(
      said,
      `${v.child}: container ${v.container} Terminated (Reason: Error, Exit Code: 137 (SIGKILL))`,
      'the runner names the exit as kubectl describe does',
    );
    t.match(said, 'connections through it were reset');
    t.match(
      said,
      new RegExp(`${esc(v.child)}: Started container ${esc(v.container)} again .*RESTARTS ${restarts}`),
      'and the restart, with the RESTARTS count',
    );
    t.notMatch(said, /tearing the mesh down/, 'the mesh was not torn down');
    const now = processesMentioning(tmp.dir);
    t.equal(now.length, processes, 'the same number of processes: one new process in place of the killed one, no orphan');
    t.notOk(
      now.some((p) => p.pid === pid),
      'the killed pid is gone',
    );
  } finally {
    await load.stop();
  }
}

t.test('kill -9 of ztunnel B, the waypoint and productpage during traffic: restarted, reset seen, traffic back, nothing left', async (t) => {
  const { tmp, run, processes } = await holdMesh(t);
  for (const v of chaosChildren(N, tmp.file).slice(0, 3)) await t.test(`kill -9 ${v.child}`, (t) => killDuringTraffic(t, tmp, run, processes, v, 0));

  await t.test('a quick second exit waits its CrashLoopBackOff, then comes back', async (t) => {
    const b = chaosChildren(N, tmp.file)[0];
    process.kill(pidOf(...b.cmd)!, 'SIGKILL');
    await run.waitForOutput(new RegExp(`${esc(b.child)}: Ready again .* RESTARTS 2`), READY_AGAIN_MS);
    // At once, so well within the back-off's reset window (6 s at this scale).
    const mark = run.output().length;
    process.kill(pidOf(...b.cmd)!, 'SIGKILL');
    await run.waitForOutput(new RegExp(`${esc(b.child)}: Ready again .* RESTARTS 3`), READY_AGAIN_MS);
    const said = run.output().slice(mark);
    // 100 ms if the restart before came after the reset window, else doubled to 200 ms.
    t.match(
      said,
      new RegExp(`${esc(b.child)}: CrashLoopBackOff: Back-off (100|200)ms restarting failed container istio-proxy in pod ${esc(b.child)}, RESTARTS 2`),
      'the back-off, in the kubelet event words',
    );
    t.match(said, new RegExp(`${esc(b.child)}: Started container istio-proxy again after a back-off of (100|200)ms, RESTARTS 3`));
    t.ok((await untilOk(A.capture.host, A.capture.l7, RECOVERY_MS)).ms !== undefined, 'requests succeed again');
  });

  const exitPromise = run.waitExit(EXIT_MS);
  process.kill(-run.pid, 'SIGINT');
  const exit = await exitPromise;
  t.same(exit, { code: 130, signal: null }, 'Ctrl-C still ends the run with 130: no child was given up on');
  t.match(run.output(), new RegExp(`RESTARTS: .*ztunnel-node-b 3`), 'the final summary gives each restarted child its RESTARTS');
  const left = await leftovers(tmp.dir, listenersOf(tmp.scenario));
  t.same(left.processes, [], 'no process names the scenario, restarted ones included');
  t.same(left.listeners, [], 'no listener of the scenario is left');
});
