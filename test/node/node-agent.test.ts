// Pods inside a node agent (block 10.96.x.y): a crash of one pod's app stays that pod's. Its app
// throws (in a request handler, a raw TCP 'data' handler, a timer, an unhandled rejection) or
// fails to start: that pod is restarted inside the agent with the kubelet's back-off (scaled by
// 0.01), the runner tells it in kubectl's words, its neighbours on the same agent keep answering,
// through the mesh too, and the agent is the same process throughout. A pod that cannot come back
// is given up on alone (the run then exits 1); a pod that fails before the mesh is ready fails the
// run, naming it; kill -9 of a node agent takes its pods down and the runner restarts it with them.
// The pods run a test app that can be told to crash (fixtures/faulty-app.ts, loaded with --require).
import t, { Test } from 'tap';
import * as http from 'node:http';
import * as net from 'node:net';
import * as path from 'node:path';
import { leftovers, listenersOf, pidOf, processesMentioning, runCli, tempScenario, killGroup, REPO, TempScenario, CliRun } from '../runner/fixtures/cli';
import { faultyApp } from './fixtures/faulty-app';
import { childSpecs } from '../../src/runner/run';

const N = 96;
const UP_MS = 20_000;
const EVENT_MS = 10_000;
const HOLDING = /The mesh stays up until Ctrl-C/;
const PORT = 8080;
const POD = {
  victim: { name: 'victim', host: `127.${N}.1.2` },
  hopeless: { name: 'hopeless', host: `127.${N}.1.3` },
  neighbour: { name: 'neighbour', host: `127.${N}.1.4` },
  other: { name: 'other-node', host: `127.${N}.2.1` },
} as const;
/** sleep -> neighbour's pod IP through ztunnel (HBONE node A to node A). */
const CAPTURE = { host: `127.${N}.0.1`, port: 15101 };

const SCENARIO = `name: node-agent-${N}
nodes:
  - { name: node-a, ip: 10.${N}.0.1 }
  - { name: node-b, ip: 10.${N}.0.2 }
workloads:
  - { name: sleep, namespace: default, serviceAccount: sleep, node: node-a, ip: 10.${N}.1.1, labels: { app: sleep }, run: { app: sleep, port: 80 } }
  - { name: victim, namespace: default, serviceAccount: victim, node: node-a, ip: 10.${N}.1.2, labels: { app: victim }, run: { app: http-echo, port: ${PORT} } }
  - { name: hopeless, namespace: default, serviceAccount: hopeless, node: node-a, ip: 10.${N}.1.3, labels: { app: hopeless }, run: { app: http-echo, port: ${PORT} } }
  - { name: neighbour, namespace: default, serviceAccount: neighbour, node: node-a, ip: 10.${N}.1.4, labels: { app: neighbour }, run: { app: http-echo, port: ${PORT} } }
  - { name: other-node, namespace: default, serviceAccount: other, node: node-b, ip: 10.${N}.2.1, labels: { app: other }, run: { app: http-echo, port: ${PORT} } }
services:
  - { name: neighbour, namespace: default, vip: 10.${N}.8.1, selector: { app: neighbour }, ports: [ { name: http, port: ${PORT} } ] }
captures:
  - { listen: ${CAPTURE.host}:${CAPTURE.port}, source: sleep, target: 10.${N}.1.4:${PORT} }
`;

/** GET http://host:port/path: the status and body, or the error the client saw. */
function get(host: string, port: number, p = '/'): Promise<{ status: number; body: string; error?: string }> {
  return new Promise((resolve) => {
    const req = http.get({ host, port, path: p, agent: false, timeout: 3000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', (err: NodeJS.ErrnoException) => resolve({ status: 0, body, error: err.code ?? err.message }));
    });
    req.on('timeout', () => req.destroy(Object.assign(new Error('timeout'), { code: 'ETIMEDOUT' })));
    req.on('error', (err: NodeJS.ErrnoException) => resolve({ status: 0, body: '', error: err.code ?? err.message }));
  });
}

/** Sends `text` on the raw TCP port of the faulty app; resolves with what came back, or how it ended. */
function tcpSend(host: string, port: number, text: string): Promise<string> {
  return new Promise((resolve) => {
    const s = net.connect(port, host, () => s.write(text));
    let got = '';
    s.setTimeout(3000, () => s.destroy());
    s.on('data', (d: Buffer) => {
      got += d.toString();
      if (got === text) s.end();
    });
    s.on('error', (err: NodeJS.ErrnoException) => (got += `<${err.code}>`));
    s.on('close', () => resolve(got));
  });
}

/** Every pod but `except` answers with its name, directly and (the neighbour) through the mesh. */
async function neighboursAnswer(t: Test, except: string[], what: string): Promise<void> {
  for (const p of Object.values(POD)) {
    if (except.includes(p.name)) continue;
    const r = await get(p.host, PORT);
    t.same([r.status, r.body], [200, p.name], `${p.name} answers ${what}`);
  }
  const meshed = await get(CAPTURE.host, CAPTURE.port);
  t.same([meshed.status, meshed.body], [200, POD.neighbour.name], `the neighbour answers through the mesh (sleep's capture, HBONE) ${what}`);
}

interface Held {
  readonly tmp: TempScenario;
  readonly run: CliRun;
  readonly agents: { a: number; b: number };
  setMode(pod: string, mode: 'fail' | 'serve'): void;
}

async function hold(t: Test, name: string, before: (setMode: Held['setMode']) => void = () => undefined): Promise<Held> {
  const tmp = tempScenario(SCENARIO, name);
  const app = faultyApp(path.join(REPO, 'dist'), tmp.dir);
  before(app.setMode);
  const run = runCli(['scenario', tmp.file, '--hold', '--ca-dir', tmp.caDir, '--backoff-scale', '0.01'], { env: { NODE_OPTIONS: app.nodeOptions } });
  t.teardown(async () => {
    killGroup(run.pid);
    await tmp.cleanup();
  });
  return { tmp, run, setMode: app.setMode, agents: { a: 0, b: 0 } };
}

async function up(t: Test, h: Held): Promise<Held> {
  await h.run.waitForOutput(HOLDING, UP_MS);
  const a = pidOf(h.tmp.file, ' node ', '--node node-a');
  const b = pidOf(h.tmp.file, ' node ', '--node node-b');
  t.ok(a && b, 'a node agent per node');
  t.equal(
    processesMentioning(h.tmp.dir).length,
    1 + childSpecs(h.tmp.scenario, h.tmp.caDir).length,
    'the runner, two ztunnels and two node agents: no process per pod',
  );
  return { ...h, agents: { a: a!, b: b! } };
}

/** Resolves once the runner printed `re` after output position `mark`. */
async function said(run: CliRun, mark: number, re: RegExp): Promise<string> {
  const deadline = Date.now() + EVENT_MS;
  for (;;) {
    const text = run.output().slice(mark);
    if (re.test(text)) return text;
    if (Date.now() > deadline) throw new Error(`the runner did not say ${re} within ${EVENT_MS} ms; it said:\n${text}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

t.test("a pod's app crashing inside the node agent: that pod alone is restarted, with the kubelet's back-off; its neighbours keep serving", async (t) => {
  const h = await up(t, await hold(t, 'crash'));
  const { run } = h;
  await neighboursAnswer(t, [], 'once the mesh is up');

  const crashes: Array<{ how: string; crash: () => Promise<unknown>; restarts: number; backOff?: RegExp }> = [
    { how: 'an exception in a request handler', crash: () => get(POD.victim.host, PORT, '/crash'), restarts: 1 },
    {
      how: "an exception in a raw TCP socket's 'data' handler",
      crash: () => tcpSend(POD.victim.host, PORT + 1, 'crash'),
      restarts: 2,
      backOff: /Back-off 100ms/,
    },
    { how: 'an unhandled rejection', crash: () => get(POD.victim.host, PORT, '/crash-async'), restarts: 3, backOff: /Back-off 200ms/ },
    { how: 'an exception in a timer', crash: () => get(POD.victim.host, PORT, '/crash-timer'), restarts: 4, backOff: /Back-off 400ms/ },
  ];
  for (const c of crashes) {
    await t.test(c.how, async (t) => {
      const mark = run.output().length;
      await c.crash();
      const text = await said(run, mark, new RegExp(`victim: Ready again .* RESTARTS ${c.restarts}`));
      t.match(text, 'victim: container http-echo Terminated (Reason: Error, Exit Code: 1)', "the pod's exit, as kubectl describe names a crashed container's");
      if (c.backOff)
        t.match(
          text,
          new RegExp(`victim: CrashLoopBackOff: ${c.backOff.source} restarting failed container http-echo in pod victim, RESTARTS ${c.restarts - 1}`),
          'a quick second exit waits its back-off',
        );
      else t.match(text, 'victim: Started container http-echo again at once (a first restart does not wait), RESTARTS 1');
      t.notMatch(text, /neighbour|other-node|hopeless|kubelet-node/, 'no other pod and no node agent is mentioned');
      t.equal(pidOf(h.tmp.file, ' node ', '--node node-a'), h.agents.a, 'the node agent is the same process');
      await neighboursAnswer(t, [], 'after the restart');
      t.equal(processesMentioning(h.tmp.dir).length, 1 + childSpecs(h.tmp.scenario, h.tmp.caDir).length, 'no process was added or lost');
    });
  }

  await t.test('while the victim waits its back-off, its neighbours answer', async (t) => {
    const mark = run.output().length;
    await get(POD.victim.host, PORT, '/crash');
    await said(run, mark, /victim: CrashLoopBackOff: Back-off 800ms/);
    const down = await get(POD.victim.host, PORT);
    t.equal(down.error, 'ECONNREFUSED', 'the victim itself is down: nothing listens on its address');
    await neighboursAnswer(t, ['victim'], 'while the victim is down');
    await said(run, mark, /victim: Ready again .* RESTARTS 5/);
  });

  await t.test('a pod that cannot start again is given up on alone; the others keep serving', async (t) => {
    const mark = run.output().length;
    h.setMode(POD.hopeless.name, 'fail');
    await get(POD.hopeless.host, PORT, '/crash');
    const text = await said(run, mark, /hopeless: failed to start 5 times in a row/);
    t.match(
      text,
      /hopeless: failed to start \(1 in a row\): app::hopeless: hopeless: cannot start \(told to fail\)/,
      'each failed start, with the reason the app gave',
    );
    t.match(text, /hopeless: CrashLoopBackOff: Back-off 100ms restarting failed container http-echo in pod hopeless/);
    t.match(text, 'giving up on it, RESTARTS 5. The rest of the mesh keeps running');
    await neighboursAnswer(t, ['hopeless'], 'after the give-up');
    t.equal(pidOf(h.tmp.file, ' node ', '--node node-a'), h.agents.a, 'the node agent is the same process');
  });

  await t.test('kill -9 of a node agent: its pods go down with it and come back with it; the other node is untouched', async (t) => {
    const mark = run.output().length;
    process.kill(h.agents.b, 'SIGKILL');
    const text = await said(run, mark, /kubelet-node-b: Ready again .* RESTARTS 1/);
    t.match(text, 'kubelet-node-b: container kubelet Terminated (Reason: Error, Exit Code: 137 (SIGKILL))');
    const b = pidOf(h.tmp.file, ' node ', '--node node-b');
    t.ok(b && b !== h.agents.b, `a new node agent for node-b (pid ${b})`);
    t.equal(pidOf(h.tmp.file, ' node ', '--node node-a'), h.agents.a, "node-a's agent is the same process");
    await neighboursAnswer(t, ['hopeless'], "once node-b's agent is back");
  });

  const exit = run.waitExit(15_000);
  process.kill(-run.pid, 'SIGINT');
  t.equal((await exit).code, 1, 'exit 1 after Ctrl-C: the mesh lost a pod for good');
  t.match(run.output(), /RESTARTS: .*victim 5/, "the summary counts the pod's restarts");
  t.match(run.output(), /exit code 1: the runner gave up on hopeless/);
  const left = await leftovers(h.tmp.dir, listenersOf(h.tmp.scenario), 2000);
  t.same(left.processes, [], 'no process names the scenario');
  t.same(left.listeners, [], 'no listener of the scenario is left');
});

t.test('a pod that fails its first start fails the run before the mesh is ready, naming the pod and why', async (t) => {
  const h = await hold(t, 'first-start', (setMode) => setMode(POD.victim.name, 'fail'));
  const exit = await h.run.waitExit(UP_MS);
  t.equal(exit.code, 1);
  t.match(h.run.output(), /victim \(hosted by kubelet-node-a\) exited \(code 1\) before the mesh was ready; tearing the mesh down/);
  t.match(h.run.output(), 'victim: cannot start (told to fail)');
  t.notMatch(h.run.output(), HOLDING);
  const left = await leftovers(h.tmp.dir, listenersOf(h.tmp.scenario), 2000);
  t.same(left.processes, [], 'no process names the scenario');
  t.same(left.listeners, [], 'no listener of the scenario is left');
});
