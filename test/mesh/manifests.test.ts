// Manifests as kubectl reads them: several documents, kind: List, the default namespace and -n,
// what `kubectl get -o yaml` adds (ignored), both apiVersions of each kind, kinds not modelled
// (said and skipped), and bad input (file:line: field, nothing read).
import t from 'tap';
import { readManifests, skippedLine } from '../../src/mesh/manifests';
import { ScenarioError } from '../../src/mesh/scenario-error';

const read = (text: string, namespace?: string) => readManifests([{ file: 'm.yaml', text }], { namespace });
const problems = (text: string, namespace?: string): string[] => {
  try {
    read(text, namespace);
    return [];
  } catch (err) {
    if (err instanceof ScenarioError) return err.message.split('\n');
    throw err;
  }
};

const POLICY = (ns = '', version = 'v1') => `apiVersion: security.istio.io/${version}
kind: AuthorizationPolicy
metadata:
  name: deny-post
${ns}spec:
  action: DENY
  rules: [ { to: [ { operation: { methods: ["POST"] } } ] } ]
`;

t.test('an object without a namespace goes to default, or to -n', async (t) => {
  t.equal(read(POLICY()).manifests[0].doc.metadata.namespace, 'default');
  t.equal(read(POLICY(), 'bookinfo').manifests[0].doc.metadata.namespace, 'bookinfo');
  t.equal(read(POLICY('  namespace: bookinfo\n'), 'bookinfo').manifests[0].doc.metadata.namespace, 'bookinfo');
  t.same(problems(POLICY('  namespace: other\n'), 'bookinfo'), [
    `m.yaml:5: metadata.namespace: the namespace from the provided object "other" does not match the namespace "bookinfo". You must pass '--namespace=other' to perform this operation.`,
  ]);
});

t.test('several documents, a kind: List, and both apiVersions of each kind', async (t) => {
  const route = `apiVersion: gateway.networking.k8s.io/v1beta1
kind: HTTPRoute
metadata: { name: reviews }
spec:
  parentRefs: [ { group: "", kind: Service, name: reviews, port: 9080 } ]
  rules: [ { backendRefs: [ { name: reviews-v1, port: 9080 } ] } ]
`;
  const gateway = `apiVersion: gateway.networking.k8s.io/v1beta1
kind: Gateway
metadata: { name: waypoint }
spec: { gatewayClassName: istio-waypoint }
`;
  const set = read([POLICY('', 'v1beta1'), route, gateway].join('---\n'));
  t.same(
    set.manifests.map((m) => `${m.kind} ${m.doc.metadata.namespace}/${m.doc.metadata.name}`),
    ['AuthorizationPolicy default/deny-post', 'HTTPRoute default/reviews', 'Gateway default/waypoint'],
  );
  const list = `apiVersion: v1
kind: List
items:
- apiVersion: security.istio.io/v1
  kind: AuthorizationPolicy
  metadata: { name: a, namespace: default }
- apiVersion: v1
  kind: ConfigMap
  metadata: { name: settings }
  data: { a: b }
`;
  const fromList = read(list);
  t.same(
    fromList.manifests.map((m) => m.doc.metadata.name),
    ['a'],
  );
  t.same(fromList.skipped, [{ kind: 'ConfigMap', name: 'settings', origin: 'm.yaml:7' }]);
  t.same(problems('apiVersion: v1\nkind: List\nitems: 3\n'), ['m.yaml:1: a List needs items: [ <objects> ]']);
  t.same(
    problems(
      'apiVersion: v1\nkind: List\nitems:\n- { kind: AuthorizationPolicy, apiVersion: security.istio.io/v1, metadata: { name: x }, spec: { action: DENYY } }\n',
    ),
    ['m.yaml:4: items[0].spec.action: unknown action "DENYY"; must be one of ALLOW, DENY, AUDIT, CUSTOM'],
  );
});

t.test('what kubectl get -o yaml adds is accepted and ignored', async (t) => {
  const got = `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata:
  annotations:
    kubectl.kubernetes.io/last-applied-configuration: |
      {"apiVersion":"security.istio.io/v1","kind":"AuthorizationPolicy"}
  creationTimestamp: "2026-11-30T10:00:00Z"
  generation: 1
  managedFields:
  - apiVersion: security.istio.io/v1
    fieldsType: FieldsV1
    manager: kubectl-client-side-apply
    operation: Update
  name: deny-post
  namespace: default
  resourceVersion: "12345"
  uid: 0b5c5e5a-1b2c-4d3e-8f9a-0123456789ab
spec:
  action: DENY
  rules: [ { to: [ { operation: { methods: ["POST"] } } ] } ]
status: {}
`;
  const [m] = read(got).manifests;
  t.same(m.doc.metadata, { name: 'deny-post', namespace: 'default' });
  const gw = `apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata:
  annotations: { kubectl.kubernetes.io/last-applied-configuration: "{}", note: kept }
  generation: 2
  name: waypoint
  namespace: default
  resourceVersion: "99"
  uid: 1
spec:
  gatewayClassName: istio-waypoint
  listeners: [ { name: mesh, port: 15008, protocol: HBONE } ]
status:
  addresses: [ { type: IPAddress, value: 10.96.1.2 } ]
  conditions: [ { type: Programmed, status: "True" } ]
`;
  t.same(read(gw).manifests[0].doc.metadata, { name: 'waypoint', namespace: 'default', annotations: { note: 'kept' } });
});

t.test('a kind not modelled is said and skipped; a known kind of another group too', async (t) => {
  const text = `apiVersion: v1
kind: ConfigMap
metadata: { name: ratings-config }
---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: { name: bookinfo-gateway }
spec: { selector: { istio: ingressgateway } }
---
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: { name: default, namespace: istio-system }
spec: { mtls: { mode: STRICT } }
`;
  const set = read(text);
  t.same(set.manifests, []);
  t.same(set.skipped.map(skippedLine), [
    'configmap/ratings-config skipped: hbone-sim does not model ConfigMap (m.yaml:1)',
    'gateway.networking.istio.io/bookinfo-gateway skipped: hbone-sim does not model Gateway.networking.istio.io (m.yaml:5)',
    'peerauthentication/default skipped: hbone-sim does not model PeerAuthentication (m.yaml:10)',
  ]);
});

t.test('bad input names file:line: field, and nothing is read', async (t) => {
  t.same(problems('kind: [1]\n'), ['m.yaml:1: a manifest needs apiVersion, kind and metadata']);
  t.same(problems(`${POLICY()}---\napiVersion: security.istio.io/v2\nkind: AuthorizationPolicy\nmetadata: { name: x }\n`).length, 1);
  t.match(problems('a: [\n')[0], /^m\.yaml:\d+: /);
});

t.test('a problem inside a lone document is named from its root (no leading dot)', async (t) => {
  const route = `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: { name: reviews }
spec:
  parentRefs: [ { group: "", kind: Service, name: reviews, port: 99999 } ]
`;
  t.match(problems(route)[0], /^m\.yaml:5: spec\.parentRefs\[0\]\.port: /);
});

t.test('a bare Pod: its image, ports, service account and node; bad ones named', async (t) => {
  const [m] = read(`apiVersion: v1
kind: Pod
metadata:
  name: curl
  labels: { app: curl }
spec:
  serviceAccountName: curl
  nodeName: node-a
  volumes: [ { name: tmp, emptyDir: {} } ]
  containers:
  - name: curl
    image: curlimages/curl
    command: ["/bin/sleep", "infinity"]
    ports: [ { containerPort: 80 } ]
status: { phase: Running }
`).manifests;
  t.same(m.doc, {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'curl', namespace: 'default', labels: { app: 'curl' } },
    spec: { image: 'curlimages/curl', ports: [80], serviceAccountName: 'curl', nodeName: 'node-a' },
    origin: 'm.yaml:1',
  });
  const plain = read('apiVersion: v1\nkind: Pod\nmetadata: { name: p }\nspec: { containers: [ { name: c, image: x } ] }\n').manifests[0].doc;
  t.match(plain, { spec: { serviceAccountName: 'default', ports: [] } }, "Kubernetes' default service account");
  t.same(problems('apiVersion: v1\nkind: Pod\nmetadata: { name: p }\nspec: { containers: [] }\n'), [
    'm.yaml:4: spec.containers: must list at least one container',
  ]);
  t.same(problems('apiVersion: v1\nkind: Pod\nmetadata: { name: p }\nspec: { containers: [ { name: c } ] }\n'), [
    'm.yaml:4: spec.containers[0].image: missing (the container image, e.g. curlimages/curl)',
  ]);
});
