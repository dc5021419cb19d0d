// A Gateway of class istio applied to the API server's store: the Deployment and Service Istio's
// gateway controller makes (<gateway>-istio, its pod's identity, status-port and one port per
// listener), both gone when the Gateway is deleted or changes class; and what the reader refuses
// of an ingress Gateway's listeners, by file:line: field, rather than guess at it.
import t from 'tap';
import { readManifests } from '../../src/mesh/manifests';
import { applyObject, deleteObject } from '../../src/mesh/object-store';
import { emptyClusterYaml } from '../../src/mesh/empty-cluster';
import { tunnelProtocolOf } from '../../src/mesh/state';
import { isProxyPod } from '../../src/mesh/app-kinds';
import type { Scenario } from '../../src/mesh/model';
import { load, manifestProblems, problemsOf as scenarioProblems, withBase } from './fixtures/scenario-text';
import { bookinfoGatewayYaml } from '../fixtures/sample-manifests';

const empty = (): Scenario => load(emptyClusterYaml(3));
const manifests = (text: string) => readManifests([{ file: 'gw.yaml', text }]).manifests;
let draws = 0;
const applyAll = (s: Scenario, text: string): Scenario => manifests(text).reduce((acc, m) => applyObject(acc, m, (n) => draws++ % n).scenario, s);
const problems = (text: string): string[] => manifestProblems(text, 'gw.yaml');
const GATEWAY = (listeners: string) => `apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata:
  name: edge
spec:
  gatewayClassName: istio
  listeners:
${listeners}`;

t.test('bookinfo-gateway.yaml deploys bookinfo-gateway-istio: a pod with that identity, and its Service', async (t) => {
  const s = applyAll(empty(), bookinfoGatewayYaml());
  const pods = s.workloads.filter(isProxyPod);
  t.equal(pods.length, 1);
  const pod = pods[0];
  t.match(pod.name, /^bookinfo-gateway-istio-[bcdfghjklmnpqrstvwxz2456789]{10}-[bcdfghjklmnpqrstvwxz2456789]{5}$/);
  t.equal(pod.serviceAccount, 'bookinfo-gateway-istio', 'its identity: cluster.local/ns/default/sa/bookinfo-gateway-istio');
  t.equal(pod.workloadName, 'bookinfo-gateway-istio');
  t.equal(pod.labels['gateway.networking.k8s.io/gateway-name'], 'bookinfo-gateway');
  t.equal(pod.labels['gateway.istio.io/managed'], 'istio.io-gateway-controller');
  t.same(pod.app, { kind: 'istio-gateway', port: 80 });
  t.equal(tunnelProtocolOf(s, pod), 'NONE', 'not captured: its clients reach it plain, it speaks HBONE itself');
  const svc = s.services.find((x) => x.name === 'bookinfo-gateway-istio')!;
  t.same(svc.ports, [
    { name: 'status-port', port: 15021, targetPort: 15021, appProtocol: 'tcp' },
    { name: 'http', port: 80, targetPort: 80, appProtocol: 'http' },
  ]);
  t.same(svc.selector, { 'gateway.networking.k8s.io/gateway-name': 'bookinfo-gateway' });
  t.match(svc.vip, /^10\.96\.\d+\.\d+$/);
  t.equal(s.httpRoutes.length, 1);

  // Applied again: unchanged, the same pod and VIP.
  const again = applyAll(s, bookinfoGatewayYaml());
  t.equal(again.workloads.filter(isProxyPod)[0].name, pod.name);
  t.equal(again.services.find((x) => x.name === 'bookinfo-gateway-istio')!.vip, svc.vip);

  // A new listener adds its port to the Service and keeps the pod (its first port is the same).
  const two = applyAll(s, bookinfoGatewayYaml().replace('        from: Same\n', '        from: Same\n  - name: admin\n    port: 8080\n    protocol: HTTP\n'));
  t.same(
    two.services.find((x) => x.name === 'bookinfo-gateway-istio')!.ports.map((p) => `${p.name}:${p.port}`),
    ['status-port:15021', 'http:80', 'admin:8080'],
  );
  t.equal(two.workloads.filter(isProxyPod)[0].name, pod.name);

  // Deleted: its Deployment's pod and its Service go with it.
  const gw = manifests(bookinfoGatewayYaml())[0];
  const gone = deleteObject(two, gw);
  t.equal(gone.workloads.filter(isProxyPod).length, 0);
  t.notOk(gone.services.some((x) => x.name === 'bookinfo-gateway-istio'));

  // Another class now: no ingress gateway either.
  const other = applyAll(s, bookinfoGatewayYaml().replace('gatewayClassName: istio', 'gatewayClassName: example'));
  t.equal(other.workloads.filter(isProxyPod).length, 0);
  t.notOk(other.services.some((x) => x.name === 'bookinfo-gateway-istio'));
});

t.test('an ingress Gateway: what is not modelled is refused by name', async (t) => {
  t.same(problems(GATEWAY('  - { name: https, port: 443, protocol: HTTPS }\n')), [
    "gw.yaml:8: spec.listeners[0].protocol: HTTPS listeners are not modelled: hbone-sim's ingress gateway serves HTTP only",
  ]);
  t.match(problems(GATEWAY('  - { name: http, port: 80, protocol: HTTP, tls: { mode: Terminate } }\n')), [
    /listeners\[0\]\.tls: TLS termination is not modelled/,
  ]);
  t.match(problems(GATEWAY('  - { name: http, port: 15008, protocol: HTTP }\n')), [/listeners\[0\]\.port: 15008 is a reserved mesh port \(HBONE\)/]);
  t.match(problems(GATEWAY('  - { name: http, port: 80, protocol: HTTP, allowedRoutes: { namespaces: { from: Selector } } }\n')), [
    /allowedRoutes: namespaces\.from "Selector" is not modelled: write Same \(the default\) or All/,
  ]);
  t.match(problems(GATEWAY('  - { name: a, port: 80, protocol: HTTP, hostname: a.example.com }\n  - { name: b, port: 80, protocol: HTTP }\n')), [
    /listeners\[1\]\.port: another listener is on port 80: one listener per port is modelled/,
  ]);
  t.match(problems(GATEWAY('').replace('  listeners:\n', '')), [/spec\.listeners: .*missing|listeners/]);
});

t.test("a scenario file's own gateways: may not hold an ingress Gateway; its HTTPRoutes may name a Gateway parent", async (t) => {
  const text = withBase(`
    gateways:
      - apiVersion: gateway.networking.k8s.io/v1
        kind: Gateway
        metadata: { name: edge, namespace: default }
        spec: { gatewayClassName: istio, listeners: [ { name: http, port: 80, protocol: HTTP } ] }
    httpRoutes:
      - apiVersion: gateway.networking.k8s.io/v1
        kind: HTTPRoute
        metadata: { name: r, namespace: default }
        spec: { parentRefs: [ { name: edge } ], rules: [ { backendRefs: [ { name: echo, port: 8080 } ] } ] }
  `);
  t.same(scenarioProblems(text), [
    't.yaml:14: gateways[0].spec.gatewayClassName: a Gateway of class istio deploys an ingress gateway, which gateways: does not: list its manifest file under manifests:, or apply it to the running mesh (hbone-sim apply -f)',
  ]);
});
