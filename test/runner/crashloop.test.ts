// A child that cannot come back (block 10.78.x.y): the runner retries it on the CrashLoopBackOff
// schedule, gives up after 5 failed starts in a row without touching the others, says so in its
// events and its exit code; Ctrl-C during a back-off wait starts nothing more. First with tiny
// stand-in processes driving the Restarter directly, then with the CLI and a real mesh.
import t, { Test } from 'tap';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as net from 'node:net';
import { Supervisor, exited } from '../../src/runner/supervisor';
import { Restarter, MAX_FAILED_STARTS } from '../../src/runner/restarter';
import type { RestartEvent } from '../../src/runner/restart-events';
import { scaledBackOff } from '../../src/runner/backoff';
import { leftovers, listenersOf, pidOf, processesMentioning, runCli, tempScenario, killGroup } from './fixtures/cli';
import { CHAOS_PODS, chaosAddresses, chaosScenario, get, untilOk } from './fixtures/chaos';
import * as http from 'node:http';
import { parseScenario } from '../../src/mesh/load';
import { AccessRecords } from '../../src/runner/access-records';
import { runExpectation } from '../../src/runner/expectations';
import { RestartLog, restartMessage, RestartEventKind } from '../../src/runner/restart-events';
import { PORT_EXEC } from '../../src/mesh/ports';

const N = 78;
const A = chaosAddresses(N);
const UP_MS = 15_000;
const EXIT_MS = 15_000;
const HOLDING = /The mesh stays up until Ctrl-C/;
/** Stand-in children's readiness endpoints, away from the scenario's addresses. */
const STANDIN_HOST = `127.${N}.250.1`;

/**
 * A stand-in child: reads its mode from a file at each start. "serve" answers readiness on the
 * given port; "crash" exits 1 at once (a start that fails); "hang" never gets ready.
 */
const STANDIN = `
const fs = require('fs'), http = require('http');
const [modeFile, port] = process.argv.slice(2);
const mode = fs.readFileSync(modeFile, 'utf8').trim();
if (mode === 'crash') { process.stderr.write('cannot start: ' + mode + '\\n'); process.exit(1); }
if (mode === 'serve') http.createServer((q, s) => s.end('ok')).listen(Number(port), '${STANDIN_HOST}');
process.on('disconnect', () => process.exit(0));
process.on('SIGTERM', () => process.exit(0));
setInterval(() => {}, 1 << 30);
`;

interface StandIns {
  readonly supervisor: Supervisor;
  readonly restarter: Restarter;
  readonly events: RestartEvent[];
  setMode(name: string, mode: 'serve' | 'crash' | 'hang'): void;
  waitFor(pred: (e: RestartEvent) => boolean, timeoutMs?: number): Promise<RestartEvent>;
}

async function standIns(t: Test, names: string[], readyTimeoutMs = 3000, scale = 0.01): Promise<StandIns> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hbone-crashloop-'));
  const entry = path.join(dir, 'standin.js');
  fs.writeFileSync(entry, STANDIN);
  const events: RestartEvent[] = [];
  const supervisor = new Supervisor(entry, { ...process.env, NODE_OPTIONS: '' }, () => undefined);
  const restarter = new Restarter(supervisor, { timings: scaledBackOff(scale), readyTimeoutMs, onEvent: (e) => events.push(e) });
  supervisor.onCrash((c, code, signal) => restarter.exited(c, code, signal));
  t.teardown(async () => {
    restarter.stop();
    await supervisor.stopAll(1000);
    fs.rmSync(dir, { recursive: true, force: true });
  });
  const setMode = (name: string, mode: string): void => fs.writeFileSync(path.join(dir, `${name}.mode`), mode);
  names.forEach((name, i) => {
    setMode(name, 'serve');
    supervisor.start({ name, args: [path.join(dir, `${name}.mode`), String(18_000 + i)], ready: `${STANDIN_HOST}:${18_000 + i}`, container: name });
  });
  await supervisor.waitReady(10_000);
  restarter.arm();
  const waitFor = async (pred: (e: RestartEvent) => boolean, timeoutMs = 15_000): Promise<RestartEvent> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = events.find(pred);
      if (found) return found;
      if (Date.now() > deadline) throw new Error(`no such event in ${timeoutMs} ms; events:\n${events.map((e) => e.message).join('\n')}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  return { supervisor, restarter, events, setMode, waitFor };
}

t.test("an expect: request's trace says a process on its path died during it, and only that one", async (t) => {
  // No mesh: a stand-in for sleep's exec port answers as a request reset by the dying waypoint
  // would, while the source ztunnel's access record and the restart events come in.
  const scenario = parseScenario(chaosScenario(N), 'trace.yaml');
  const records = new AccessRecords();
  const log = new RestartLog();
  const event = (kind: RestartEventKind, child: string) => {
    const base = {
      kind,
      child,
      container: 'istio-proxy',
      at: performance.now(),
      time: new Date().toISOString(),
      restarts: 0,
      exitCode: 137,
      signal: 'SIGKILL',
      reason: 'Error' as const,
      wasReady: true,
      ranMs: 1000,
    };
    log.add({ ...base, message: restartMessage(base) });
  };
  const exec = http.createServer((_req, res) => {
    event('Terminated', CHAOS_PODS.waypoint);
    event('Terminated', 'ztunnel-node-c'); // not on this request's path
    records.add(
      'ztunnel-node-a',
      JSON.stringify({
        scope: 'access',
        direction: 'outbound',
        'src.workload': CHAOS_PODS.sleep,
        'src.addr': `10.${N}.1.1:40000`,
        'dst.workload': CHAOS_PODS.waypoint,
        'dst.service': 'productpage.default.svc.cluster.local',
        'dst.hbone_addr': `10.${N}.8.1:9080`,
        'dst.addr': `10.${N}.3.1:15008`,
        trace_id: 'abc',
        error: 'connection reset',
      }),
    );
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ status: 0, timeMs: 3, error: 'socket hang up (ECONNRESET)' }));
  });
  await new Promise<void>((resolve) => exec.listen(PORT_EXEC, `127.${N}.1.1`, resolve));
  t.teardown(() => new Promise((r) => exec.close(r)));
  const status = (child: string) => (child === CHAOS_PODS.waypoint ? ('NotReady' as const) : ('Running' as const));
  const r = await runExpectation(scenario, records, { from: CHAOS_PODS.sleep, to: 'http://productpage:9080/', outcome: 200, origin: 'test' }, { log, status });
  const notes = r.hops.filter((h) => h.startsWith('⚠'));
  t.same(
    notes,
    [`⚠ ${CHAOS_PODS.waypoint} exited during this request (Reason: Error, Exit Code: 137 (SIGKILL)): connections through it were reset`],
    'the waypoint on the path, not ztunnel-node-c',
  );
  const trace = r.trace as { restartEvents?: Array<{ child: string }> };
  t.same(
    trace.restartEvents?.map((e) => e.child),
    [CHAOS_PODS.waypoint],
    '--json carries the restart events of the path in the trace',
  );
});

t.test('Restarter: five failed starts in a row and it gives up on that child alone', async (t) => {
  const s = await standIns(t, ['victim', 'bystander']);
  const bystander = s.supervisor.child('bystander')!.process.pid;
  s.setMode('victim', 'crash');
  s.supervisor.child('victim')!.process.kill('SIGKILL');
  const gaveUp = await s.waitFor((e) => e.kind === 'GaveUp');
  t.equal(gaveUp.failedStarts, MAX_FAILED_STARTS);
  t.equal(
    gaveUp.message,
    `victim: failed to start ${MAX_FAILED_STARTS} times in a row (last: cannot start: crash); giving up on it, RESTARTS ${MAX_FAILED_STARTS}. The rest of the mesh keeps running`,
  );
  t.same(
    s.events.filter((e) => e.kind === 'FailedStart').map((e) => e.failedStarts),
    [1, 2, 3, 4],
    'each failed start is counted',
  );
  t.same(
    s.events.filter((e) => e.kind === 'BackOff').map((e) => e.backOffMs),
    [100, 200, 400, 800],
    'CrashLoopBackOff between them: 100 ms doubling (the kubelet schedule at 0.01)',
  );
  t.equal(s.restarter.status('victim'), 'GaveUp');
  t.same(s.restarter.summary(), { restarts: { victim: MAX_FAILED_STARTS }, gaveUp: ['victim'] });
  await new Promise((r) => setTimeout(r, 1000));
  t.equal(s.events.filter((e) => e.kind === 'Started').length, MAX_FAILED_STARTS, 'and nothing is started after giving up');
  t.ok(exited(s.supervisor.child('victim')!), 'the victim stays down');
  t.equal(s.supervisor.child('bystander')!.process.pid, bystander, 'the other child is the same process');
  t.equal(s.supervisor.children.length, 2, 'one handle per child however often it was restarted (nothing grows per restart)');
  t.equal(s.restarter.status('bystander'), 'Running');
});

t.test('Restarter: a start that gets to ready resets the failed-start count', async (t) => {
  // At 0.001 of the kubelet's timings (10 ms doubling to 300 ms): the back-off barely shows.
  const s = await standIns(t, ['victim'], 3000, 0.001);
  s.setMode('victim', 'crash');
  s.supervisor.child('victim')!.process.kill('SIGKILL');
  await s.waitFor((e) => e.kind === 'FailedStart' && e.failedStarts === 3);
  s.setMode('victim', 'serve');
  const ready = await s.waitFor((e) => e.kind === 'Ready');
  t.equal(s.restarter.status('victim'), 'Running');
  t.ok(ready.readyAfterMs! > 0);
  // Four more failed starts would have been a give-up without the reset.
  const readyIndex = s.events.indexOf(ready);
  s.setMode('victim', 'crash');
  s.supervisor.child('victim')!.process.kill('SIGKILL');
  await s.waitFor((e) => e.kind === 'FailedStart' && e.failedStarts === 4 && s.events.indexOf(e) > readyIndex);
  s.setMode('victim', 'serve');
  await s.waitFor((e) => e.kind === 'Ready' && s.events.indexOf(e) > readyIndex);
  t.notOk(
    s.events.some((e) => e.kind === 'GaveUp'),
    'never given up on',
  );
});

t.test('Restarter: a restarted child not ready in time is killed and counts as a failed start', async (t) => {
  const s = await standIns(t, ['victim'], 500);
  s.setMode('victim', 'hang');
  s.supervisor.child('victim')!.process.kill('SIGKILL');
  const failed = await s.waitFor((e) => e.kind === 'FailedStart');
  t.match(failed.message, 'victim: failed to start (1 in a row): not ready within 500ms');
  const terminated = s.events.filter((e) => e.kind === 'Terminated');
  t.equal(terminated[1]?.signal, 'SIGKILL', 'the runner killed the one that did not get ready');
  t.equal(terminated[1]?.wasReady, false);
  s.setMode('victim', 'serve');
  await s.waitFor((e) => e.kind === 'Ready');
});

t.test('Restarter: stop() during a back-off wait starts nothing', async (t) => {
  const s = await standIns(t, ['victim']);
  s.setMode('victim', 'crash');
  s.supervisor.child('victim')!.process.kill('SIGKILL');
  await s.waitFor((e) => e.kind === 'BackOff'); // after the first failed start: 100 ms to wait
  const started = s.events.filter((e) => e.kind === 'Started').length;
  s.restarter.stop();
  await new Promise((r) => setTimeout(r, 600));
  t.equal(s.events.filter((e) => e.kind === 'Started').length, started, 'no start after stop(), though the back-off passed');
  t.ok(exited(s.supervisor.child('victim')!), 'and no process was spawned');
});

/** Listens on host:port as soon as the port is free (its owner was just killed). */
async function squat(host: string, port: number, withinMs = 2000): Promise<net.Server> {
  const deadline = Date.now() + withinMs;
  for (;;) {
    const server = net.createServer((s) => s.destroy());
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, resolve);
      });
      return server;
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 2));
    }
  }
}

t.test('the CLI: productpage cannot start again (the test holds its port); given up on, the rest serves, exit 1', async (t) => {
  const tmp = tempScenario(chaosScenario(N), 'give-up');
  // One process per pod (--pod-processes), so productpage's can be killed alone; test/node/
  // gives up on a pod inside a node agent.
  const run = runCli(['scenario', tmp.file, '--hold', '--json', '--pod-processes', '--ca-dir', tmp.caDir, '--backoff-scale', '0.01']);
  let held: net.Server | undefined;
  t.teardown(async () => {
    killGroup(run.pid);
    if (held) await new Promise((r) => held!.close(r));
    await tmp.cleanup();
  });
  await run.waitForOutput(/"results"/, UP_MS);
  // --json keeps stdout JSON lines under --hold: where the mesh is served comes as one.
  await run.waitForOutput(/^\{"hold"/m, UP_MS);
  const hold = run
    .stdout()
    .split('\n')
    .filter((l) => l.startsWith('{"hold"'))
    .map((l) => (JSON.parse(l) as { hold: { kubeconfig: string; livePage: string } }).hold);
  t.equal(hold.length, 1, 'one hold line');
  t.match(hold[0], { kubeconfig: /kubeconfig/, livePage: /^http:\/\/127\.0\.0\.1:\d+\/\?token=[0-9a-f]{48}$/ }, 'the kubeconfig and the live page');
  t.notMatch(run.stdout(), /The mesh stays up until Ctrl-C/, 'no prose among the JSON lines');
  await new Promise((r) => setTimeout(r, 200));
  const others = processesMentioning(tmp.dir).filter((p) => !p.cmdline.includes(`--pod ${CHAOS_PODS.productpage}`));
  const victim = pidOf(tmp.file, ' app ', `--pod ${CHAOS_PODS.productpage}`);
  if (!t.ok(victim, 'found productpage')) return;
  process.kill(victim!, 'SIGKILL');
  held = await squat(A.host.productpage, 9080);

  await run.waitForOutput(/"kind":"GaveUp"/, 20_000);
  const events = run
    .stdout()
    .split('\n')
    .filter((l) => l.startsWith('{"restartEvent"'))
    .map((l) => (JSON.parse(l) as { restartEvent: RestartEvent }).restartEvent);
  const mine = events.filter((e) => e.child === CHAOS_PODS.productpage);
  t.same(
    mine.map((e) => e.kind),
    [
      'Terminated',
      'Started',
      'Terminated',
      'FailedStart',
      'BackOff',
      'Started',
      'Terminated',
      'FailedStart',
      'BackOff',
      'Started',
      'Terminated',
      'FailedStart',
      'BackOff',
      'Started',
      'Terminated',
      'FailedStart',
      'BackOff',
      'Started',
      'Terminated',
      'GaveUp',
    ],
    '--json carries every restart event: the kill, then five starts that fail, then the give-up',
  );
  const gaveUp = mine[mine.length - 1];
  t.match(
    gaveUp.message,
    /failed to start 5 times in a row \(last: .*127\.78\.2\.1:9080.*\); giving up on it, RESTARTS 5\. The rest of the mesh keeps running/,
  );
  t.equal(mine[0].exitCode, 137);

  t.equal(run.child.exitCode, null, 'the runner is still up');
  t.same(
    others.filter((p) => !processesMentioning(tmp.dir).some((q) => q.pid === p.pid)),
    [],
    'every other process of the mesh is the same process as before',
  );
  const bystander = await untilOk(A.capture.host, A.capture.bystander, 5000, '/details/0');
  t.ok(bystander.ms !== undefined, `details (not on productpage's path) still answers (${bystander.failures.join(', ') || 'at once'})`);
  const l7 = await get(A.capture.host, A.capture.l7);
  t.equal(l7.status, 503, 'productpage itself: the waypoint answers 503 (no process behind the endpoint)');

  const exitPromise = run.waitExit(EXIT_MS);
  process.kill(-run.pid, 'SIGINT');
  const exit = await exitPromise;
  t.equal(exit.code, 1, 'exit 1, not 130: the mesh lost a child for good');
  const summary = run
    .stdout()
    .split('\n')
    .find((l) => l.startsWith('{"restartSummary"'));
  t.same(
    summary && JSON.parse(summary),
    { restartSummary: { restarts: { [CHAOS_PODS.productpage]: 5 }, gaveUp: [CHAOS_PODS.productpage], exitCode: 1 } },
    'the final summary says so',
  );
  const ours = (l: { host: string; port: number }) => l.host === A.host.productpage && l.port === 9080;
  const left = await leftovers(
    tmp.dir,
    listenersOf(tmp.scenario).filter((l) => !ours(l)),
  );
  t.same(left.processes, [], 'no process names the scenario');
  t.same(left.listeners, [], 'no listener of the scenario is left (but the one the test holds)');
});

t.test('the CLI: Ctrl-C during a CrashLoopBackOff wait (kubelet timings) starts nothing and leaves nothing', async (t) => {
  const tmp = tempScenario(chaosScenario(N), 'ctrl-c-backoff');
  const run = runCli(['scenario', tmp.file, '--hold', '--ca-dir', tmp.caDir]);
  t.teardown(async () => {
    killGroup(run.pid);
    await tmp.cleanup();
  });
  await run.waitForOutput(HOLDING, UP_MS);
  // The banner's next line may be a pipe read behind the one waited for.
  await run.waitForOutput(/then after a CrashLoopBackOff of 10s doubling up to 5m0s \(reset once it ran 10m0s\)/, 2000);
  t.pass('the hold banner gives the restart policy');
  process.kill(pidOf(tmp.file, 'ztunnel', '--node node-b')!, 'SIGKILL');
  await run.waitForOutput(/ztunnel-node-b: Ready again .* RESTARTS 1/, UP_MS);
  process.kill(pidOf(tmp.file, 'ztunnel', '--node node-b')!, 'SIGKILL');
  await run.waitForOutput(/ztunnel-node-b: CrashLoopBackOff: Back-off 10s restarting failed container istio-proxy in pod ztunnel-node-b, RESTARTS 1/, UP_MS);
  const exitPromise = run.waitExit(EXIT_MS);
  process.kill(-run.pid, 'SIGINT');
  const exit = await exitPromise;
  t.same(exit, { code: 130, signal: null });
  t.notMatch(run.output(), /RESTARTS 2/, 'the restart the back-off was waiting for never happened');
  t.match(run.output(), 'RESTARTS: ztunnel-node-b 1');
  const left = await leftovers(tmp.dir, listenersOf(tmp.scenario), 500);
  t.same(left.processes, [], 'no process names the scenario');
  t.same(left.listeners, [], 'no listener of the scenario is left');
});
