// The node agent's pods in this process (block 10.98.x.y, no mesh): deleting one pod or killing
// it leaves its neighbours serving; a crash charged to a pod's scope closes that pod alone and
// reports exit code 1; a pod whose start fails reports why; the Restarter drives a PodHost as it
// drives processes (restart at once, then the back-off). The process-wide side (uncaught
// exceptions routed to the pod's scope) is proven with real node agents in node-agent.test.ts.
import t from 'tap';
import { PodHost, PodHandle, StartPod } from '../../src/node/pod-host';
import { runApp } from '../../src/apps/main';
import { currentPodScope } from '../../src/apps/pod-scope';
import { Restarter } from '../../src/runner/restarter';
import { scaledBackOff } from '../../src/runner/backoff';
import type { RestartEvent } from '../../src/runner/restart-events';
import { PORT_READINESS } from '../../src/mesh/ports';
import { get, pod, quietLog } from '../apps/fixtures/pods';

const N = 98;
const PORT = 8080;
const hostOf = (i: number): string => `127.${N}.1.${i}`;
const podAt = (i: number) => pod(`echo-${i}`, 'http-echo', `10.${N}.1.${i}`, PORT);

async function answers(i: number): Promise<boolean> {
  try {
    return (await get(`http://${hostOf(i)}:${PORT}/`)).status === 200 && (await get(`http://${hostOf(i)}:${PORT_READINESS}/healthz/ready`)).status === 200;
  } catch {
    return false;
  }
}

async function refused(i: number): Promise<boolean> {
  try {
    await get(`http://${hostOf(i)}:${PORT}/`);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ECONNREFUSED';
  }
}

function hostWith(startPod?: StartPod): { host: PodHost; exits: Array<{ pod: string; code: number | null; signal: string | null }> } {
  const host = new PodHost(quietLog, startPod ?? ((p) => runApp(p, { log: quietLog })));
  const exits: Array<{ pod: string; code: number | null; signal: string | null }> = [];
  host.onExit((h, code, signal) => exits.push({ pod: h.spec.name, code, signal }));
  return { host, exits };
}

async function ready(host: PodHost, h: PodHandle): Promise<void> {
  await host.whenReady(h, 5000, () => false);
}

t.test('delete one pod, force-stop another: the third keeps serving; only the kill is an exit', async (t) => {
  const { host, exits } = hostWith();
  t.teardown(() => host.stopAll());
  const hs = [1, 2, 3].map((i) => host.start(podAt(i)));
  for (const h of hs) await ready(host, h);
  t.same(await Promise.all([1, 2, 3].map(answers)), [true, true, true], 'three pods, each on its own address with its own readiness');

  await host.delete('echo-2');
  t.ok(await refused(2), 'the deleted pod no longer listens');
  t.same([await answers(1), await answers(3)], [true, true], 'its neighbours answer');
  t.equal(host.child('echo-2'), undefined, 'and it is gone from the host');
  t.same(exits, [], 'a deletion is no exit: nothing restarts it');

  host.forceStop(hs[0]);
  await new Promise((r) => setTimeout(r, 100));
  t.same(exits, [{ pod: 'echo-1', code: null, signal: 'SIGKILL' }], 'a kill is an exit, as SIGKILL ends a process');
  t.ok(await refused(1));
  t.ok(await answers(3), 'the third still answers');

  const again = host.restart('echo-1');
  await ready(host, again);
  t.ok(await answers(1), 'the killed pod, started again on the same address');
});

t.test("a crash charged to a pod's scope closes that pod alone, exit code 1, with the error in its tail", async (t) => {
  const crashers = new Map<string, () => void>();
  const { host, exits } = hostWith(async (p) => {
    const app = await runApp(p, { log: quietLog });
    // What the node command's uncaughtException handler does for code running in this scope.
    const scope = currentPodScope();
    t.ok(scope, `${p.name} starts in a pod scope`);
    crashers.set(p.name, () => scope!.crash(new Error(`${p.name}: boom`)));
    return app;
  });
  t.teardown(() => host.stopAll());
  const hs = [4, 5].map((i) => host.start(podAt(i)));
  for (const h of hs) await ready(host, h);
  crashers.get('echo-4')!();
  await new Promise((r) => setTimeout(r, 100));
  t.same(exits, [{ pod: 'echo-4', code: 1, signal: null }]);
  t.match(hs[0].tail.join('\n'), 'Error: echo-4: boom', 'the stack is kept for the restart events');
  t.ok(await refused(4), 'the crashed pod is down');
  t.ok(await answers(5), 'its neighbour answers');
  crashers.get('echo-4')!();
  t.equal(exits.length, 1, "a later error of the dead pod's code changes nothing");
});

t.test('a start that fails is an exit with code 1 and the reason', async (t) => {
  const { host, exits } = hostWith(async (p) => {
    if (p.name === 'echo-6') throw new Error('port taken');
    return runApp(p, { log: quietLog });
  });
  t.teardown(() => host.stopAll());
  const bad = host.start(podAt(6));
  const good = host.start(podAt(7));
  await t.rejects(ready(host, bad), /failed to start: port taken/);
  await ready(host, good);
  await new Promise((r) => setTimeout(r, 50));
  t.same(exits, [{ pod: 'echo-6', code: 1, signal: null }]);
  t.same(bad.tail, ['app::echo-6: port taken'], 'the line a pod process writes before it exits 1');
  t.ok(await answers(7));
});

t.test("the Restarter drives pods as it drives processes: at once, then the kubelet's back-off", async (t) => {
  const crashers = new Map<string, () => void>();
  const { host } = hostWith(async (p) => {
    const app = await runApp(p, { log: quietLog });
    const scope = currentPodScope()!;
    crashers.set(p.name, () => scope.crash(new Error('boom')));
    return app;
  });
  const events: RestartEvent[] = [];
  const restarter = new Restarter(host, { timings: scaledBackOff(0.01), readyTimeoutMs: 5000, onEvent: (e) => events.push(e) });
  host.onExit((h, code, signal) => restarter.exited(h, code, signal));
  t.teardown(async () => {
    restarter.stop();
    await host.stopAll();
  });
  const h = host.start(podAt(8));
  await ready(host, h);
  restarter.arm();
  const until = async (kind: string, n: number): Promise<void> => {
    const deadline = Date.now() + 5000;
    while (events.filter((e) => e.kind === kind).length < n && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  };
  crashers.get('echo-8')!();
  await until('Ready', 1);
  crashers.get('echo-8')!();
  await until('Ready', 2);
  t.same(
    events.map((e) => e.message.replace(/after running [\d.]+m?s/, 'after running X').replace(/Ready again \d+ms/, 'Ready again Y')),
    [
      'echo-8: container http-echo Terminated (Reason: Error, Exit Code: 1) after running X; connections through it were reset',
      'echo-8: Started container http-echo again at once (a first restart does not wait), RESTARTS 1',
      'echo-8: Ready again Y after it exited, RESTARTS 1; new connections through it work',
      'echo-8: container http-echo Terminated (Reason: Error, Exit Code: 1) after running X; connections through it were reset',
      'echo-8: CrashLoopBackOff: Back-off 100ms restarting failed container http-echo in pod echo-8, RESTARTS 1',
      'echo-8: Started container http-echo again after a back-off of 100ms, RESTARTS 2',
      'echo-8: Ready again Y after it exited, RESTARTS 2; new connections through it work',
    ],
  );
  t.ok(await answers(8), 'the pod answers again');
  t.same(restarter.summary(), { restarts: { 'echo-8': 2 }, gaveUp: [] });
});
