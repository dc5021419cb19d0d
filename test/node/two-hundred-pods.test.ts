// A larger mesh than sixty-pods.test.ts (block 10.130): 200 http-echo pods over 3 nodes, ten to a
// Service, the pods suite's mesh (bench/pods-scenario.ts) at a size that fits a test. The runner
// holds it in 7 children (istiod, and a ztunnel and a node agent per node); then nothing is lost
// at this scale: every Service answers one request, from a pod of another Service on another
// node through its own SOCKS5 capture, and every pod answers one by its own address. Speed is
// the pods bench's business (bench/REPORT.md); this only bounds a hang.
import t from 'tap';
import { processesMentioning, leftovers, listenersOf, runCli, tempScenario, killGroup } from '../runner/fixtures/cli';
import { ECHO_PORT, askerOf, podsScenario } from '../../bench/pods-scenario';
import { askThrough, inBatches } from '../../bench/pods-ask';

const BLOCK = 130;
const PODS = 200;
const NODES = 3;
/** The runner's own ready timeout bounds the start; this only bounds a hang. */
const UP_MS = 60_000;
/** Requests in flight at once. */
const PARALLEL = 10;

const mesh = podsScenario(BLOCK, PODS, NODES, `two-hundred-pods-${BLOCK}`);

t.test(`${PODS} pods over ${NODES} nodes come up, and every Service and every pod answers through the mesh`, async (t) => {
  const tmp = tempScenario(mesh.text, 'two-hundred');
  const run = runCli(['scenario', tmp.file, '--hold', '--ca-dir', tmp.caDir]);
  t.teardown(async () => {
    killGroup(run.pid);
    await tmp.cleanup();
  });
  await run.waitForOutput(/The mesh stays up until Ctrl-C/, UP_MS);
  const ready = /mesh ready in (\d+) ms: (\d+) processes/.exec(run.output());
  t.ok(ready, 'the runner says the mesh is ready');
  t.comment(`${PODS} pods: mesh ready in ${ready?.[1]} ms`);
  t.equal(Number(ready?.[2]), 1 + 2 * NODES, 'its children: istiod, and a ztunnel and a node agent per node');
  t.equal(mesh.services.length, PODS / 10);

  const toServices = await inBatches(
    mesh.services.map((s, k) => () => askThrough(askerOf(mesh, k), { host: s.vip, port: s.port }, `to ${s.name}`)),
    PARALLEL,
  );
  t.same(
    toServices,
    mesh.services.map((s) => `200 to ${s.name}`),
    `each of the ${mesh.services.length} Services answered, from a pod on another node`,
  );
  // Pod i asks pod i + 1 (always on the next node) by its address: every app and every capture.
  const toPods = await inBatches(
    mesh.pods.map(
      (from, i) => () => askThrough(from, { host: mesh.pods[(i + 1) % PODS].ip, port: ECHO_PORT }, `${from.name} -> ${mesh.pods[(i + 1) % PODS].name}`),
    ),
    PARALLEL,
  );
  t.same(
    toPods,
    mesh.pods.map((from, i) => `200 ${from.name} -> ${mesh.pods[(i + 1) % PODS].name}`),
    `each of the ${PODS} pods reached the next one's app through its own capture`,
  );

  const exit = run.waitExit(20_000);
  process.kill(-run.pid, 'SIGINT');
  t.same(await exit, { code: 130, signal: null });
  const left = await leftovers(tmp.dir, listenersOf(tmp.scenario), 2000);
  t.same(left.processes, [], 'no process names the scenario');
  t.same(left.listeners, [], 'no listener of the scenario is left');
  t.same(processesMentioning(tmp.dir), []);
});
