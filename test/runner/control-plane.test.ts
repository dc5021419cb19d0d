// A held mesh driven like a cluster (block 10.109): `up` starts istiod with the proxies and an
// API server, writes an owner-only kubeconfig, and `get`, `apply`, `delete` and `x status`
// work against it. Changes are all or nothing, reach every proxy (--wait says when), apply to
// the next request on a kept-alive connection (L7) and close open connections a new L4 policy
// denies. Only the admin certificate gets into the API; nothing is left behind at the end.
import t from 'tap';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as http from 'node:http';
import * as https from 'node:https';
import * as http2 from 'node:http2';
import * as path from 'node:path';
import { tempScenario, runCli, processesMentioning, simWith } from './fixtures/cli';
import { heldMeshScenario } from './fixtures/held-mesh';
import { makeClusterCredentials } from '../../src/identity/cluster-ca';
import { readKubeconfig } from '../../src/runner/kubeconfig';

const SCENARIO = heldMeshScenario('cp', 109);

const DENY_POST = `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata:
  name: echo-deny-post
  namespace: default
spec:
  targetRefs:
  - { kind: Service, group: "", name: echo }
  action: DENY
  rules:
  - to:
    - operation:
        methods: ["POST"]
`;

const DENY_SLEEP_L4 = `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata:
  name: tcp-echo-deny-sleep
  namespace: default
spec:
  selector: { matchLabels: { app: tcp-echo } }
  action: DENY
  rules:
  - from:
    - source:
        principals: ["cluster.local/ns/default/sa/sleep"]
`;

const WAYPOINT_GATEWAY = `apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata:
  name: waypoint
  namespace: default
spec:
  gatewayClassName: istio-waypoint
  listeners:
  - name: mesh
    port: 15008
    protocol: HBONE
`;

const BROKEN = `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: fine, namespace: default }
spec: { action: DENY, rules: [ { to: [ { operation: { methods: ["DELETE"] } } ] } ] }
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: broken, namespace: default }
spec:
  action: DENYY
`;

/** A POST through the capture to echo (through the waypoint while echo uses it): its status. */
function postEcho(agent: http.Agent | false, onSocket: (s: unknown) => void = () => undefined): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    const req = http.request({ host: '127.109.0.100', port: 8080, method: 'POST', path: '/echo', agent }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('socket', onSocket);
    req.on('error', reject);
    req.end('hello');
  });
}

t.test('a held mesh driven like a cluster', async (t) => {
  const tmp = tempScenario(SCENARIO, 'cp');
  const home = path.join(tmp.dir, 'home');
  const env = { HBONE_SIM_HOME: home };
  t.teardown(() => tmp.cleanup());
  const up = runCli(['up', tmp.file, '--ca-dir', tmp.caDir], { env });
  await up.waitForOutput(/kubeconfig: /, 30_000);
  const sim = simWith(env);
  const file = (name: string, text: string) => {
    const p = path.join(tmp.dir, name);
    fs.writeFileSync(p, text);
    return p;
  };

  t.test("the kubeconfig is the owner's only, and names the API server", async (t) => {
    const kubeconfig = path.join(home, 'meshes', 'cp', 'kubeconfig');
    t.equal(fs.statSync(kubeconfig).mode & 0o777, 0o600);
    t.equal(fs.statSync(path.dirname(kubeconfig)).mode & 0o777, 0o700);
    t.match(fs.readFileSync(kubeconfig, 'utf8'), /server: https:\/\/127\.0\.0\.1:\d+/);
  });

  t.test('get: kubectl columns and short names', async (t) => {
    const pods = sim('get', 'po', '-o', 'wide');
    t.equal(pods.code, 0, pods.err);
    t.match(pods.out, /^NAME +READY +STATUS +RESTARTS +IP +NODE\n/);
    t.match(pods.out, /sleep-7656cf8794-8tp9n +1\/1 +Running +0 +10\.109\.1\.1 +node-a/);
    t.match(sim('get', 'svc').out, /tcp-echo +ClusterIP +10\.109\.8\.2 +<none> +9000\/TCP/);
    t.match(sim('get', 'gtw').out, /waypoint +istio-waypoint +10\.109\.2\.9 +True/);
    t.match(sim('get', 'ns').out, /default +Active[\s\S]*istio-system +Active/);
    t.equal(sim('get', 'ap').err, 'No resources found in default namespace.\n');
    // A scenario's pods named as a Deployment's are one (sleep-7656cf8794-8tp9n is deploy/sleep).
    t.match(sim('get', 'deploy').out, /^NAME +READY +UP-TO-DATE +AVAILABLE\n[\s\S]*^sleep +1\/1 +1 +1$/m);
    t.match(sim('get', 'ns', '-o', 'yaml').out, /istio\.io\/dataplane-mode: ambient/, "a scenario's namespaces are in the mesh");
    const bad = sim('get', 'configmaps');
    t.equal(bad.code, 1);
    t.match(bad.err, /the server doesn't have a resource type "configmaps"/);
  });

  t.test('x status: every proxy SYNCED on every type it takes', async (t) => {
    const r = sim('x', 'status');
    t.equal(r.code, 0, r.err);
    t.match(r.out, /^NAME +TYPE +WDS +AUTHZ +RDS +VERSION\n/);
    t.match(r.out, /waypoint-7d9f8c6b5-xk2lp\.default +router +SYNCED +SYNCED +SYNCED/);
    t.match(r.out, /ztunnel-node-a\.istio-system +ztunnel +SYNCED +SYNCED +-/);
    t.match(r.out, /ztunnel-node-b\.istio-system +ztunnel +SYNCED +SYNCED +-/);
  });

  t.test("istioctl's views: x ztunnel-config and proxy-config, as tables and as the admin endpoint's JSON", async (t) => {
    const workloads = sim('x', 'ztunnel-config', 'workloads', '--node', 'node-b');
    t.equal(workloads.code, 0, workloads.err);
    t.match(workloads.out, /^NAMESPACE +POD NAME +ADDRESS +NODE +WAYPOINT +PROTOCOL\n/);
    t.match(workloads.out, /default +echo-5d8f6c7b9-abcde +10\.109\.2\.1 +node-b +None +HBONE/);
    const services = sim('x', 'ztunnel-config', 'services', '--node', 'node-a');
    t.match(services.out, /default +echo +10\.109\.8\.1 +waypoint-7d9f8c6b5-xk2lp +1\/1/);
    t.match(services.out, /default +tcp-echo +10\.109\.8\.2 +None +1\/1/);
    const certs = sim('x', 'ztunnel-config', 'certificates', '--node', 'node-a');
    t.match(certs.out, /spiffe:\/\/cluster\.local\/ns\/default\/sa\/sleep +Leaf +Available +true/);
    t.match(certs.out, /spiffe:\/\/cluster\.local\/ns\/default\/sa\/sleep +CA +Available +true/);
    const json = sim('x', 'ztunnel-config', 'policies', '--node', 'node-a', '-o', 'json');
    t.same(Object.keys(JSON.parse(json.out) as object), ['workloads', 'services', 'policies', 'certificates']);
    t.equal(sim('x', 'ztunnel-config', 'workloads').code, 2, '--node is needed');

    const listeners = sim('proxy-config', 'listeners', 'waypoint-7d9f8c6b5-xk2lp');
    t.equal(listeners.code, 0, listeners.err);
    t.match(listeners.out, /inbound_CONNECT_terminate +10\.109\.2\.9 +15008 +TCP/);
    t.match(listeners.out, /inbound_CONNECT_originate +- +- +internal/);
    const clusters = sim('proxy-config', 'clusters', 'waypoint-7d9f8c6b5-xk2lp');
    t.match(clusters.out, /echo\.default\.svc\.cluster\.local +8080 +http +inbound +EDS +inbound-vip\|8080\|http\|echo\.default\.svc\.cluster\.local/);
    const routes = sim('proxy-config', 'routes', 'waypoint-7d9f8c6b5-xk2lp');
    t.match(routes.out, /inbound-vip\|8080\|http\|echo\.default\.svc\.cluster\.local +inbound\|http\|8080 +\* +\/\*/);
    const wrong = sim('proxy-config', 'routes', 'ztunnel-node-a');
    t.equal(wrong.code, 2);
    t.match(wrong.err, /ztunnel-node-a is a ztunnel: use hbone-sim x ztunnel-config/);
    t.match(sim('proxy-config', 'routes', 'nope').err, /no proxy "nope" \(proxies: ztunnel-node-a, ztunnel-node-b, waypoint-7d9f8c6b5-xk2lp\)/);
  });

  t.test("exec: curl from inside a pod, with the pod's identity; curl's output and exit codes", async (t) => {
    const ok = sim('exec', 'deploy/sleep', '--', 'curl', '-s', '-o', '/dev/null', '-w', '%{http_code}', '-X', 'POST', '-d', 'x', 'http://echo:8080/echo');
    t.equal(ok.code, 0, ok.err);
    t.equal(ok.out, '200');
    const byName = sim('exec', 'sleep-7656cf8794-8tp9n', '--', 'curl', '-s', 'http://echo:8080/echo', '-d', 'hello');
    t.equal(byName.out, 'hello', 'the echo came back through the mesh');
    t.equal(
      sim('exec', 'deploy/sleep', '--', 'curl', '-s', '--max-time', '5', 'http://no-such-service:80/').code,
      97,
      'a name the mesh cannot resolve: curl 97 (refused in the capture handshake, where a cluster fails it in DNS)',
    );
    const missing = sim('exec', 'deploy/nope', '--', 'curl', 'http://echo:8080/');
    t.equal(missing.code, 1);
    t.match(missing.err, /deployments\.apps "nope" not found in namespace default/);
    t.match(sim('exec', 'deploy/waypoint', '--', 'curl', 'http://echo:8080/').err, /is a waypoint/);
    t.equal(sim('exec', 'deploy/sleep', '--', 'sh', '-c', 'id').code, 2, 'no shell in the pods');
  });

  t.test('trace --follow tells a request made by exec, hop by hop', async (t) => {
    const follow = runCli(['trace', '--follow', '--pod', 'sleep-7656cf8794-8tp9n'], { env });
    t.teardown(() => void follow.waitExit(5000).catch(() => undefined));
    await follow.waitForOutput(/following requests from sleep-7656cf8794-8tp9n/, 10_000);
    t.equal(sim('exec', 'deploy/sleep', '--', 'curl', '-s', '-d', 'hi', 'http://echo:8080/echo').out, 'hi');
    await follow.waitForOutput(/inbound_CONNECT_originate/, 10_000);
    const out = follow.stdout();
    t.match(out, /sleep-7656cf8794-8tp9n → echo\.default\.svc\.cluster\.local/);
    t.match(out, /ztunnel-node-a ⇒ HBONE CONNECT :authority 10\.109\.8\.1:8080 to 10\.109\.2\.9:15008/);
    t.match(out, /1 inbound_CONNECT_terminate/);
    t.match(out, /2 inbound-vip\|8080\|http\|echo\.default\.svc\.cluster\.local +POST \/echo/);
    process.kill(-follow.pid, 'SIGINT');
    t.equal((await follow.waitExit(5000)).code, 0, 'Ctrl-C ends it with exit 0');
  });

  t.test('trace --svg and --mermaid draw the next request from the pod as a sequence diagram', async (t) => {
    const svgFile = path.join(tmp.dir, 'trace.svg');
    const svg = runCli(['trace', '--svg', svgFile, '--pod', 'sleep-7656cf8794-8tp9n'], { env });
    await svg.waitForOutput(/following requests from sleep-7656cf8794-8tp9n/, 10_000);
    t.equal(sim('exec', 'deploy/sleep', '--', 'curl', '-s', 'http://echo:8080/hello').code, 0);
    const done = await svg.waitExit(10_000);
    t.equal(done.code, 0, svg.output());
    t.match(svg.stdout(), /^sleep-7656cf8794-8tp9n → echo\.default\.svc\.cluster\.local: written to /);
    const drawn = fs.readFileSync(svgFile, 'utf8');
    t.match(drawn, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
    for (const name of [
      'sleep-7656cf8794-8tp9n',
      'ztunnel-node-a',
      'waypoint-7d9f8c6b5-xk2lp',
      'ztunnel-node-b',
      'echo-5d8f6c7b9-abcde',
      'inbound_CONNECT_terminate',
    ])
      t.match(drawn, name, `the picture names ${name}`);

    const mermaid = runCli(['trace', '--mermaid', '--pod', 'sleep-7656cf8794-8tp9n'], { env });
    await mermaid.waitForOutput(/following requests from sleep-7656cf8794-8tp9n/, 10_000);
    t.equal(sim('exec', 'deploy/sleep', '--', 'curl', '-s', 'http://echo:8080/again').code, 0);
    t.equal((await mermaid.waitExit(10_000)).code, 0, mermaid.output());
    t.match(mermaid.stdout(), /^sequenceDiagram\n/);
    t.match(mermaid.stdout(), /Note over wp: 2 inbound-vip\|8080\|http\|echo\.default\.svc\.cluster\.local: GET \/again/);
    t.equal(sim('trace', '--svg', svgFile, '--follow').code, 2, '--follow and a picture: a usage error');
  });

  t.test("logs: a hosted pod's own lines, a proxy's, -f follows, unknown names are NotFound", async (t) => {
    // The mesh runs at HBONE_LOG=warn (the runner's default): refused CSRs and NACKs are warnings.
    const sleep = sim('logs', 'deploy/sleep', '--tail', '5');
    t.equal(sleep.code, 0, sleep.err);
    for (const line of sleep.out.split('\n').filter(Boolean)) t.match(line, /\tapp::sleep-7656cf8794-8tp9n\t/, "only the pod's own lines of its node agent");
    const istiod = sim('logs', 'istiod');
    t.equal(istiod.code, 0, istiod.err);
    const missing = sim('logs', 'nope');
    t.equal(missing.code, 1);
    t.match(missing.err, /NotFound.*no pod or process "nope" \(processes: istiod, ztunnel-node-a/);
    t.equal(sim('logs', 'istiod', '--tail', 'x').code, 2);
    const follow = runCli(['logs', '-f', '--tail', '0', 'istiod'], { env });
    await new Promise((r) => setTimeout(r, 500));
    // A request to istiod without a token: istiod warns, and the follower prints it.
    const root = fs.readFileSync(path.join(tmp.caDir, 'root-cert.pem'), 'utf8');
    await new Promise<void>((resolve) => {
      const s = http2.connect('https://127.109.255.1:15012', { ca: root, servername: 'istiod.istio-system.svc' });
      s.on('error', () => resolve());
      const req = s.request({ ':method': 'POST', ':path': '/istio.v1.auth.IstioCertificateService/CreateCertificate' });
      req.on('response', () => (s.destroy(), resolve()));
      req.on('error', () => resolve());
      req.end();
    });
    await follow.waitForOutput(/\twarn\tistiod\trequest refused: unauthenticated/, 5000);
    process.kill(-follow.pid, 'SIGINT');
    t.equal((await follow.waitExit(5000)).code, 0);
    t.match(
      sim('logs', 'istiod', '--tail', '1').out,
      /request refused: unauthenticated\tpath=\/istio\.v1\.auth\.IstioCertificateService\/CreateCertificate reason="no bearer token"\n$/,
    );
  });

  t.test('a bad document anywhere: nothing is applied, and the error names file:line: field', async (t) => {
    const r = sim('apply', '-f', file('broken.yaml', BROKEN));
    t.equal(r.code, 1);
    t.match(r.err, /broken\.yaml:10: \[1\]\.spec\.action: unknown action "DENYY"/);
    t.equal(sim('get', 'ap').err, 'No resources found in default namespace.\n', 'the sound document was not applied either');
  });

  t.test('L7: a DENY applies from the next request on the same kept-alive connection, and goes away with delete', async (t) => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    t.teardown(() => agent.destroy());
    const sockets = new Set<unknown>();
    const post = () => postEcho(agent, (s) => sockets.add(s));
    t.equal(await post(), 200);
    const applied = sim('apply', '-f', file('deny-post.yaml', DENY_POST), '--wait');
    t.equal(applied.code, 0, applied.err);
    t.match(applied.out, /^authorizationpolicy\.security\.istio\.io\/echo-deny-post created\n3 proxies ACKed version \S+ in \d+\.\d ms\n$/);
    t.equal(await post(), 403, 'denied on the connection that was allowed a moment ago');
    t.match(sim('get', 'ap').out, /echo-deny-post +DENY/);
    t.equal(sim('apply', '-f', path.join(tmp.dir, 'deny-post.yaml')).out, 'authorizationpolicy.security.istio.io/echo-deny-post unchanged\n');
    const deleted = sim('delete', '-f', path.join(tmp.dir, 'deny-post.yaml'), '--wait');
    t.match(deleted.out, /^authorizationpolicy\.security\.istio\.io "echo-deny-post" deleted\n3 proxies ACKed/);
    t.equal(await post(), 200);
    t.equal(sockets.size, 1, 'every request rode one kept-alive connection');
    // The dump's version_info is the istiod version the waypoint ACKed, as x status shows it.
    const dump = JSON.parse(sim('proxy-config', 'listeners', 'waypoint-7d9f8c6b5-xk2lp', '-o', 'json').out) as { configs: { version_info?: string }[] };
    const status = sim('x', 'status').out;
    const acked = /waypoint-7d9f8c6b5-xk2lp\.default +router +SYNCED +SYNCED +SYNCED +(\S+)/.exec(status)?.[1];
    t.match(acked, /\/3$/, `x status names the waypoint's version after two changes:\n${status}`);
    t.equal(dump.configs.find((c) => c.version_info !== undefined)?.version_info, acked, "the dump's version_info is the version the waypoint ACKed");
    const again = sim('delete', '-f', path.join(tmp.dir, 'deny-post.yaml'));
    t.equal(again.code, 1);
    t.match(again.err, /NotFound.*"echo-deny-post" not found/);
  });

  t.test('policy changes under load: nothing lost, no 5xx, 200 before the change and 403 once every proxy ACKed it', async (t) => {
    // 16 kept-alive connections in a closed loop through the waypoint, each request timed.
    const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });
    t.teardown(() => agent.destroy());
    const done: { status: number | string; start: number; end: number }[] = [];
    let stop = false;
    const one = () =>
      new Promise<void>((resolve) => {
        const start = performance.now();
        const req = http.request({ host: '127.109.0.100', port: 8080, method: 'POST', path: '/echo', agent }, (res) => {
          res.resume();
          res.on('end', () => {
            done.push({ status: res.statusCode ?? 0, start, end: performance.now() });
            resolve();
          });
        });
        req.on('error', (e: NodeJS.ErrnoException) => {
          done.push({ status: e.code ?? e.message, start, end: performance.now() });
          resolve();
        });
        req.end('x');
      });
    const loops = Array.from({ length: 16 }, async () => {
      while (!stop) await one();
    });
    const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));
    await pause(500);
    const t0 = performance.now();
    t.equal(sim('apply', '-f', path.join(tmp.dir, 'deny-post.yaml'), '--wait').code, 0);
    const t1 = performance.now();
    await pause(500);
    const t2 = performance.now();
    t.equal(sim('delete', '-f', path.join(tmp.dir, 'deny-post.yaml'), '--wait').code, 0);
    const t3 = performance.now();
    await pause(500);
    stop = true;
    await Promise.all(loops);
    const odd = done.filter((d) => d.status !== 200 && d.status !== 403);
    t.same(odd, [], `only 200 and 403 among ${done.length} requests: no error, no 5xx`);
    t.ok(done.length > 200, `${done.length} requests`);
    t.same(
      done.filter((d) => d.end < t0 && d.status !== 200),
      [],
      'every request answered before the apply was 200',
    );
    t.same(
      done.filter((d) => d.start > t1 && d.end < t2 && d.status !== 403),
      [],
      'every request sent after every proxy ACKed the DENY was 403',
    );
    t.same(
      done.filter((d) => d.start > t3 && d.status !== 200),
      [],
      'every request sent after the delete was ACKed was 200 again',
    );
  });

  t.test('istiod killed after an apply comes back with the applied configuration, not the file', async (t) => {
    const post = () => postEcho(false);
    t.equal(sim('apply', '-f', path.join(tmp.dir, 'deny-post.yaml'), '--wait').code, 0);
    const istiod = processesMentioning(tmp.dir).find((p) => / istiod /.test(p.cmdline.replace(/\0/g, ' ')));
    t.ok(istiod, 'found istiod');
    process.kill(istiod!.pid, 'SIGKILL');
    await up.waitForOutput(/istiod[^\n]*(Started|restarted|Running)/i, 15_000).catch(() => undefined);
    // Back when every proxy is connected to the new istiod and SYNCED again.
    let status = '';
    for (let i = 0; i < 100; i++) {
      status = sim('x', 'status').out;
      const rows = status.split('\n').filter((l) => /SYNCED/.test(l));
      if (rows.length === 3 && !/STALE|NOT SENT/.test(status)) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    t.equal(status.split('\n').filter((l) => /SYNCED/.test(l)).length, 3, `every proxy back on the new istiod:\n${status}`);
    t.equal(await post(), 403, 'the DENY applied before the crash still holds');
    t.match(sim('get', 'ap').out, /echo-deny-post +DENY/);
    t.equal(sim('delete', '-f', path.join(tmp.dir, 'deny-post.yaml'), '--wait').code, 0);
    t.equal(await post(), 200);
  });

  t.test('label: istio.io/use-waypoint moves a Service onto its waypoint and off it, from the next connection', async (t) => {
    const post = () => postEcho(false);
    t.equal(sim('apply', '-f', path.join(tmp.dir, 'deny-post.yaml'), '--wait').code, 0);
    t.equal(await post(), 403, 'through the waypoint, its DENY holds');
    const off = sim('label', 'svc', 'echo', 'istio.io/use-waypoint-');
    t.equal(off.code, 0, off.err);
    t.equal(off.out, 'service/echo unlabeled\n');
    t.equal(await post(), 200, 'straight to the pod: a policy attached to the waypoint does not apply');
    const refused = sim('label', 'svc', 'echo', 'istio.io/use-waypoint=waypoint', 'app=x');
    t.equal(refused.code, 0, 'adding labels needs no --overwrite');
    t.equal(sim('label', 'svc', 'echo', 'app=y').code, 1, 'changing one does');
    t.match(sim('label', 'svc', 'echo', 'app=y').err, /'app' already has a value \(x\), and --overwrite is false/);
    t.equal(await post(), 403, 'back through the waypoint');
    t.equal(sim('label', 'svc', 'echo', 'app-').out, 'service/echo unlabeled\n');
    t.equal(sim('label', 'svc', 'nope', 'a=b').code, 1);
    t.equal(sim('delete', '-f', path.join(tmp.dir, 'deny-post.yaml'), '--wait').code, 0);
  });

  t.test('L4: an open connection a new policy denies is closed within a second; new ones are refused', async (t) => {
    const c = net.connect({ host: '127.109.0.100', port: 9000 });
    await new Promise<void>((resolve, reject) => c.once('connect', resolve).once('error', reject));
    c.write('ping');
    await new Promise((resolve) => c.once('data', resolve));
    const closed = new Promise<{ how: string; at: number }>((resolve) => {
      c.once('error', (e: NodeJS.ErrnoException) => resolve({ how: e.code ?? e.message, at: performance.now() }));
      c.once('close', () => resolve({ how: 'close', at: performance.now() }));
    });
    c.resume();
    const applied = sim('apply', '-f', file('deny-l4.yaml', DENY_SLEEP_L4), '--wait');
    const ackedAt = performance.now();
    t.equal(applied.code, 0, applied.err);
    const outcome = await Promise.race([closed, new Promise<{ how: string; at: number }>((r) => setTimeout(() => r({ how: 'still open', at: 0 }), 3000))]);
    t.not(outcome.how, 'still open', 'the open connection was closed');
    t.ok(outcome.at - ackedAt < 1000, `closed ${(outcome.at - ackedAt).toFixed(0)} ms after the ACK`);
    const fresh = await new Promise<string>((resolve) => {
      const s = net.connect({ host: '127.109.0.100', port: 9000 });
      s.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
      s.on('close', () => resolve('closed'));
      s.on('data', () => resolve('data'));
      s.write('ping');
    });
    t.not(fresh, 'data', `a new connection is refused (${fresh})`);
    const denied = sim('exec', 'deploy/sleep', '--', 'curl', '-sS', '--max-time', '5', 'http://tcp-echo:9000/');
    t.equal(denied.code, 56, 'exec: the capture accepted the connection, the policy reset it: curl exit 56, as in a cluster');
    t.match(denied.err, /curl: \(56\) Recv failure: Connection reset by peer/);
    t.equal(sim('delete', '-f', path.join(tmp.dir, 'deny-l4.yaml'), '--wait').code, 0);
  });

  t.test('a waypoint Gateway: delete stops its process and traffic goes direct; apply deploys a new one, ready before any proxy hears of it', async (t) => {
    const post = () => postEcho(false);
    const waypointProcesses = () => processesMentioning(tmp.dir).filter((p) => / waypoint .*--pod /.test(p.cmdline.replace(/\0/g, ' ')));
    t.equal(sim('apply', '-f', path.join(tmp.dir, 'deny-post.yaml'), '--wait').code, 0);
    t.equal(await post(), 403, 'through the waypoint, its DENY holds');
    const gateway = file('waypoint-gateway.yaml', WAYPOINT_GATEWAY);

    const deleted = sim('delete', '-f', gateway, '--wait');
    t.equal(deleted.code, 0, deleted.err);
    t.match(
      deleted.out,
      /^gateway\.gateway\.networking\.k8s\.io "waypoint" deleted\n3 proxies ACKed/,
      'the waypoint too ACKs the change that removes it, then stops',
    );
    t.same(waypointProcesses(), [], 'the waypoint process stopped');
    t.equal(sim('get', 'gtw').err, 'No resources found in default namespace.\n');
    t.notMatch(sim('get', 'po').out, /waypoint-/, 'its pod went with it');
    t.equal(await post(), 200, 'echo is reached directly: the DENY attached to the waypoint no longer applies');
    t.match(sim('x', 'ztunnel-config', 'services', '--node', 'node-a').out, /default +echo +10\.109\.8\.1 +None +1\/1/);

    const applied = sim('apply', '-f', gateway, '--wait');
    t.equal(applied.code, 0, applied.err);
    const m =
      /^gateway\.gateway\.networking\.k8s\.io\/waypoint created\nwaypoint default\/waypoint: pod (waypoint-[a-z0-9]{10}-[a-z0-9]{5}) on node-a \((10\.109\.1\.\d+)\), ready in \d+ ms\n3 proxies ACKed/.exec(
        applied.out,
      );
    t.ok(m, `a new pod, named as its Deployment's, on the node with the fewest pods:\n${applied.out}`);
    const [, pod, ip] = m ?? [];
    t.equal(waypointProcesses().length, 1, 'one waypoint process again');
    t.match(sim('get', 'gtw').out, new RegExp(`waypoint +istio-waypoint +${ip?.replace(/\./g, '\\.')} +True`));
    t.match(sim('get', 'po', '-o', 'wide').out, new RegExp(`${pod} +1/1 +Running +0 +${ip?.replace(/\./g, '\\.')} +node-a`));
    t.match(sim('x', 'status').out, new RegExp(`${pod}\\.default +router +SYNCED +SYNCED +SYNCED`), 'it took its configuration from istiod');
    t.equal(await post(), 403, "echo's traffic goes through the new waypoint, and the DENY attached to it holds");
    t.equal(sim('apply', '-f', gateway).out, 'gateway.gateway.networking.k8s.io/waypoint unchanged\n');
    t.equal(sim('delete', '-f', path.join(tmp.dir, 'deny-post.yaml'), '--wait').code, 0);
    t.equal(await post(), 200);
  });

  t.test('the API takes the admin certificate only', async (t) => {
    // This process reads the kubeconfig as the commands do, from the same home.
    process.env.HBONE_SIM_HOME = home;
    t.teardown(() => delete process.env.HBONE_SIM_HOME);
    const access = readKubeconfig('cp');
    const status = (opts: https.RequestOptions) =>
      new Promise<string>((resolve) => {
        const req = https.request(new URL('/get?resource=pods', access.server), { ...opts, ca: access.caPem, agent: false }, (res) => {
          res.resume();
          resolve(String(res.statusCode));
        });
        req.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
        req.end();
      });
    t.equal(await status({ cert: access.certPem, key: access.keyPem }), '200');
    t.not(await status({}), '200', 'no client certificate');
    const other = await makeClusterCredentials('127.0.0.1');
    t.not(await status({ cert: other.admin.certPem, key: other.admin.keyPem }), '200', "another cluster's admin");
  });

  t.test('Ctrl-C: the mesh stops, the kubeconfig goes, nothing is left', async (t) => {
    process.kill(-up.pid, 'SIGINT');
    const exit = await up.waitExit(20_000);
    t.equal(exit.code, 130);
    t.notOk(fs.existsSync(path.join(home, 'meshes', 'cp')), 'kubeconfig removed');
    t.same(processesMentioning(tmp.dir), []);
    const after = sim('get', 'po');
    t.equal(after.code, 2);
    t.match(after.err, /no mesh is running/);
  });
});
