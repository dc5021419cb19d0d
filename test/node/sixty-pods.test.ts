// 60 pods over 2 nodes start and answer (block 10.97.x.y): the issue's mark for the node agent
// model, where one process per pod could not start them within the runner's ready timeout. The
// runner holds the mesh in 5 processes (itself, 2 ztunnels, 2 node agents); then every pod, through
// its own SOCKS5 capture (so as itself, with its own identity), reaches the next pod's http-echo by
// pod IP over HBONE, and the body comes back from that pod: 60 captures and 60 apps, all answering.
import t from 'tap';
import * as http from 'node:http';
import { processesMentioning, leftovers, listenersOf, runCli, tempScenario, killGroup } from '../runner/fixtures/cli';
import { MeshAgent } from '../../src/apps/socks5';
import { PORT_SOCKS5 } from '../../src/mesh/ports';
import { MAX_POD_PROCESSES } from '../../src/mesh/limits';

const N = 97;
const PODS_PER_NODE = 30;
const PORT = 8080;
/** The runner's own ready timeout is 10 s; this only bounds a hang. */
const UP_MS = 60_000;
/** Requests in flight at once. */
const PARALLEL = 10;

interface Pod {
  readonly name: string;
  readonly ip: string;
  readonly host: string;
}

const pods: Pod[] = [1, 2].flatMap((node) =>
  Array.from({ length: PODS_PER_NODE }, (_, i) => ({
    name: `echo-${node === 1 ? 'a' : 'b'}-${i + 1}`,
    ip: `10.${N}.${node}.${i + 1}`,
    host: `127.${N}.${node}.${i + 1}`,
  })),
);

const SCENARIO = `name: sixty-pods-${N}
nodes:
  - { name: node-a, ip: 10.${N}.0.1 }
  - { name: node-b, ip: 10.${N}.0.2 }
workloads:
${pods.map((p) => `  - { name: ${p.name}, namespace: default, serviceAccount: echo, node: node-${p.name[5]}, ip: ${p.ip}, labels: { app: echo }, run: { app: http-echo, port: ${PORT} } }`).join('\n')}
services:
  - { name: echo, namespace: default, vip: 10.${N}.8.1, selector: { app: echo }, ports: [ { name: http, port: ${PORT} } ] }
`;

/** POST `body` to http://target:PORT/ through `from`'s SOCKS5 capture, as `from`. */
function postVia(from: Pod, target: string, body: string): Promise<string> {
  const agent = new MeshAgent({ proxy: { host: from.host, port: PORT_SOCKS5 }, keepAlive: false });
  return new Promise<string>((resolve, reject) => {
    const req = http.request({ host: target, port: PORT, method: 'POST', path: '/', agent, localAddress: from.host, timeout: 10_000 }, (res) => {
      let got = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (got += c));
      res.on('end', () => resolve(`${res.statusCode} ${got}`));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end(body);
  }).finally(() => agent.destroy());
}

t.test(`${pods.length} pods over 2 nodes start within the runner's ready timeout and every one answers through the mesh`, async (t) => {
  const tmp = tempScenario(SCENARIO, 'sixty');
  const run = runCli(['scenario', tmp.file, '--hold', '--ca-dir', tmp.caDir]);
  t.teardown(async () => {
    killGroup(run.pid);
    await tmp.cleanup();
  });
  await run.waitForOutput(/The mesh stays up until Ctrl-C/, UP_MS);
  const ready = /mesh ready in (\d+) ms: (\d+) processes/.exec(run.output());
  t.ok(ready, 'the runner says the mesh is ready');
  t.comment(`${pods.length} pods: mesh ready in ${ready?.[1]} ms`);
  t.equal(Number(ready?.[2]), 5, 'its children: istiod, and a ztunnel and a node agent per node');
  t.equal(processesMentioning(tmp.dir).length, 6, 'the runner and its 5 children: no other process names the scenario');

  const answers: string[] = [];
  for (let i = 0; i < pods.length; i += PARALLEL) {
    const batch = pods.slice(i, i + PARALLEL).map((from, j) => {
      const to = pods[(i + j + 1) % pods.length];
      return postVia(from, to.ip, `${from.name} -> ${to.name}`).catch((err: Error) => `error ${err.message}`);
    });
    answers.push(...(await Promise.all(batch)));
  }
  const expected = pods.map((from, i) => `200 ${from.name} -> ${pods[(i + 1) % pods.length].name}`);
  t.same(answers, expected, `each of the ${pods.length} pods reached the next one's app through its own capture`);

  const exit = run.waitExit(20_000);
  process.kill(-run.pid, 'SIGINT');
  t.same(await exit, { code: 130, signal: null });
  const left = await leftovers(tmp.dir, listenersOf(tmp.scenario), 2000);
  t.same(left.processes, [], 'no process names the scenario');
  t.same(left.listeners, [], 'no listener of the scenario is left');
});

t.test('--pod-processes keeps the cap of one process per pod: 60 pods are refused, exit 2, naming it', async (t) => {
  const tmp = tempScenario(SCENARIO, 'sixty-processes');
  t.teardown(() => tmp.cleanup());
  const run = runCli(['scenario', tmp.file, '--pod-processes', '--ca-dir', tmp.caDir]);
  t.teardown(() => killGroup(run.pid));
  const exit = await run.waitExit(15_000);
  t.equal(exit.code, 2);
  t.match(
    run.stderr(),
    `--pod-processes starts a process per pod: at most ${MAX_POD_PROCESSES} pods (MAX_POD_PROCESSES in src/mesh/limits.ts); sixty-pods-${N} has ${pods.length}`,
  );
  t.same(processesMentioning(tmp.dir), [], 'nothing was started');
});
