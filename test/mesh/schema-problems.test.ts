// The scenario's own schema: unknown fields, missing fields, wrong types, each reported as
// file:line: field: problem at the right line.
import t from 'tap';
import { BASE, problemsOf, withBase, yaml } from './fixtures/scenario-text';

t.test('the base scenario of these tests loads', async (t) => {
  t.same(problemsOf(BASE), []);
});

t.test('unknown fields are reported at their own line, at every level', async (t) => {
  const text = yaml(`
    name: t
    colour: blue
    nodes:
      - { name: node-a, ip: 10.1.0.1, zone: a }
    workloads:
      - name: sleep
        namespace: default
        serviceAccount: sleep
        node: node-a
        ip: 10.4.1.5
        lables: { app: sleep }
        run: { app: sleep, port: 80, args: [] }
    services:
      - name: s
        namespace: default
        vip: 10.8.0.20
        selector: { app: sleep }
        ports:
          - { port: 80, nodePort: 30080 }
    captures:
      - { listen: 15101, source: sleep, target: "s:80", via: x }
    policies:
      - apiVersion: security.istio.io/v1
        kind: AuthorizationPolicy
        metadata: { name: p, namespace: default, labels: { team: a } }
        spec: {}
        specs: {}
    expect:
      - { from: sleep, to: "s:80", connects: true, timeout: 5 }
  `);
  t.same(problemsOf(text), [
    't.yaml:2: colour: unknown field (known fields: name, trustDomain, meshConfig, nodes, workloads, services, gateways, httpRoutes, captures, policies, expect, manifests)',
    't.yaml:4: nodes[0].zone: unknown field (known fields: name, ip)',
    't.yaml:11: workloads[0].lables: unknown field; did you mean labels?',
    't.yaml:12: workloads[0].run.args: unknown field (known fields: app, port)',
    't.yaml:19: services[0].ports[0].nodePort: unknown field (known fields: name, port, targetPort, protocol, appProtocol)',
    't.yaml:21: captures[0].via: unknown field (known fields: listen, source, target)',
    't.yaml:27: policies[0].specs: unknown field; did you mean spec?',
    't.yaml:29: expect[0].timeout: unknown field (known fields: from, to, status, denied, connects)',
  ]);
});

t.test('missing required fields are reported at the line of the mapping that lacks them', async (t) => {
  const text = yaml(`
    nodes:
      - { name: node-a }
    workloads:
      - name: sleep
        namespace: default
        node: node-a
        ip: 10.4.1.5
        run: { port: 80 }
    services:
      - { name: s, namespace: default, vip: 10.8.0.9 }
    policies:
      - apiVersion: security.istio.io/v1
        kind: AuthorizationPolicy
        metadata: { namespace: default }
    captures:
      - { listen: 15101 }
    expect:
      - { to: "http://s:80/" }
  `);
  t.same(problemsOf(text), [
    't.yaml:1: name: missing (what this scenario is called, e.g. bookinfo)',
    "t.yaml:2: nodes[0].ip: missing (the node's cluster address, e.g. 10.1.0.1)",
    "t.yaml:4: workloads[0].serviceAccount: missing (the pod's identity, e.g. bookinfo-productpage)",
    't.yaml:8: workloads[0].run.app: missing (one of productpage, details, reviews, ratings, sleep, echo, sink, http-echo, waypoint)',
    't.yaml:10: services[0].selector: missing (the pod labels it selects, e.g. { app: productpage })',
    't.yaml:10: services[0].ports: missing (e.g. [ { name: http, port: 9080, targetPort: 9080 } ])',
    't.yaml:14: policies[0].metadata.name: missing (the policy name)',
    't.yaml:16: captures[0].source: missing (the pod whose identity the connections carry)',
    't.yaml:16: captures[0].target: missing (the original destination as host:port, e.g. productpage:9080)',
    't.yaml:18: expect[0].from: missing (the pod the request starts from)',
    't.yaml:18: expect[0]: no outcome: give status: <HTTP status>, denied: true, or connects: true',
  ]);
});

t.test('required lists must not be empty; a cluster with no pods yet is one', async (t) => {
  t.same(problemsOf('name: t\nnodes: []\nworkloads:\n'), ['t.yaml:2: nodes: must list at least one entry (the machines pods run on)']);
  t.same(problemsOf('name: t\nnodes: [ { name: node-a, ip: 10.1.0.1 } ]\n'), []);
});

t.test('wrong types say what was expected and what was found', async (t) => {
  const text = yaml(`
    name: t
    nodes: { name: node-a, ip: 10.1.0.1 }
    workloads:
      - name: sleep
        namespace: default
        serviceAccount: sleep
        node: node-a
        ip: 10
        labels: { app: sleep, version: 1.10 }
        run: { app: sleep, port: "80" }
      - just-a-name
    services:
      - name: s
        namespace: default
        vip: 10.8.0.9
        selector: app=sleep
        ports: [ { port: 80.5 } ]
    expect:
      - { from: sleep, to: "http://s:80/", denied: yes }
  `);
  t.same(problemsOf(text), [
    't.yaml:2: nodes: must be a list, not a mapping',
    't.yaml:8: workloads[0].ip: must be a string, not the number 10',
    't.yaml:9: workloads[0].labels.version: must be a string, not the number 1.1 (quote it: "1.10")',
    't.yaml:10: workloads[0].run.port: must be an integer, not the string "80"',
    't.yaml:11: workloads[1]: must be a mapping, not the string "just-a-name"',
    't.yaml:16: services[0].selector: must be a mapping, not the string "app=sleep"',
    't.yaml:17: services[0].ports[0].port: must be an integer, not the number 80.5',
    't.yaml:19: expect[0].denied: must be true or false, not the string "yes"',
  ]);
});

t.test('unknown run.app kinds list the programs there are', async (t) => {
  const text = withBase(`
    captures:
      - { listen: 15101, source: sleep, target: "echo:8080" }
  `).replace('run: { app: echo, port: 8080 }', 'run: { app: nginx, port: 8080 }');
  t.same(problemsOf(text), [
    't.yaml:7: workloads[1].run.app: "nginx" is not a program the simulator runs (one of productpage, details, reviews, ratings, sleep, echo, sink, http-echo, waypoint)',
  ]);
});

t.test('names, trust domains and labels follow Kubernetes and SPIFFE rules', async (t) => {
  const text = yaml(`
    name: My Scenario
    trustDomain: Cluster.Local
    nodes:
      - { name: Node_A, ip: 10.1.0.1 }
    workloads:
      - name: sleep
        namespace: default
        serviceAccount: sleep
        node: node-a
        ip: 10.4.1.5
        labels: { "app name": sleep, tier: "-front" }
        run: { app: sleep, port: 80 }
  `);
  t.same(problemsOf(text), [
    't.yaml:1: name: "My Scenario" is not a valid Kubernetes name (lower-case letters, digits and -, at most 63)',
    't.yaml:2: trustDomain: "Cluster.Local" is not a lower-case DNS name, e.g. cluster.local',
    't.yaml:4: nodes[0].name: "Node_A" is not a valid Kubernetes name (lower-case letters, digits, - and ., at most 253)',
    't.yaml:11: workloads[0].labels["app name"]: "app name" is not a valid label key ([prefix/]name, e.g. app or istio.io/use-waypoint)',
    't.yaml:11: workloads[0].labels.tier: "-front" is not a valid label value (letters, digits, -, _ and ., at most 63)',
  ]);
});

t.test('the file as a whole: empty, or not a mapping', async (t) => {
  t.same(problemsOf('', 'e.yaml'), ['e.yaml:1: the file is empty; a scenario needs at least name:, nodes: and workloads:']);
  t.same(problemsOf('# only a comment\n', 'e.yaml'), ['e.yaml:1: the file is empty; a scenario needs at least name:, nodes: and workloads:']);
  t.same(problemsOf('\n\n- name: t\n', 'l.yaml'), ['l.yaml:3: a scenario is a mapping (name:, nodes:, workloads: ...), not a list']);
});
