// Checks across entries: unique names, references to nodes and pods, selectors that select,
// capture targets and expectations that make sense.
import t from 'tap';
import { problemsOf, withBase, yaml } from './fixtures/scenario-text';

t.test('names are unique: nodes overall, pods and services within a namespace', async (t) => {
  const text = yaml(`
    name: t
    nodes:
      - { name: node-a, ip: 10.1.0.1 }
      - { name: node-a, ip: 10.1.0.2 }
    workloads:
      - { name: echo, namespace: default, serviceAccount: echo, node: node-b, ip: 10.4.0.5, labels: { app: echo }, run: { app: echo, port: 8080 } }
      - { name: echo, namespace: default, serviceAccount: echo, node: node-a, ip: 10.4.0.6, labels: { app: echo }, run: { app: echo, port: 8080 } }
      - { name: echo, namespace: other, serviceAccount: echo, node: node-a, ip: 10.4.0.7, labels: { app: echo }, run: { app: echo, port: 8080 } }
    services:
      - { name: echo, namespace: default, vip: 10.8.0.20, selector: { app: echo }, ports: [ { port: 8080 } ] }
      - { name: echo, namespace: default, vip: 10.8.0.21, selector: { app: echo }, ports: [ { port: 8080 } ] }
      - { name: echo, namespace: other, vip: 10.8.0.22, selector: { app: echo }, ports: [ { port: 8080 } ] }
    expect:
      - { from: echo, to: "echo:8080", connects: true }
  `);
  t.same(problemsOf(text), [
    't.yaml:4: nodes[1].name: node-a is already used by nodes[0]',
    't.yaml:6: workloads[0].node: node-b is not a node of this scenario (nodes: node-a)',
    't.yaml:7: workloads[1].name: echo is already used in namespace default by workloads[0]',
    't.yaml:11: services[1].name: echo is already used in namespace default by services[0]',
    't.yaml:14: expect[0].from: echo is ambiguous: pods of that name are workloads[0] in default, workloads[1] in default, workloads[2] in other',
  ]);
});

t.test('a service must select a pod in its own namespace', async (t) => {
  const text = yaml(`
    name: t
    nodes: [ { name: node-a, ip: 10.1.0.1 } ]
    workloads:
      - { name: echo, namespace: other, serviceAccount: echo, node: node-a, ip: 10.4.0.5, labels: { app: echo }, run: { app: echo, port: 8080 } }
    services:
      - { name: echo, namespace: default, vip: 10.8.0.20, selector: { app: echo }, ports: [ { port: 8080 } ] }
      - { name: echo, namespace: other, vip: 10.8.0.21, selector: { app: echo, version: v2 }, ports: [ { port: 8080 } ] }
      - { name: echo2, namespace: other, vip: 10.8.0.22, selector: {}, ports: [ { port: 8080 } ] }
      - { name: echo3, namespace: other, vip: 10.8.0.23, selector: { app: echo }, ports: [ { port: 8080 } ] }
  `);
  t.same(problemsOf(text), [
    't.yaml:6: services[0].selector: { app: echo } selects no pod in namespace default',
    't.yaml:7: services[1].selector: { app: echo, version: v2 } selects no pod in namespace other',
    't.yaml:8: services[2].selector: must name at least one label',
  ]);
});

t.test('a misspelt pod field holds back selector checks instead of guessing', async (t) => {
  const text = withBase('').replace('labels: { app: echo }', 'lables: { app: echo }');
  t.same(problemsOf(text), ['t.yaml:7: workloads[1].lables: unknown field; did you mean labels?']);
});

t.test('captures name an existing source pod and a host:port target', async (t) => {
  const text = withBase(`
    captures:
      - { listen: 15101, source: sleepy, target: "echo:8080" }
      - { listen: 15102, source: sleep, target: echo }
      - { listen: 15103, source: sleep, target: "echo:http" }
      - { listen: 15104, source: sleep, target: "Echo_1:8080" }
      - { listen: 15105, source: sleep, target: "10.8.0.20:8080" }
      - { listen: 15106, source: sleep, target: "echo.default.svc.cluster.local:8080" }
      - { listen: 15107, source: sleep, target: "echo:99999" }
  `);
  t.same(problemsOf(text), [
    't.yaml:11: captures[0].source: sleepy is not a pod of this scenario',
    't.yaml:12: captures[1].target: "echo" is not host:port',
    't.yaml:13: captures[2].target: "echo:http" is not host:port (port "http" is not a number)',
    't.yaml:14: captures[3].target: "Echo_1:8080" is not host:port: "Echo_1" is neither an IPv4 address nor a DNS name',
    't.yaml:17: captures[6].target: "echo:99999" is not host:port: 99999 is not a port number (1-65535)',
  ]);
});

t.test('expectations: an existing pod, a URL or host:port, and exactly one outcome', async (t) => {
  const text = withBase(`
    expect:
      - { from: ghost, to: "http://echo:8080/", status: 200 }
      - { from: sleep, to: "http://echo:8080/" }
      - { from: sleep, to: "http://echo:8080/", status: 200, denied: true }
      - { from: sleep, to: echo, status: 200 }
      - { from: sleep, to: "https://echo:8080/", status: 200 }
      - { from: sleep, to: "echo:8080", status: 200 }
      - { from: sleep, to: "http://echo:8080/", connects: true }
      - { from: sleep, to: "http://echo:8080/", status: 42 }
      - { from: sleep, to: "echo:8080", denied: false }
      - { from: sleep, to: "echo:8080", denied: true }
      - { from: sleep, to: "http://10.8.0.20:8080/x?y=1", status: 503 }
      - { from: sleep, to: "http://echo:8080/", denied: true, connects: true, status: 200 }
  `);
  t.same(problemsOf(text), [
    't.yaml:11: expect[0].from: ghost is not a pod of this scenario',
    't.yaml:12: expect[1]: no outcome: give status: <HTTP status>, denied: true, or connects: true',
    't.yaml:13: expect[2].denied: conflicts with status; an expectation has one outcome',
    't.yaml:14: expect[3].to: "echo" is not host:port; write an http:// URL or host:port',
    't.yaml:15: expect[4].to: "https://echo:8080/" is not an http:// URL (apps in the mesh speak plain HTTP; the mesh adds mTLS)',
    't.yaml:16: expect[5].status: an HTTP status needs an http:// URL in to; for a raw TCP check use connects: true',
    't.yaml:17: expect[6].connects: checks a raw TCP connection; write to as host:port',
    't.yaml:18: expect[7].status: 42 is not an HTTP status (100-599)',
    't.yaml:19: expect[8].denied: must be true (leave it out otherwise)',
    't.yaml:22: expect[11].denied: conflicts with status; an expectation has one outcome',
    't.yaml:22: expect[11].connects: conflicts with status; an expectation has one outcome',
  ]);
});

t.test('policies: the envelope is checked, the spec kept as written', async (t) => {
  const text = withBase(`
    policies:
      - apiVersion: security.istio.io/v1beta1
        kind: AuthorizationPolicy
        metadata: { name: allow-nothing, namespace: default }
      - apiVersion: networking.istio.io/v1
        kind: PeerAuthentication
        metadata: { name: p }
        spec: { action: DENY }
      - apiVersion: security.istio.io/v1
        kind: AuthorizationPolicy
        metadata: { name: allow-nothing, namespace: default }
        spec: []
      - just-a-string
  `);
  t.same(problemsOf(text), [
    't.yaml:14: policies[1].apiVersion: "networking.istio.io/v1" is not an AuthorizationPolicy version (security.istio.io/v1 or security.istio.io/v1beta1)',
    't.yaml:15: policies[1].kind: "PeerAuthentication" is not AuthorizationPolicy',
    't.yaml:16: policies[1].metadata.namespace: missing (the namespace it applies to, e.g. default)',
    't.yaml:20: policies[2].metadata.name: allow-nothing is already used in namespace default by policies[0]',
    't.yaml:21: policies[2].spec: must be a mapping, not a list',
    't.yaml:22: policies[3]: must be a mapping, not the string "just-a-string"',
  ]);
});

t.test("src/policy's problems with a spec are reported at the line they concern", async (t) => {
  const text = withBase(`
    policies:
      - apiVersion: security.istio.io/v1
        kind: AuthorizationPolicy
        metadata: { name: p, namespace: default }
        spec:
          action: ALOW
          rules:
          - from:
            - source:
                principals: [ "spiffe://cluster.local/ns/default/sa/sleep" ]
            to:
            - operation:
                method: [ GET ]
  `);
  // Only where each problem lands is ours; the wording belongs to src/policy.
  const where = problemsOf(text).map((p) => p.split(': ').slice(0, 2).join(': '));
  t.same(where, [
    't.yaml:15: policies[0].spec.action',
    't.yaml:19: policies[0].spec.rules[0].from[0].source.principals[0]',
    't.yaml:22: policies[0].spec.rules[0].to[0].operation.method',
  ]);
});
