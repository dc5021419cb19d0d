// Pods that join and leave a node while its ztunnel runs (block 10.113): istiod pushes an Address
// for a new pod on node-b, and ztunnel-node-b enrolls it (its certificate from istiod, HBONE on
// podIP:15008, its captures), so sleep on node-a reaches it over HBONE; the push that removes it
// closes those listeners again. The new pod's app is this test, listening on the pod's address.
import t from 'tap';
import * as net from 'node:net';
import { startMesh } from '../fixtures/scenario-mesh';
import { ISTIOD_NAME, ConfigMessage } from '../../src/mesh/control-plane';
import type { Scenario, Workload } from '../../src/mesh/model';

const SCENARIO = `name: live-pods
nodes:
  - { name: node-a, ip: 10.113.0.1 }
  - { name: node-b, ip: 10.113.0.2 }
workloads:
  - { name: sleep, namespace: default, serviceAccount: sleep, node: node-a, ip: 10.113.1.1, labels: { app: sleep }, run: { app: sleep, port: 80 } }
  - { name: echo, namespace: default, serviceAccount: echo, node: node-b, ip: 10.113.2.1, labels: { app: echo }, run: { app: echo, port: 9000 } }
`;
const NEW_POD: Workload = {
  name: 'late-echo-5d8f6c7b9-q2x7z',
  namespace: 'default',
  serviceAccount: 'late-echo',
  node: 'node-b',
  ip: '10.113.2.7',
  labels: { app: 'late-echo' },
  app: { kind: 'echo', port: 9000 },
  workloadName: 'late-echo',
};
const SOCKS = { host: '127.113.1.1', port: 15080 }; // sleep's SOCKS5

/** Through sleep's SOCKS5 to host:port: what came back, or how it failed. */
function viaSleep(host: string, port: number, payload: string): Promise<string> {
  return new Promise((resolve) => {
    const s = net.connect(SOCKS);
    let stage = 0;
    let got = '';
    s.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
    s.on('close', () => resolve(stage === 2 ? got : `closed at stage ${stage}`));
    s.on('connect', () => s.write(Buffer.from([5, 1, 0])));
    s.on('data', (d: Buffer) => {
      if (stage === 0) {
        stage = 1;
        const ip = host.split('.').map(Number);
        s.write(Buffer.from([5, 1, 0, 1, ...ip, port >> 8, port & 0xff]));
      } else if (stage === 1) {
        if (d[1] !== 0) return resolve(`SOCKS5 reply ${d[1]}`);
        stage = 2;
        s.end(payload);
      } else got += d.toString();
    });
  });
}

function probe(host: string, port: number): Promise<string> {
  return new Promise((resolve) => {
    const s = net.connect({ host, port });
    s.on('connect', () => {
      s.destroy();
      resolve('open');
    });
    s.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
  });
}

async function until(pred: () => Promise<boolean>, ms = 10_000): Promise<boolean> {
  for (const end = Date.now() + ms; Date.now() < end; await new Promise((r) => setTimeout(r, 50))) if (await pred()) return true;
  return false;
}

t.test('a pod added by a push is served by its ztunnel; removed, its listeners close', async (t) => {
  const mesh = await startMesh(SCENARIO, 'live-pods');
  t.teardown(() => mesh.stop());
  // The new pod's app: an echo on its address, as its container would be.
  const app = net.createServer({ allowHalfOpen: true }, (s) => s.pipe(s));
  await new Promise<void>((r) => app.listen(9000, '127.113.2.7', r));
  t.teardown(() => new Promise((r) => app.close(r)));
  const istiod = mesh.supervisor.child(ISTIOD_NAME)!;
  const push = (scenario: Scenario, id: number) => istiod.process.send({ kind: 'hbone-sim/config', id, scenario } satisfies ConfigMessage);

  t.equal(await probe('127.113.2.7', 15008), 'ECONNREFUSED', 'no HBONE listener for a pod istiod has not told of');
  t.match(await viaSleep('10.113.2.1', 9000, 'old'), 'old', 'the pod of the start is served');

  push({ ...mesh.scenario, workloads: [...mesh.scenario.workloads, NEW_POD] }, 1);
  t.ok(await until(async () => (await probe('127.113.2.7', 15008)) === 'open'), "ztunnel-node-b listens on the new pod's 15008");
  t.equal(await viaSleep('10.113.2.7', 9000, 'hello late pod'), 'hello late pod', 'sleep reaches it over HBONE, with its own certificate');
  t.equal(await probe('127.113.2.7', 15001), 'open', 'and its in-pod capture is up');

  push(mesh.scenario, 2);
  t.ok(await until(async () => (await probe('127.113.2.7', 15008)) === 'ECONNREFUSED'), 'removed: its listeners close');
  t.equal(await probe('127.113.2.7', 15080), 'ECONNREFUSED');
  t.match(await viaSleep('10.113.2.1', 9000, 'still'), 'still', 'the other pods are untouched');
});
