// `hbone-sim up` with no scenario (block 10.244, kind's pod network): an empty cluster as `kind
// create cluster` makes one, kind's node names, istiod and a ztunnel per node, no pods, ready
// for apply; --nodes sizes it. Ctrl-C leaves no process and no file behind. Istio's samples
// (bookinfo.yaml and curl.yaml, in their shape) applied to it give the bookinfo mesh; scale moves
// endpoints.
import t from 'tap';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as http from 'node:http';
import { killGroup, runCli, processesMentioning, simWith } from './fixtures/cli';
import { emptyClusterYaml, kindNodeNames } from '../../src/mesh/empty-cluster';
import { parseScenario } from '../../src/mesh/load';
import { bookinfoYaml, curlYaml } from '../fixtures/sample-manifests';

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
  // A new cluster's namespaces are not in the mesh: no ztunnel captures them, no policy holds.
  const outside = sim('exec', 'curl', '--', 'curl', '-sS', '-o', '/dev/null', '-w', '%{http_code}', 'http://10.244.2.1:5678/');
  t.equal(outside.out, '200', `outside the mesh, allow-nothing does not apply: ${outside.err}`);
  t.match(sim('x', 'ztunnel-config', 'workloads', '--node', 'kind-worker').out, /echo +10\.244\.2\.1 +kind-worker +None +TCP/);
  const enrolled = sim('label', 'namespace', 'default', 'istio.io/dataplane-mode=ambient');
  t.equal(enrolled.out, 'namespace/default labeled\n', enrolled.err);
  t.match(sim('x', 'ztunnel-config', 'workloads', '--node', 'kind-worker').out, /echo +10\.244\.2\.1 +kind-worker +None +HBONE/);
  const denied = sim('exec', 'curl', '--', 'curl', '-sS', 'http://10.244.2.1:5678/');
  t.equal(denied.code, 56, 'enrolled, the allow-nothing policy applied above holds for the new pods too: reset, curl exit 56');
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

t.test("Istio's samples applied to an empty cluster give bookinfo; scale moves endpoints", async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hbone-samples-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const env = { HBONE_SIM_HOME: path.join(dir, 'home') };
  const sim = simWith(env);
  const up = runCli(['up', '--ca-dir', path.join(dir, 'ca')], { env });
  t.teardown(() => killGroup(up.pid));
  await up.waitForOutput(/No pods yet\. Try:/, 30_000);
  const bookinfo = path.join(dir, 'bookinfo.yaml');
  const curl = path.join(dir, 'curl.yaml');
  fs.writeFileSync(bookinfo, bookinfoYaml());
  fs.writeFileSync(curl, curlYaml());

  const applied = sim('apply', '-f', bookinfo, '-f', curl);
  t.equal(applied.code, 0, applied.err);
  t.match(applied.out, /^service\/details created\nserviceaccount\/bookinfo-details created\ndeployment\.apps\/details-v1 created\n/);
  t.match(applied.out, /\ndeployment\.apps\/curl created\n/);
  t.equal(applied.out.match(/^pod default\/\S+: on kind-\S+ \(10\.244\.\d\.\d+\), running in \d+ ms$/gm)?.length, 7, applied.out);
  const deployments = sim('get', 'deploy');
  t.match(deployments.out, /^NAME +READY +UP-TO-DATE +AVAILABLE\ncurl +1\/1 +1 +1\ndetails-v1 +1\/1/);
  t.match(sim('get', 'svc').out, /productpage +ClusterIP +10\.96\.\d+\.\d+ +<none> +9080\/TCP/);

  const page = sim('exec', 'deploy/curl', '--', 'curl', '-sS', 'http://productpage:9080/productpage');
  t.equal(page.code, 0, page.err);
  t.match(page.out, /<title>Simple Bookstore App<\/title>/, 'outside the mesh: plain TCP by the cluster DNS and kube-proxy');
  t.match(page.out, /Reviewer1/, 'productpage reached reviews by its Service name');
  t.match(sim('x', 'ztunnel-config', 'certificates', '--node', 'kind-worker').out, /^CERTIFICATE NAME/, 'no pod is in the mesh yet');
  t.notMatch(sim('x', 'ztunnel-config', 'certificates', '--node', 'kind-worker').out, /spiffe:/);
  t.equal(sim('label', 'namespace', 'default', 'istio.io/dataplane-mode=ambient').code, 0);
  const meshed = sim('exec', 'deploy/curl', '--', 'curl', '-sS', 'http://productpage:9080/productpage');
  t.match(meshed.out, /<title>Simple Bookstore App<\/title>/, 'in the mesh: the same page over HBONE');
  const opened = sim('x', 'ztunnel-config', 'certificates', '--node', 'kind-worker2');
  t.match(opened.out, /spiffe:\/\/cluster\.local\/ns\/default\/sa\/bookinfo-productpage +Leaf +Available/, 'enrolled pods got their certificates');

  // The browser's way in: kubectl port-forward to the Service (its targetPort on a running pod).
  const forward = runCli(['port-forward', 'svc/productpage', ':9080'], { env });
  t.teardown(() => killGroup(forward.pid));
  await forward.waitForOutput(/Forwarding from 127\.0\.0\.1:\d+ -> 9080\n/, 10_000);
  const localPort = Number(/127\.0\.0\.1:(\d+)/.exec(forward.output())![1]);
  const viaForward = await new Promise<string>((resolve, reject) =>
    http
      .get(`http://127.0.0.1:${localPort}/productpage`, (res) => {
        let body = '';
        res.setEncoding('utf8').on('data', (c: string) => (body += c));
        res.on('end', () => resolve(body));
      })
      .on('error', reject),
  );
  t.match(viaForward, /<title>Simple Bookstore App<\/title>/, 'port-forward svc/productpage: the page in a browser');
  t.match(forward.output(), /Handling connection for \d+/);
  process.kill(-forward.pid, 'SIGINT');
  t.equal((await forward.waitExit(5000)).code, 0);
  t.equal(sim('port-forward', 'svc/nope', '9080').err, 'Error from server (NotFound): services "nope" not found\n');

  /** The pods that answered `n` requests to reviews. */
  const reviewers = (n: number): Set<string> => {
    const seen = new Set<string>();
    for (let i = 0; i < n; i++) {
      const r = sim('exec', 'deploy/curl', '--', 'curl', '-sS', 'http://reviews:9080/reviews/0');
      const podname = /"podname":"([^"]+)"/.exec(r.out)?.[1];
      if (podname) seen.add(podname);
    }
    return seen;
  };
  const scaled = sim('scale', 'deploy/reviews-v1', '--replicas', '3');
  t.equal(scaled.code, 0, scaled.err);
  t.match(scaled.out, /^deployment\.apps\/reviews-v1 scaled\n(pod default\/reviews-v1-\w+-\w+: on kind-\S+ \(10\.244\.\d\.\d+\), running in \d+ ms\n){2}$/);
  const v1 = sim('get', 'po', '-l', 'app=reviews,version=v1').out.trim().split('\n').slice(1);
  t.equal(v1.length, 3, `get -l: three reviews-v1 pods\n${v1.join('\n')}`);
  const five = reviewers(10);
  t.equal(five.size, 5, `ztunnel balances over the 5 endpoints: ${[...five].join(' ')}`);
  t.equal([...five].filter((p) => p.startsWith('reviews-v1-')).length, 3);
  t.equal(sim('scale', 'deploy/reviews-v1', '--replicas', '0').code, 0);
  t.match(sim('get', 'deploy', 'reviews-v1').out, /^NAME +READY +UP-TO-DATE +AVAILABLE\nreviews-v1 +0\/0 +0 +0\n$/);
  t.equal(sim('get', 'deploy/nope').err, 'Error from server (NotFound): deployments.apps "nope" not found\n');
  const left = reviewers(4);
  t.same(
    [...left].filter((p) => p.startsWith('reviews-v1-')),
    [],
    `scaled to 0, reviews-v1 answers no more: ${[...left].join(' ')}`,
  );
  const badScale = sim('scale', 'deploy/nope', '--replicas', '1');
  t.equal(badScale.code, 1);
  t.equal(badScale.err, 'Error from server (NotFound): deployments.apps "nope" not found in namespace default\n');

  // kill -9 of the node agent hosting productpage (applied live): the kubelet comes back with
  // the API server's pods, not the empty cluster's none.
  const agents = processesMentioning('--node kind-worker2').filter((p) => / node --scenario \S*hbone-sim-kind-/.test(p.cmdline));
  t.equal(agents.length, 1, agents.map((p) => p.cmdline).join('\n'));
  process.kill(agents[0].pid, 'SIGKILL');
  let back = '';
  for (const deadline = Date.now() + 20_000; Date.now() < deadline && !back.includes('<title>Simple Bookstore App</title>');) {
    await new Promise((r) => setTimeout(r, 500));
    back = sim('exec', 'deploy/curl', '--', 'curl', '-sS', '--max-time', '3', 'http://productpage:9080/productpage').out;
  }
  t.match(back, /<title>Simple Bookstore App<\/title>/, 'productpage is served again after its node agent restarted');
  t.match(up.output(), /kubelet-kind-worker2|node agent resynced/);

  const deleted = sim('delete', '-f', bookinfo);
  t.equal(deleted.code, 0, deleted.err);
  t.match(deleted.out, /deployment\.apps "productpage-v1" deleted\n$/);
  t.same(
    sim('get', 'po')
      .out.trim()
      .split('\n')
      .slice(1)
      .map((l) => l.split(/ +/)[0].replace(/-\w+-\w+$/, '')),
    ['curl'],
    "bookinfo's pods are gone; curl's stays",
  );
  process.kill(-up.pid, 'SIGINT');
  t.equal((await up.waitExit(20_000)).code, 130);
});
