// How problems come out: every one at once, in line order, one per line; YAML syntax errors
// with their line; and what a valid file turns into (defaults).
import t from 'tap';
import { parseScenario, ScenarioError } from '../../src/mesh/load';
import { formatProblem } from '../../src/mesh/scenario-error';
import { BASE, load, problemsOf, withBase, yaml } from './fixtures/scenario-text';

t.test('several problems in one file are all reported, in line order, one per line', async (t) => {
  const text = yaml(`
    name: t
    nodes:
      - { name: node-a, ip: 10.1.0.1 }
      - { name: node-b, ip: 10.0.0.1 }
    workloads:
      - { name: sleep, namespace: default, serviceAccount: sleep, node: node-c, ip: 10.4.1.5, labels: { app: sleep }, run: { app: sleep, port: 80 } }
      - { name: echo, namespace: default, serviceAccount: echo, node: node-b, ip: 10.4.1.5, labels: { app: echo }, run: { app: ech, port: 8080 } }
    services:
      - { name: echo, namespace: default, vip: 10.8.0.20, selector: { app: echo }, ports: [ { port: 8080, targetPort: 15006 } ] }
    captures:
      - { listen: 15101, source: sleep, target: echo }
    expect:
      - { from: sleep, to: "echo:8080" }
  `);
  let caught: unknown;
  try {
    parseScenario(text, 'scenarios/multi.yaml');
  } catch (err) {
    caught = err;
  }
  t.ok(caught instanceof ScenarioError, 'throws a ScenarioError');
  const err = caught as ScenarioError;
  t.equal(err.name, 'ScenarioError');
  const expected = [
    'scenarios/multi.yaml:4: nodes[1].ip: 10.0.0.1 would be served on 127.0.0.1, which is localhost; pick another address',
    'scenarios/multi.yaml:6: workloads[0].node: node-c is not a node of this scenario (nodes: node-a, node-b)',
    'scenarios/multi.yaml:7: workloads[1].run.app: "ech" is not a program the simulator runs (one of productpage, details, reviews, ratings, sleep, echo, sink, http-echo, waypoint)',
    'scenarios/multi.yaml:7: workloads[1].ip: 10.4.1.5 is already used by workloads[0] (sleep)',
    'scenarios/multi.yaml:9: services[0].ports[0].targetPort: 15006 is a reserved mesh port (inbound plaintext); pick another port',
    'scenarios/multi.yaml:11: captures[0].target: "echo" is not host:port',
    'scenarios/multi.yaml:13: expect[0]: no outcome: give status: <HTTP status>, denied: true, or connects: true',
  ];
  t.equal(err.message, expected.join('\n'));
  t.equal(err.problems.length, expected.length);
  t.same(err.problems[1], {
    file: 'scenarios/multi.yaml',
    line: 6,
    path: 'workloads[0].node',
    message: 'node-c is not a node of this scenario (nodes: node-a, node-b)',
  });
  t.same(err.problems.map(formatProblem), expected);
});

t.test('YAML syntax errors give file:line and stop there', async (t) => {
  t.same(problemsOf('name: t\nnodes: []\nname: u\n', 'dup.yaml'), ['dup.yaml:3: YAML syntax: Map keys must be unique']);
  const indent = yaml(`
    name: t
    nodes:
      - name: node-a
         ip: 10.1.0.1
    workloads: []
  `);
  // The over-indented ip: continues the key that starts on line 3, so the parser blames line 3.
  t.same(problemsOf(indent, 'indent.yaml'), [
    'indent.yaml:3: YAML syntax: Nested mappings are not allowed in compact mappings',
    'indent.yaml:3: YAML syntax: Implicit keys need to be on a single line',
  ]);
  t.same(problemsOf('name: t\nnodes:\n\t- { name: a, ip: 10.1.0.1 }\n', 'tab.yaml'), ['tab.yaml:3: YAML syntax: Tabs are not allowed as indentation']);
  t.same(problemsOf('name: t\n---\nname: u\n', 'two.yaml'), ['two.yaml:2: YAML syntax: the file holds more than one document (---); a scenario is one']);
});

t.test('defaults: trust domain, labels, workload name, targetPort, listen address', async (t) => {
  const s = load(
    withBase(`
      captures:
        - { listen: 15101, source: sleep, target: "echo:8080" }
      policies:
        - apiVersion: security.istio.io/v1
          kind: AuthorizationPolicy
          metadata: { name: deny-all, namespace: default }
          spec: {}
        - apiVersion: security.istio.io/v1
          kind: AuthorizationPolicy
          metadata: { name: allow-nothing, namespace: default }
      expect:
        - { from: sleep, to: "http://echo:8080/", status: 200 }
    `),
  );
  t.equal(s.trustDomain, 'cluster.local');
  t.equal(s.file, 't.yaml');
  t.same(s.services[0].labels, {});
  t.same(s.services[0].ports, [{ name: 'tcp', port: 8080, targetPort: 8080 }]);
  t.same(s.captures[0].listen, { address: '127.0.0.1', port: 15101 });
  t.same(
    s.workloads.map((w) => w.workloadName),
    ['sleep', 'echo'],
    'no version label: the pod name',
  );
  t.same(
    s.policies.map((p) => [p.metadata.name, p.spec, p.origin]),
    [
      ['deny-all', {}, 't.yaml:13'],
      ['allow-nothing', {}, 't.yaml:17'],
    ],
  );
  t.same(s.expect[0], { from: 'sleep', to: 'http://echo:8080/', outcome: 200, origin: 't.yaml:21' });

  const named = load(
    yaml(`
      name: t
      trustDomain: example.org
      nodes: [ { name: node-a, ip: 10.1.0.1 } ]
      workloads:
        - { name: reviews-v2-58d564d4db-6p2mt, namespace: default, serviceAccount: r, node: node-a, ip: 10.4.0.5, labels: { app: reviews, version: v2 }, run: { app: reviews, port: 9080 } }
        - { name: reviews-v3-55545c459b-8kd7q, workload: reviews-canary, namespace: default, serviceAccount: r, node: node-a, ip: 10.4.0.6, labels: { app: reviews, version: v3 }, run: { app: reviews, port: 9080 } }
    `),
  );
  t.equal(named.trustDomain, 'example.org');
  t.same(
    named.workloads.map((w) => w.workloadName),
    ['reviews-v2', 'reviews-canary'],
  );
  t.same(named.services, []);
  t.same(named.expect, []);
});

t.test('empty optional sections read as empty lists', async (t) => {
  const s = load(BASE + 'captures:\npolicies:\nexpect: []\n');
  t.same([s.captures, s.policies, s.expect], [[], [], []]);
});

t.test('anchors and aliases work, and problems point at the alias', async (t) => {
  const ok = load(BASE.replace('labels: { app: echo }', 'labels: &echo { app: echo }').replace('selector: { app: echo }', 'selector: *echo'));
  t.same(ok.services[0].selector, { app: 'echo' });
  const bad = withBase(`
    expect:
      - { from: sleep, to: &to "echo:8080", connects: true }
      - { from: sleep, to: *to, status: 200 }
  `);
  t.same(problemsOf(bad), ['t.yaml:12: expect[1].status: an HTTP status needs an http:// URL in to; for a raw TCP check use connects: true']);
});

t.test('a long list of problems is cut after the first 100, and a long message keeps its ends', async (t) => {
  // 150 unknown fields, and nodes: missing (workloads: may be left out: an empty cluster).
  const text = 'name: t\n' + Array.from({ length: 150 }, (_, i) => `extra${i}: 1\n`).join('');
  const lines = problemsOf(text, 'many.yaml');
  t.equal(lines.length, 101);
  t.equal(lines[100], '… and 51 more problems (the first 100 are listed)');
  let caught: ScenarioError | undefined;
  try {
    parseScenario(text, 'many.yaml');
  } catch (err) {
    caught = err as ScenarioError;
  }
  t.equal(caught?.problems.length, 151, 'every problem is still there for a program to read');

  const long = problemsOf(BASE.replace('name: t', `name: ${'a'.repeat(10_000)}`), 'long.yaml');
  t.equal(long.length, 1);
  t.match(
    long[0],
    /^long\.yaml:1: name: "a{190,}… \(9\d{3} characters left out\) …a{100,}" is not a valid Kubernetes name \(lower-case letters, digits and -, at most 63\)$/,
  );
  t.ok(long[0].length < 450);
});
