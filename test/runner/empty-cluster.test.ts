// `hbone-sim up` with no scenario (block 10.244, kind's pod network): an empty cluster as `kind
// create cluster` makes one, kind's node names, istiod and a ztunnel per node, no pods, ready
// for apply; --nodes sizes it. Ctrl-C leaves no process and no file behind.
import t from 'tap';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runCli, processesMentioning, simWith } from './fixtures/cli';
import { emptyClusterYaml, kindNodeNames } from '../../src/mesh/empty-cluster';
import { parseScenario } from '../../src/mesh/load';

const DENY_ALL = `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: allow-nothing, namespace: default }
spec: {}
`;

t.test("kind's node names, and a cluster the loader takes", async (t) => {
  t.same(kindNodeNames(4), ['kind-control-plane', 'kind-worker', 'kind-worker2', 'kind-worker3']);
  const s = parseScenario(emptyClusterYaml(), 'kind.yaml');
  t.same(
    s.nodes.map((n) => [n.name, n.ip]),
    [
      ['kind-control-plane', '10.244.0.1'],
      ['kind-worker', '10.244.0.2'],
      ['kind-worker2', '10.244.0.3'],
    ],
  );
  t.equal(s.workloads.length, 0);
  t.throws(() => emptyClusterYaml(0), /1 to 8 nodes/);
  t.throws(() => emptyClusterYaml(9), /1 to 8 nodes/);
});

t.test('up with no scenario: an empty cluster, ready for apply', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hbone-empty-cluster-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const caDir = path.join(dir, 'ca');
  const env = { HBONE_SIM_HOME: path.join(dir, 'home') };
  const sim = simWith(env);
  const tooMany = sim('up', '--nodes', '9');
  t.equal(tooMany.code, 2);
  t.match(tooMany.err, /--nodes needs a whole number from 1 to 8, not "9"/);
  const withScenario = sim('up', 'echo', '--nodes', '2');
  t.equal(withScenario.code, 2);
  t.match(withScenario.err, /--nodes sizes an empty cluster: it cannot go with a scenario/);

  const before = fs.readdirSync(os.tmpdir()).filter((f) => f.startsWith('hbone-sim-kind-'));
  const up = runCli(['up', '--nodes', '2', '--ca-dir', caDir], { env });
  await up.waitForOutput(/No pods yet\. Try:/, 30_000);
  const out = up.output();
  t.match(out, /scenario kind \(.*kind\.yaml\): 2 nodes, 0 pods, 0 services/);
  t.match(out, /mesh ready in \d+ ms: 3 processes/);
  t.notMatch(out, /expectations held|SOCKS5 per pod|Node agents/, 'nothing said about what an empty cluster has not got');

  const nodes = sim('get', 'nodes', '-o', 'wide');
  t.equal(nodes.code, 0, nodes.err);
  t.match(
    nodes.out,
    /^NAME +STATUS +ROLES +INTERNAL-IP\nkind-control-plane +Ready +control-plane +10\.244\.0\.1\nkind-worker +Ready +<none> +10\.244\.0\.2\n$/,
  );
  t.equal(sim('get', 'po', '-A').err, 'No resources found\n');
  const status = sim('x', 'status');
  t.match(status.out, /ztunnel-kind-control-plane\.istio-system +ztunnel +SYNCED +SYNCED/);
  t.match(status.out, /ztunnel-kind-worker\.istio-system +ztunnel +SYNCED +SYNCED/);

  const policy = path.join(dir, 'allow-nothing.yaml');
  fs.writeFileSync(policy, DENY_ALL);
  const applied = sim('apply', '-f', policy, '--wait');
  t.equal(applied.code, 0, applied.err);
  t.match(applied.out, /^authorizationpolicy\.security\.istio\.io\/allow-nothing created\n2 proxies ACKed version \S+ in [\d.]+ ms\n$/);
  const policies = sim('x', 'ztunnel-config', 'policies', '--node', 'kind-worker');
  t.match(policies.out, /default +allow-nothing +Allow +Namespace/, "the worker's ztunnel has it");

  // Pods applied live: scheduled, enrolled with their node's ztunnel, hosted by its node agent.
  const pods = path.join(dir, 'pods.yaml');
  fs.writeFileSync(
    pods,
    `apiVersion: v1
kind: Pod
metadata: { name: curl, labels: { app: curl } }
spec:
  serviceAccountName: curl
  containers: [ { name: curl, image: curlimages/curl:8.9.1 } ]
---
apiVersion: v1
kind: Pod
metadata: { name: echo, labels: { app: echo } }
spec:
  nodeName: kind-worker
  containers: [ { name: echo, image: hashicorp/http-echo, ports: [ { containerPort: 5678 } ] } ]
`,
  );
  const podsApplied = sim('apply', '-f', pods);
  t.equal(podsApplied.code, 0, podsApplied.err);
  t.match(
    podsApplied.out,
    /^pod\/curl created\npod\/echo created\npod default\/curl: on kind-control-plane \(10\.244\.1\.1\), running in \d+ ms\npod default\/echo: on kind-worker \(10\.244\.2\.1\), running in \d+ ms\n$/,
  );
  t.match(sim('get', 'po', '-o', 'wide').out, /curl +1\/1 +Running +0 +10\.244\.1\.1 +kind-control-plane\necho +1\/1 +Running +0 +10\.244\.2\.1 +kind-worker/);
  const denied = sim('exec', 'curl', '--', 'curl', '-sS', 'http://10.244.2.1:5678/');
  t.equal(denied.code, 56, 'the allow-nothing policy applied above holds for the new pods too: reset, curl exit 56');
  t.equal(sim('delete', '-f', policy, '--wait').code, 0);
  const reached = sim('exec', 'curl', '--', 'curl', '-sS', '-o', '/dev/null', '-w', '%{http_code}', 'http://10.244.2.1:5678/');
  t.equal(reached.out, '200', `curl (a pod applied live) reaches echo on another node over HBONE: ${reached.err}`);
  t.match(
    sim('x', 'ztunnel-config', 'certificates', '--node', 'kind-worker').out,
    /spiffe:\/\/cluster\.local\/ns\/default\/sa\/default +Leaf +Available +true/,
    "echo's certificate, from istiod, on its ztunnel",
  );
  const deleted = sim('delete', '-f', pods);
  t.equal(deleted.out, 'pod "curl" deleted\npod "echo" deleted\n');
  t.equal(sim('get', 'po').err, 'No resources found in default namespace.\n');

  const made = fs.readdirSync(os.tmpdir()).filter((f) => f.startsWith('hbone-sim-kind-') && !before.includes(f));
  t.equal(made.length, 1, "the cluster's scenario file, for its processes");
  process.kill(-up.pid, 'SIGINT');
  t.equal((await up.waitExit(20_000)).code, 130);
  t.same(processesMentioning(made[0]), [], 'no process left');
  t.notOk(fs.existsSync(path.join(os.tmpdir(), made[0])), 'the scenario file went with the cluster');
  t.notOk(fs.existsSync(path.join(dir, 'home', 'meshes', 'kind')), 'and so did the kubeconfig');
});
