import t from 'tap';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadScenario, parseScenario, repoRoot, resolveScenarioFile, ScenarioError } from '../../src/mesh/load';
import { hostAddress, selects, spiffeIdOf } from '../../src/mesh/model';

const ROOT = path.resolve(__dirname, '../..');

t.test('bookinfo-l4 loads by name with the seed addresses and identities', async (t) => {
  const s = loadScenario('bookinfo-l4');
  t.equal(s.name, 'bookinfo-l4');
  t.equal(s.file, path.join(ROOT, 'scenarios/bookinfo-l4.yaml'));
  t.equal(s.trustDomain, 'cluster.local');
  t.same(
    s.nodes.map((n) => [n.name, n.ip]),
    [
      ['node-a', '10.1.0.1'],
      ['node-b', '10.1.0.2'],
      ['node-c', '10.1.0.3'],
    ],
  );
  t.same(
    s.workloads.map((w) => w.workloadName),
    ['productpage-v1', 'details-v1', 'reviews-v1', 'reviews-v2', 'reviews-v3', 'ratings-v1', 'sleep', 'notsleep'],
  );
  const byWorkload = new Map(s.workloads.map((w) => [w.workloadName, w]));
  const productpage = byWorkload.get('productpage-v1')!;
  t.equal(productpage.ip, '10.4.0.5');
  t.equal(hostAddress(productpage.ip), '127.4.0.5');
  t.same(productpage.app, { kind: 'productpage', port: 9080 });
  t.same(productpage.labels, { app: 'productpage', version: 'v1' });
  t.equal(spiffeIdOf(productpage, s.trustDomain), 'spiffe://cluster.local/ns/default/sa/bookinfo-productpage');
  t.same(
    ['details-v1', 'reviews-v2', 'ratings-v1', 'sleep', 'notsleep'].map((w) => byWorkload.get(w)!.serviceAccount),
    ['bookinfo-details', 'bookinfo-reviews', 'bookinfo-ratings', 'sleep', 'notsleep'],
  );
  t.not(byWorkload.get('sleep')!.node, productpage.node, 'the client is on another node, as in the seed');
  for (const w of s.workloads) {
    t.equal(w.namespace, 'default');
    t.match(w.ip, /^10\.4\.\d+\.\d+$/);
  }

  t.same(
    s.services.map((v) => [v.name, v.vip, v.ports]),
    [
      ['productpage', '10.8.4.226', [{ name: 'http', port: 9080, targetPort: 9080 }]],
      ['details', '10.8.1.174', [{ name: 'http', port: 9080, targetPort: 9080 }]],
      ['reviews', '10.8.6.42', [{ name: 'http', port: 9080, targetPort: 9080 }]],
      ['ratings', '10.8.12.9', [{ name: 'http', port: 9080, targetPort: 9080 }]],
    ],
  );
  const reviews = s.services.find((v) => v.name === 'reviews')!;
  t.equal(s.workloads.filter((w) => selects(reviews.selector, w.labels)).length, 3, 'reviews selects v1, v2 and v3');

  t.same(s.captures, [{ listen: { address: '127.0.0.1', port: 15101 }, source: byWorkload.get('sleep')!.name, target: 'productpage:9080' }]);

  t.equal(s.policies.length, 1);
  const policy = s.policies[0];
  t.equal(policy.apiVersion, 'security.istio.io/v1');
  t.equal(policy.kind, 'AuthorizationPolicy');
  t.same(policy.metadata, { name: 'productpage-viewer', namespace: 'default' });
  t.same(policy.spec, {
    selector: { matchLabels: { app: 'productpage' } },
    action: 'ALLOW',
    rules: [
      {
        from: [{ source: { principals: ['cluster.local/ns/default/sa/sleep', 'cluster.local/ns/istio-system/sa/istio-ingressgateway-service-account'] } }],
      },
    ],
  });
  t.match(policy.origin, /^scenarios\/bookinfo-l4\.yaml:\d+$/);

  const sleep = byWorkload.get('sleep')!.name;
  const notsleep = byWorkload.get('notsleep')!.name;
  t.same(
    s.expect.map((e) => [e.from, e.to, e.outcome]),
    [
      [sleep, 'http://productpage:9080/productpage', 200],
      [notsleep, 'http://productpage:9080/productpage', 'denied'],
      [sleep, 'http://details:9080/details/0', 200],
      [sleep, 'http://10.8.4.226:9080/productpage', 200],
    ],
  );
  for (const e of s.expect) t.match(e.origin, /^scenarios\/bookinfo-l4\.yaml:\d+$/);
});

t.test('echo loads with a raw TCP expectation', async (t) => {
  const s = loadScenario('echo');
  t.equal(s.nodes.length, 2);
  t.same(
    s.workloads.map((w) => [w.name, w.node, w.app.kind, w.app.port]),
    [
      ['sleep', 'node-a', 'sleep', 80],
      ['echo', 'node-b', 'echo', 8080],
    ],
  );
  t.same(
    s.services.map((v) => [v.name, v.ports]),
    [['echo', [{ name: 'tcp', port: 8080, targetPort: 8080 }]]],
  );
  t.same(s.policies, []);
  t.same(s.captures, []);
  t.same(
    s.expect.map((e) => [e.from, e.to, e.outcome]),
    [['sleep', 'echo:8080', 'connected']],
  );
});

t.test('a path loads the same file; the model names it absolutely', async (t) => {
  const byPath = loadScenario(path.join(ROOT, 'scenarios/echo.yaml'));
  t.equal(byPath.file, loadScenario('echo').file);
  t.equal(resolveScenarioFile('bookinfo'), path.join(ROOT, 'scenarios/bookinfo.yaml'));
});

t.test('the repo root is found from src/mesh and from dist/src/mesh', async (t) => {
  t.equal(repoRoot(path.join(ROOT, 'src/mesh')), ROOT);
  t.equal(repoRoot(path.join(ROOT, 'dist/src/mesh')), ROOT);
  t.equal(repoRoot(), ROOT);
});

t.test('an unknown scenario name says which ones exist', async (t) => {
  t.throws(() => loadScenario('no-such-scenario'), ScenarioError);
  t.throws(() => loadScenario('no-such-scenario'), {
    message: /no such scenario file .*no-such-scenario\.yaml \(bundled scenarios: bookinfo, bookinfo-ambient, bookinfo-l4, echo/,
  });
});

t.test('parseScenario names the file it is given in origins', async (t) => {
  const text = fs.readFileSync(path.join(ROOT, 'scenarios/echo.yaml'), 'utf8');
  const s = parseScenario(text, 'elsewhere/echo.yaml');
  t.equal(s.file, 'elsewhere/echo.yaml');
  t.match(s.expect[0].origin, /^elsewhere\/echo\.yaml:\d+$/);
});
