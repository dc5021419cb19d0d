// `--workers 2` for every ztunnel and the waypoint (`hbone-sim up … --workers 2`): load through
// L4 and L7 all answered, both workers of each proxy really served, the summed metrics exact, a
// pushed policy in force on every worker, a dead worker replaced, a SIGKILLed primary leaving
// no worker behind, and the runner's SIGTERMs leaving no process and no listener.
import t from 'tap';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as http from 'node:http';
import * as path from 'node:path';
import { killGroup, leftovers, listenersOf, runCli, simWith, tempScenario } from '../runner/fixtures/cli';
import { heldMeshScenario } from '../runner/fixtures/held-mesh';
import { parsePromText } from '../../src/telemetry/prom-text';
import { maxWorkers } from '../../src/workers/worker-count';

const N = 125;
const NODE_A = `127.${N}.0.1`;
const WAYPOINT = `127.${N}.2.9`;
const L7 = { host: `127.${N}.0.100`, port: 8080 };
const L4 = { host: `127.${N}.0.100`, port: 9000 };
const CONNECTIONS = 6;
const L7_REQUESTS = 300;
const L4_CONNECTIONS = 60;

const POLICIES = `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: deny-denied, namespace: default }
spec:
  targetRefs: [ { kind: Service, group: "", name: echo } ]
  action: DENY
  rules: [ { to: [ { operation: { paths: ["/denied"] } } ] } ]
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: tcp-echo-closed, namespace: default }
spec:
  selector: { matchLabels: { app: tcp-echo } }
  action: DENY
  rules: [ { from: [ { source: { principals: ["cluster.local/ns/default/sa/sleep"] } } ] } ]
`;

/** Pushed while one waypoint worker is stopped (SIGSTOP). */
const STALLED_POLICY = `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: deny-stalled, namespace: default }
spec:
  targetRefs: [ { kind: Service, group: "", name: echo } ]
  action: DENY
  rules: [ { to: [ { operation: { paths: ["/stalled"] } } ] } ]
`;

interface WorkersPage {
  readonly worker_threads: number;
  readonly workers: ReadonlyArray<{ worker: number; pid: number; ready: boolean; starts: number; counters: Record<string, number> }>;
}

async function getText(url: string): Promise<{ status: number; body: string }> {
  const res = await fetch(url);
  return { status: res.status, body: await res.text() };
}

async function workersOf(host: string): Promise<WorkersPage> {
  return JSON.parse((await getText(`http://${host}:15000/workers`)).body) as WorkersPage;
}

/** `count` GETs of `path` over `CONNECTIONS` kept-alive connections at once; the status of each. */
async function load(path: string, count: number): Promise<number[]> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: CONNECTIONS });
  try {
    const one = () =>
      new Promise<number>((resolve) => {
        http
          .get({ ...L7, path, agent }, (res) => {
            res.resume();
            res.on('end', () => resolve(res.statusCode ?? 0));
          })
          .on('error', () => resolve(0));
      });
    return await Promise.all(Array.from({ length: count }, one));
  } finally {
    agent.destroy();
  }
}

/** One TCP connection to the L4 capture: whether the tcp-echo app echoed `text`. */
function echoOnce(text: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(L4);
    let got = '';
    const timer = setTimeout(() => finish(false), 5000);
    const finish = (ok: boolean) => {
      clearTimeout(timer);
      s.destroy();
      resolve(ok);
    };
    s.on('connect', () => s.write(text));
    s.on('data', (d: Buffer) => {
      got += d.toString();
      if (got === text) finish(true);
    });
    s.on('error', () => finish(false));
    s.on('close', () => finish(got === text));
  });
}

async function l4Load(count: number): Promise<boolean[]> {
  const results: boolean[] = [];
  for (let i = 0; i < count; i += CONNECTIONS) {
    const batch = Array.from({ length: Math.min(CONNECTIONS, count - i) }, (_, j) => echoOnce(`ping ${i + j}\n`));
    results.push(...(await Promise.all(batch)));
  }
  return results;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function until<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

t.test('a mesh whose ztunnels and waypoint run two workers each', async (t) => {
  const tmp = tempScenario(heldMeshScenario('workers', N), 'workers');
  const env = { HBONE_SIM_HOME: path.join(tmp.dir, 'home') };
  t.teardown(() => tmp.cleanup());
  const up = runCli(['up', tmp.file, '--ca-dir', tmp.caDir, '--workers', '2', '--page-port', '0'], { env });
  t.teardown(() => killGroup(up.pid));
  await up.waitForOutput(/The mesh stays up/, 40_000);
  const sim = simWith(env);

  const waypoint = await workersOf(WAYPOINT);
  t.equal(waypoint.worker_threads, 2, 'the waypoint runs two workers');
  t.ok(
    waypoint.workers.every((w) => w.ready && alive(w.pid)),
    'both are ready',
  );

  const statuses = await load('/', L7_REQUESTS);
  t.equal(statuses.filter((s) => s === 200).length, L7_REQUESTS, `all ${L7_REQUESTS} L7 requests over ${CONNECTIONS} connections answered 200`);
  const echoes = await l4Load(L4_CONNECTIONS);
  t.equal(echoes.filter(Boolean).length, L4_CONNECTIONS, `all ${L4_CONNECTIONS} L4 connections echoed`);

  const served = await workersOf(WAYPOINT);
  const perWorker = served.workers.map((w) => w.counters.istio_requests_total ?? 0);
  t.ok(
    perWorker.every((n) => n > 0),
    `both waypoint workers served requests (${perWorker.join(' + ')})`,
  );
  const metrics = parsePromText((await getText(`http://${WAYPOINT}:15020/stats/prometheus`)).body);
  const requests = metrics.filter((s) => s.name === 'istio_requests_total').reduce((sum, s) => sum + s.value, 0);
  t.equal(requests, L7_REQUESTS, 'istio_requests_total, summed over the workers, is the requests sent');
  t.equal(
    perWorker.reduce((a, b) => a + b, 0),
    L7_REQUESTS,
    'and the workers’ own counts add up to it',
  );

  const nodeA = await workersOf(NODE_A);
  const accepted = nodeA.workers.map((w) => w.counters.istio_tcp_connections_opened_total ?? 0);
  t.ok(
    accepted.every((n) => n > 0),
    `both workers of ztunnel node-a took captured connections (${accepted.join(' + ')})`,
  );
  const nodeB = (await workersOf(`127.${N}.0.2`)).workers.map((w) => w.counters.istio_tcp_connections_opened_total ?? 0);
  t.ok(
    nodeB.every((n) => n > 0),
    `both workers of ztunnel node-b took inbound tunnels (${nodeB.join(' + ')})`,
  );
  const tcp = parsePromText((await getText(`http://${NODE_A}:15020/metrics`)).body).filter(
    (s) => s.name === 'istio_tcp_connections_opened_total' && s.labels.destination_service === 'tcp-echo.default.svc.cluster.local',
  );
  t.equal(
    tcp.reduce((sum, s) => sum + s.value, 0),
    L4_CONNECTIONS,
    'istio_tcp_connections_opened_total to tcp-echo, summed, is the connections made',
  );
  const dump = JSON.parse((await getText(`http://${WAYPOINT}:15000/config_dump`)).body) as { configs: unknown[] };
  t.ok(Array.isArray(dump.configs) && dump.configs.length > 0, 'the primary serves one config dump');

  // Nobody read the waypoint's trace records when it started: the runner's word that someone does
  // now reaches its workers through the primary, and their records reach the runner.
  const trace = runCli(['trace', '--follow'], { env });
  t.teardown(() => killGroup(trace.pid));
  await trace.waitForOutput(/following requests/, 10_000);
  // Each on its own connection, closed after it: ztunnel logs a connection, so the request is
  // told, when it closes. Requests made before the word reached the workers have no stages: ask again.
  const stages = /1 inbound_CONNECT_terminate[^\n]*\n[^\n]*2 inbound-vip\|8080\|http\|echo\.default\.svc\.cluster\.local {2}GET \/traced/;
  const told = await until('a request told with the waypoint’s stages', 15_000, async () => {
    const status = await new Promise<number>((resolve) => {
      http.get({ ...L7, path: '/traced', agent: false }, (res) => res.resume().on('end', () => resolve(res.statusCode ?? 0))).on('error', () => resolve(0));
    });
    if (status !== 200) throw new Error(`GET /traced: ${status}`);
    await new Promise((r) => setTimeout(r, 300));
    return stages.test(trace.stdout()) ? true : undefined;
  });
  t.ok(told, "trace --follow tells the waypoint's stages, from a worker's trace record");
  process.kill(-trace.pid, 'SIGINT');
  await trace.waitExit(10_000);

  // A push reaches every worker before istiod hears the ACK: apply --wait, then every request is refused.
  const file = path.join(tmp.dir, 'policies.yaml');
  fs.writeFileSync(file, POLICIES);
  const applied = sim('apply', '-f', file, '--wait');
  t.equal(applied.code, 0, applied.err);
  const before = (await workersOf(WAYPOINT)).workers.map((w) => w.counters.istio_requests_total ?? 0);
  const denied = await load('/denied', 60);
  t.same([...new Set(denied)], [403], 'every request to /denied is refused, on whichever worker it lands');
  const after = (await workersOf(WAYPOINT)).workers.map((w) => w.counters.istio_requests_total ?? 0);
  t.ok(
    after.every((n, i) => n > before[i]),
    `both waypoint workers refused some (${after.map((n, i) => n - before[i]).join(' + ')})`,
  );
  const closed = await l4Load(12);
  t.equal(closed.filter(Boolean).length, 0, 'and no L4 connection to tcp-echo is echoed: both ztunnel workers enforce the new L4 policy');
  t.same([...new Set(await load('/', 30))], [200], 'other paths still answer');

  // A worker that dies is replaced; the other keeps serving meanwhile. The summed counter does
  // not go down (a drop would read as a reset to Prometheus): the dead worker's last page stays in it.
  const requestsTotal = async () =>
    parsePromText((await getText(`http://${WAYPOINT}:15020/metrics`)).body)
      .filter((m) => m.name === 'istio_requests_total')
      .reduce((sum, m) => sum + m.value, 0);
  const totalBefore = await requestsTotal();
  const victim = served.workers[0];
  process.kill(victim.pid, 'SIGKILL');
  const replaced = await until('a new worker 0', 15_000, async () => {
    const page = await workersOf(WAYPOINT);
    const w = page.workers[0];
    return w.starts === 2 && w.ready && w.pid !== victim.pid ? page : undefined;
  });
  t.ok(
    replaced.workers.every((w) => w.ready),
    'the waypoint has two ready workers again',
  );
  t.same([...new Set(await load('/', 60))], [200], 'and answers every request');
  t.equal(await requestsTotal(), totalBefore + 60, 'istio_requests_total kept the dead worker’s counts and added the 60');

  // A worker that stalls neither holds up a push nor serves the old policy: it is replaced before the ACK.
  const stalled = replaced.workers[1];
  process.kill(stalled.pid, 'SIGSTOP');
  const stalledFile = path.join(tmp.dir, 'stalled.yaml');
  fs.writeFileSync(stalledFile, STALLED_POLICY);
  const pushed = sim('apply', '-f', stalledFile, '--wait');
  t.equal(pushed.code, 0, pushed.err);
  const renewed = await until('a new worker 1', 15_000, async () => {
    const page = await workersOf(WAYPOINT);
    const w = page.workers[1];
    return w.pid !== stalled.pid && w.ready ? page : undefined;
  });
  t.notOk(alive(stalled.pid), 'the stalled worker was killed');
  t.ok(
    renewed.workers.every((w) => w.ready),
    'two ready workers again',
  );
  t.same([...new Set(await load('/stalled', 40))], [403], 'the new policy is in force on every worker');

  // A SIGKILLed primary takes its workers with it (their IPC channel closes); the runner restarts it.
  const zt = await workersOf(NODE_A);
  const primary = (await until('the primary of ztunnel node-a', 5000, async () => pidOfParent(zt.workers[0].pid))) as number;
  process.kill(primary, 'SIGKILL');
  await until('the workers of the killed primary to exit', 8000, async () => (zt.workers.some((w) => alive(w.pid)) ? undefined : true));
  t.pass('no worker outlives its SIGKILLed primary');
  await until('ztunnel node-a restarted with two workers', 20_000, async () => {
    const page = await workersOf(NODE_A);
    return page.workers.every((w) => w.ready) ? page : undefined;
  });

  // The runner's SIGTERMs stop every primary, which stops its workers: nothing is left.
  process.kill(up.pid, 'SIGINT');
  const exit = await up.waitExit(20_000);
  t.equal(exit.code, 130, 'the runner stopped as after Ctrl-C');
  const left = await leftovers(tmp.dir, listenersOf(tmp.scenario), 5000);
  t.same(left, { processes: [], listeners: [] }, 'no process and no listener left');
});

t.test('scenario --workers 2: the expectations hold and are told hop by hop, nothing is left', async (t) => {
  const expect = `expect:
  - { from: sleep-7656cf8794-8tp9n, to: http://echo:8080/one, status: 200 }
  - { from: sleep-7656cf8794-8tp9n, to: http://echo:8080/two, status: 200 }
  - { from: sleep-7656cf8794-8tp9n, to: tcp-echo:9000, connects: true }
`;
  const tmp = tempScenario(heldMeshScenario('workers-trace', N) + expect, 'workers-trace');
  t.teardown(() => tmp.cleanup());
  const run = runCli(['scenario', tmp.file, '--ca-dir', tmp.caDir, '--workers', '2'], { env: { HBONE_SIM_HOME: path.join(tmp.dir, 'home') } });
  t.teardown(() => killGroup(run.pid));
  const exit = await run.waitExit(40_000);
  t.equal(exit.code, 0, 'the run passed', { output: run.output().slice(-3000) });
  t.match(run.stdout(), /3 of 3 expectations held/);
  t.equal(run.stdout().match(/1 inbound_CONNECT_terminate/g)?.length, 2, "both requests told with the waypoint's stages");
  t.same(await leftovers(tmp.dir, listenersOf(tmp.scenario), 5000), { processes: [], listeners: [] }, 'nothing left');
});

t.test('--workers is checked', async (t) => {
  const tmp = tempScenario(heldMeshScenario('workers-flag', N), 'workers-flag');
  t.teardown(() => tmp.cleanup());
  const sim = simWith({ HBONE_SIM_HOME: path.join(tmp.dir, 'home') });
  for (const bad of ['0', String(maxWorkers() + 1), 'two']) {
    const r = sim('ztunnel', '--scenario', tmp.file, '--node', 'node-a', '--workers', bad);
    t.equal(r.code, 2, `ztunnel --workers ${bad} is a usage error`);
    t.match(r.err, /--workers must be a whole number from 1 to \d+/);
  }
  const r = sim('scenario', tmp.file, '--workers', '0');
  t.equal(r.code, 2, 'so is scenario --workers 0');
});

/** A process's parent, from /proc. */
async function pidOfParent(pid: number): Promise<number | undefined> {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[1]);
}
