// A scenario built from a node layout plus ordinary manifests (`manifests:`): the samples give
// bookinfo's pods and Services, the same in every process that loads the file; a Namespace
// among them keeps its own enrollment; problems name the manifest's line, or the scenario's
// manifests[i] for what the API server would refuse.
import t from 'tap';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadScenario, ScenarioError } from '../../src/mesh/load';
import { MAX_MANIFEST_FILES } from '../../src/mesh/limits';
import { bookinfoGatewayYaml, bookinfoYaml, curlYaml } from '../fixtures/sample-manifests';
import { childSpecs } from '../../src/runner/run';

const LAYOUT = (manifests: string[]) => `name: from-manifests
nodes:
  - { name: node-a, ip: 10.116.0.1 }
  - { name: node-b, ip: 10.116.0.2 }
workloads: []
manifests:
${manifests.map((m) => `  - ${m}\n`).join('')}`;

function scenarioIn(dir: string, manifests: string[], files: Record<string, string>): string {
  for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), text);
  const file = path.join(dir, 'scenario.yaml');
  fs.writeFileSync(file, LAYOUT(manifests));
  return file;
}

const problemsOf = (file: string): string[] => {
  try {
    loadScenario(file);
    return [];
  } catch (err) {
    if (err instanceof ScenarioError) return err.message.split('\n');
    throw err;
  }
};

t.test('the samples make the scenario, the same each time it is loaded', async (t) => {
  const file = scenarioIn(t.testdir(), ['bookinfo.yaml', 'curl.yaml'], { 'bookinfo.yaml': bookinfoYaml(), 'curl.yaml': curlYaml() });
  const s = loadScenario(file);
  t.same(
    s.workloads.map((w) => w.workloadName),
    ['details-v1', 'ratings-v1', 'reviews-v1', 'reviews-v2', 'reviews-v3', 'productpage-v1', 'curl'],
  );
  t.same(
    s.workloads.map((w) => w.node),
    ['node-a', 'node-b', 'node-a', 'node-b', 'node-a', 'node-b', 'node-a'],
    'spread as the scheduler spreads them',
  );
  t.equal(s.services.length, 5);
  t.same(s.namespaces, [{ name: 'default', labels: { 'istio.io/dataplane-mode': 'ambient' } }], 'a scenario is a mesh: its namespaces are enrolled');
  t.same(loadScenario(file).workloads, s.workloads, 'every process draws the same pod names');
});

t.test("the guide's ingress among the manifests: its gateway pod is the runner's process, the same in every process", async (t) => {
  const file = scenarioIn(t.testdir(), ['bookinfo.yaml', 'bookinfo-gateway.yaml'], {
    'bookinfo.yaml': bookinfoYaml(),
    'bookinfo-gateway.yaml': bookinfoGatewayYaml(),
  });
  const s = loadScenario(file);
  const gateway = s.workloads.find((w) => w.workloadName === 'bookinfo-gateway-istio');
  t.ok(gateway, 'the Gateway of class istio brought its pod');
  t.ok(
    s.services.some((x) => x.name === 'bookinfo-gateway-istio'),
    'and its Service',
  );
  t.equal(
    loadScenario(file).workloads.find((w) => w.workloadName === 'bookinfo-gateway-istio')?.name,
    gateway?.name,
    'the same pod name when the gateway process loads the file',
  );
  const spec = childSpecs(s, path.join(t.testdirName, 'ca')).find((c) => c.name === gateway?.name);
  t.same(spec?.args.slice(0, 1), ['gateway'], 'started as hbone-sim gateway, not by a node agent');
  t.notOk(
    childSpecs(s, 'ca').some((c) => c.args[0] === 'node' && c.args.includes(gateway!.name)),
    'no node agent hosts it',
  );
});

t.test('a Namespace among the manifests keeps its own labels', async (t) => {
  const ns = 'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: shop\n';
  const file = scenarioIn(t.testdir(), ['ns.yaml', 'curl.yaml'], {
    'ns.yaml': ns,
    'curl.yaml': curlYaml().replace(/^metadata:\n/gm, 'metadata:\n  namespace: shop\n'),
  });
  const s = loadScenario(file);
  t.same(s.namespaces, [{ name: 'shop', labels: {} }], 'not enrolled: the Namespace says nothing of ambient');
  t.equal(s.workloads[0].namespace, 'shop');
});

t.test('problems name the manifest line, or the scenario entry', async (t) => {
  const dir = t.testdir();
  t.match(problemsOf(scenarioIn(dir, ['missing.yaml'], {})), [/scenario\.yaml:7: manifests\[0\]: missing\.yaml: no such file/]);
  const bad = curlYaml().replace('  replicas: 1\n', '  replicas: -1\n');
  t.match(problemsOf(scenarioIn(dir, ['bad.yaml'], { 'bad.yaml': bad })), [/bad\.yaml:\d+: \[2\]\.spec\.replicas: must be 0 or more/]);
  const taken = curlYaml().replace('spec:\n  ports:', 'spec:\n  clusterIP: 10.116.0.1\n  ports:');
  t.match(problemsOf(scenarioIn(dir, ['taken.yaml'], { 'taken.yaml': taken })), [
    /scenario\.yaml:7: manifests\[0\]: taken\.yaml: Service curl: The Service "curl" is invalid: .*provided IP is already allocated/,
  ]);
  const many = Array.from({ length: MAX_MANIFEST_FILES + 1 }, () => 'curl.yaml');
  t.match(problemsOf(scenarioIn(dir, many, { 'curl.yaml': curlYaml() })), [/manifests: 17 manifest files, more than the 16 a scenario may declare/]);
});
