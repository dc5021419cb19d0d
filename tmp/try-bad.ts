import { parseScenario } from '../src/mesh/load';
const text = `name: bad
trustDomain: Cluster.Local
nodes:
  - { name: node-a, ip: 10.1.0.1 }
  - { name: node-a, ip: 10.1.0.1 }
  - { name: node-c, ip: 192.168.0.1 }
  - { name: node-d, ip: 10.0.0.53 }
workloads:
  - name: p
    namespace: default
    serviceAccount: sa
    node: node-x
    ip: 10.4.0.5
    labels: { app: p, version: 1 }
    run: { app: pp, port: 15008 }
    lables: {}
  - name: p
    namespace: default
    serviceAccount: sa
    node: node-a
    ip: 10.4.0.5
    labels: { app: q }
    run: { app: echo, port: "80" }
services:
  - name: s
    namespace: default
    vip: 10.8.0.1
    selector: { app: zzz }
    ports: [ { name: http, port: 80, targetPort: 15006 }, { port: 80 }, { name: x, port: 70000 } ]
captures:
  - { listen: 127.0.0.1:15101, source: nobody, target: productpage }
  - { listen: 15101, source: p, target: "productpage:9080" }
  - { listen: 10.4.0.5:80, source: p, target: "a:1" }
policies:
  - apiVersion: security.istio.io/v2
    kind: AuthPolicy
    metadata: { name: x }
    spec: []
expect:
  - { from: p, to: "ftp://x/" }
  - { from: ghost, to: "http://x:80/", status: 200, denied: true }
  - { from: p, to: "x:80", status: 200 }
  - { from: p, to: "http://x/", connects: true }
  - { from: p, to: "x y", denied: false }
`;
try { parseScenario(text, 'bad.yaml'); } catch (e) { console.log((e as Error).message); }
try { parseScenario('name: x\nnodes: [\n  a: 1\n', 'syn.yaml'); } catch (e) { console.log((e as Error).message); }
try { parseScenario('', 'empty.yaml'); } catch (e) { console.log((e as Error).message); }
try { parseScenario('- a\n', 'list.yaml'); } catch (e) { console.log((e as Error).message); }
try { parseScenario('name: x\nnodes: []\nworkloads:\n', 'x.yaml'); } catch (e) { console.log((e as Error).message); }
