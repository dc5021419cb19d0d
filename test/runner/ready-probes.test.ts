// The runner's readiness wait (waitChildReady): a node agent's pods are probed only once the
// agent itself answers ready, each until it answered once; before that the runner probes the
// agent alone, not a thousand pod addresses every 50 ms.
import t from 'tap';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ChildProcess } from 'node:child_process';
import { ChildHandle, waitChildReady } from '../../src/runner/supervisor';

interface Endpoint {
  readonly hostPort: string;
  /** Probes it answered. */
  hits: number;
  ready: boolean;
  close(): Promise<void>;
}

async function endpoint(ready: boolean): Promise<Endpoint> {
  const e = { hostPort: '', hits: 0, ready, close: () => Promise.resolve() };
  const server = http.createServer((_req, res) => {
    e.hits++;
    res.writeHead(e.ready ? 200 : 503).end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  e.hostPort = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  e.close = () => new Promise<void>((r) => server.close(() => r()));
  return e;
}

const running = { exitCode: null, signalCode: null } as unknown as ChildProcess;

t.test("a node agent's pods are probed once the agent is ready, and each until it answered once", async (t) => {
  const agent = await endpoint(false);
  const pods = await Promise.all([endpoint(true), endpoint(true), endpoint(false)]);
  t.teardown(() => Promise.all([agent, ...pods].map((e) => e.close())));
  const child: ChildHandle = {
    spec: { name: 'kubelet-node-a', args: [], ready: agent.hostPort, alsoReady: pods.map((p) => p.hostPort) },
    process: running,
    tail: [],
    startedAt: performance.now(),
  };
  let done = false;
  const waiting = waitChildReady(child, 10_000).then(() => (done = true));
  await new Promise((r) => setTimeout(r, 300));
  t.ok(agent.hits >= 2, `the agent was probed (${agent.hits} times)`);
  t.same(
    pods.map((p) => p.hits),
    [0, 0, 0],
    'no pod probed while the agent is not ready',
  );
  agent.ready = true;
  await new Promise((r) => setTimeout(r, 300));
  t.notOk(done, 'one pod is not ready yet');
  t.equal(pods[0].hits, 1, 'a ready pod is probed once');
  t.equal(pods[1].hits, 1);
  t.ok(pods[2].hits >= 2, 'the pod not ready is probed again');
  pods[2].ready = true;
  await waiting;
  t.ok(done, 'ready once every pod answered');
});

t.test('the timeout names what was still not ready', async (t) => {
  const agent = await endpoint(false);
  const pod = await endpoint(true);
  t.teardown(() => Promise.all([agent.close(), pod.close()]));
  const child: ChildHandle = {
    spec: { name: 'kubelet-node-a', args: [], ready: agent.hostPort, alsoReady: [pod.hostPort] },
    process: running,
    tail: [],
    startedAt: performance.now(),
  };
  await t.rejects(waitChildReady(child, 200), new Error(`kubelet-node-a was not ready on ${agent.hostPort}/healthz/ready after 200 ms`));
  t.equal(pod.hits, 0);
});
