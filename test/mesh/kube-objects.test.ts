// Kubernetes kinds read from manifests: Service (ports with appProtocol, a clusterIP asked for),
// ServiceAccount, Namespace (cluster-wide), Deployment (template read as a Pod's), the sample
// manifests as pasted, and what the API server would refuse, named by file:line: field.
import t from 'tap';
import { readManifests } from '../../src/mesh/manifests';
import { manifestProblems } from './fixtures/scenario-text';
import type { DeploymentDoc, NamespaceDoc, ServiceDoc } from '../../src/mesh/model';
import { bookinfoYaml, curlYaml } from '../fixtures/sample-manifests';

const read = (text: string) => readManifests([{ file: 'm.yaml', text }]);
const problems = (text: string): string[] => manifestProblems(text);

const SERVICE = (spec: string) => `apiVersion: v1
kind: Service
metadata:
  name: web
spec:
${spec}`;
const DEPLOYMENT = (spec: string) => `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
${spec}`;
const TEMPLATE = `  template:
    metadata:
      labels: { app: web }
    spec:
      containers: [ { name: web, image: kennethreitz/httpbin, ports: [ { containerPort: 80 } ] } ]
`;

t.test('the samples read whole: every object of bookinfo.yaml and curl.yaml, none skipped', async (t) => {
  const set = readManifests([
    { file: 'bookinfo.yaml', text: bookinfoYaml() },
    { file: 'curl.yaml', text: curlYaml() },
  ]);
  t.same(set.skipped, []);
  const count = (kind: string) => set.manifests.filter((m) => m.kind === kind).length;
  t.same([count('Service'), count('ServiceAccount'), count('Deployment')], [5, 5, 7]);
  const reviews = set.manifests.find((m) => m.kind === 'Deployment' && m.doc.metadata.name === 'reviews-v2')!.doc as DeploymentDoc;
  t.same(reviews.metadata, { name: 'reviews-v2', namespace: 'default', labels: { app: 'reviews', version: 'v2' } });
  t.same(reviews.spec.selector, { app: 'reviews', version: 'v2' });
  t.same(reviews.spec.template.labels, { app: 'reviews', version: 'v2' });
  t.same(reviews.spec.template.spec, {
    image: 'registry.istio.io/release/examples-bookinfo-reviews-v2:1.20.3',
    ports: [9080],
    serviceAccountName: 'bookinfo-reviews',
  });
  t.equal(reviews.spec.replicas, 1);
  const svc = set.manifests.find((m) => m.kind === 'Service' && m.doc.metadata.name === 'curl')!.doc as ServiceDoc;
  t.same(svc.spec, { selector: { app: 'curl' }, ports: [{ name: 'http', port: 80, targetPort: 80 }] });
});

t.test('a Service: appProtocol, a clusterIP asked for, the types that have one', async (t) => {
  const doc = read(
    SERVICE(`  type: LoadBalancer
  clusterIP: 10.96.0.40
  selector: { app: web }
  ports:
  - { name: web, port: 80, targetPort: 8080, appProtocol: http, nodePort: 30080 }
  - { name: db, port: 5432, protocol: TCP }
`),
  ).manifests[0].doc as ServiceDoc;
  t.same(doc.spec, {
    clusterIP: '10.96.0.40',
    selector: { app: 'web' },
    ports: [
      { name: 'web', port: 80, targetPort: 8080, appProtocol: 'http' },
      { name: 'db', port: 5432, targetPort: 5432 },
    ],
  });
});

t.test('what a Service may not be here is refused by name', async (t) => {
  t.same(problems(SERVICE('  type: ExternalName\n  externalName: example.com\n  selector: { app: web }\n  ports: [ { port: 80 } ]\n')), [
    'm.yaml:6: spec.type: ExternalName Services are not modelled: hbone-sim gives a Service a ClusterIP (ClusterIP, NodePort, LoadBalancer)',
  ]);
  t.match(problems(SERVICE('  clusterIP: None\n  selector: { app: web }\n  ports: [ { port: 80 } ]\n')), [
    /spec\.clusterIP: headless Services \(clusterIP: None\) are not modelled/,
  ]);
  t.match(problems(SERVICE('  ports: [ { port: 80 } ]\n')), [/spec\.selector: missing/]);
  t.same(problems(SERVICE('  selector: { app: web }\n  ports: [ { port: 80, targetPort: http } ]\n')), [
    "m.yaml:7: spec.ports[0].targetPort: a named targetPort (http) is not modelled: give the container's port number",
  ]);
  t.match(problems(SERVICE('  selector: { app: web }\n  ports: [ { port: 80 }, { port: 81 } ]\n')), [
    /ports\[0\]\.name: missing \(every port of a multi-port service needs a name\)/,
    /ports\[1\]\.name: missing/,
  ]);
  t.match(problems(SERVICE('  selector: { app: web }\n  ports: [ { port: 53, protocol: UDP } ]\n')), [/UDP is not supported/]);
});

t.test('a Namespace belongs to none; its labels are read', async (t) => {
  const doc = read('apiVersion: v1\nkind: Namespace\nmetadata:\n  name: bookinfo\n  labels: { istio.io/dataplane-mode: ambient }\n').manifests[0]
    .doc as NamespaceDoc;
  t.same(doc.metadata, { name: 'bookinfo', namespace: '', labels: { 'istio.io/dataplane-mode': 'ambient' } });
  t.match(problems('apiVersion: v1\nkind: Namespace\nmetadata:\n  name: Book_Info\n'), [/metadata\.name: "Book_Info" is not a valid Kubernetes name/]);
});

t.test('a Deployment: replicas default to 1; the selector must select its template', async (t) => {
  const doc = read(DEPLOYMENT(`  selector: { matchLabels: { app: web } }\n${TEMPLATE}`)).manifests[0].doc as DeploymentDoc;
  t.equal(doc.spec.replicas, 1);
  t.same(doc.spec.template.spec, { image: 'kennethreitz/httpbin', ports: [80], serviceAccountName: 'default' });
  t.same(problems(DEPLOYMENT(`  selector: { matchLabels: { app: other } }\n${TEMPLATE}`)), [
    'm.yaml:9: spec.template.metadata.labels: `selector` does not match template `labels`',
  ]);
  t.match(problems(DEPLOYMENT(`  replicas: -1\n  selector: { matchLabels: { app: web } }\n${TEMPLATE}`)), [/spec\.replicas: must be 0 or more/]);
  t.match(problems(DEPLOYMENT(`  selector: { matchExpressions: [ { key: app, operator: In, values: [web] } ] }\n${TEMPLATE}`)), [
    /spec\.selector\.matchExpressions: is not modelled: select pods with matchLabels/,
    /spec\.selector\.matchLabels: missing/,
  ]);
  t.match(
    problems(
      DEPLOYMENT(`  selector: { matchLabels: { app: web } }\n  template:\n    metadata:\n      labels: { app: web }\n    spec:\n      containers: []\n`),
    ),
    [/spec\.template\.spec\.containers: must list at least one container/],
  );
  t.match(problems(DEPLOYMENT(`  selector: { matchLabels: { app: web } }\n${TEMPLATE}`).replace('apps/v1', 'apps/v1beta1')), [
    /apiVersion: "apps\/v1beta1" is not apps\/v1/,
  ]);
});

t.test('nodeSelector is read with the template', async (t) => {
  const text = DEPLOYMENT(`  selector: { matchLabels: { app: web } }\n${TEMPLATE}`).replace(
    '    spec:\n      containers',
    '    spec:\n      nodeSelector: { kubernetes.io/hostname: kind-worker }\n      containers',
  );
  const doc = read(text).manifests[0].doc as DeploymentDoc;
  t.same(doc.spec.template.spec.nodeSelector, { 'kubernetes.io/hostname': 'kind-worker' });
});
