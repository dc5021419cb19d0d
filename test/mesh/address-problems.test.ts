// Addresses and ports: cluster addresses in 10.0.0.0/8, unique across nodes, pods and VIPs;
// ports in range, clear of the mesh's own ports, and one listener per address:port.
import t from 'tap';
import { RESERVED_PORTS } from '../../src/mesh/reserved-ports';
import { problemsOf, withBase, yaml } from './fixtures/scenario-text';

t.test('addresses must be IPv4 in 10.0.0.0/8, not served on an address the machine uses', async (t) => {
  const text = yaml(`
    name: t
    nodes:
      - { name: n1, ip: 10.1.0.1 }
      - { name: n2, ip: 10.1.0.256 }
      - { name: n3, ip: fd00::1 }
      - { name: n4, ip: 192.168.1.4 }
      - { name: n5, ip: 10.0.0.1 }
      - { name: n6, ip: 10.0.0.53 }
      - { name: n7, ip: 10.01.0.7 }
    workloads:
      - { name: p, namespace: default, serviceAccount: sa, node: n1, ip: 172.16.0.5, labels: { app: x }, run: { app: echo, port: 8080 } }
    services:
      - { name: s, namespace: default, vip: 10.8.0, selector: { app: x }, ports: [ { port: 80 } ] }
  `);
  t.same(problemsOf(text), [
    't.yaml:4: nodes[1].ip: "10.1.0.256" is not an IPv4 address',
    't.yaml:5: nodes[2].ip: "fd00::1" is not an IPv4 address',
    't.yaml:6: nodes[3].ip: 192.168.1.4 is not a cluster address: cluster addresses are in 10.0.0.0/8 (served on 127.x.y.z)',
    't.yaml:7: nodes[4].ip: 10.0.0.1 would be served on 127.0.0.1, which is localhost; pick another address',
    "t.yaml:8: nodes[5].ip: 10.0.0.53 would be served on 127.0.0.53, which is systemd-resolved's DNS stub; pick another address",
    't.yaml:9: nodes[6].ip: "10.01.0.7" is not an IPv4 address',
    't.yaml:11: workloads[0].ip: 172.16.0.5 is not a cluster address: cluster addresses are in 10.0.0.0/8 (served on 127.x.y.z)',
    't.yaml:13: services[0].vip: "10.8.0" is not an IPv4 address',
  ]);
});

t.test('one address per node, pod and VIP, across all three', async (t) => {
  const text = yaml(`
    name: x
    nodes:
      - { name: node-a, ip: 10.1.0.1 }
      - { name: node-b, ip: 10.4.0.9 }
    workloads:
      - name: productpage-v1
        namespace: default
        serviceAccount: bookinfo-productpage
        node: node-a
        ip: 10.4.0.5
        labels: { app: productpage, version: v1 }
        run: { app: productpage, port: 9080 }
      - { name: details-v1, namespace: default, serviceAccount: bookinfo-details, node: node-a, ip: 10.4.0.9, labels: { app: details }, run: { app: details, port: 9080 } }
      - { name: reviews-v1, namespace: default, serviceAccount: bookinfo-reviews, node: node-a, ip: 10.4.0.5, labels: { app: reviews }, run: { app: reviews, port: 9081 } }
    services:
      - { name: productpage, namespace: default, vip: 10.1.0.1, selector: { app: productpage }, ports: [ { name: http, port: 9080 } ] }
  `);
  t.same(problemsOf(text, 'scenarios/x.yaml'), [
    'scenarios/x.yaml:13: workloads[1].ip: 10.4.0.9 is already used by nodes[1] (node-b)',
    'scenarios/x.yaml:14: workloads[2].ip: 10.4.0.5 is already used by workloads[0] (productpage-v1)',
    'scenarios/x.yaml:16: services[0].vip: 10.1.0.1 is already used by nodes[0] (node-a)',
  ]);
});

t.test("istiod's address (10.a.255.1 of the first node's block) is its own", async (t) => {
  const text = yaml(`
    name: t
    nodes: [ { name: node-a, ip: 10.1.0.1 } ]
    workloads:
      - { name: echo, namespace: default, serviceAccount: echo, node: node-a, ip: 10.1.255.1, labels: { app: echo }, run: { app: echo, port: 8080 } }
    services:
      - { name: echo, namespace: default, vip: 10.1.255.1, selector: { app: echo }, ports: [ { port: 8080 } ] }
  `);
  t.same(problemsOf(text), [
    "t.yaml:4: workloads[0].ip: 10.1.255.1 is istiod's address in this scenario (10.a.255.1 of the first node's 10.a block); pick another",
    't.yaml:6: services[0].vip: 10.1.255.1 is already used by workloads[0] (echo)',
    "t.yaml:6: services[0].vip: 10.1.255.1 is istiod's address in this scenario (10.a.255.1 of the first node's 10.a block); pick another",
  ]);
});

t.test('two pods cannot serve the same address and port', async (t) => {
  const text = yaml(`
    name: t
    nodes: [ { name: node-a, ip: 10.1.0.1 } ]
    workloads:
      - { name: echo-a, namespace: default, serviceAccount: echo, node: node-a, ip: 10.4.0.5, run: { app: echo, port: 8080 } }
      - { name: echo-b, namespace: other, serviceAccount: echo, node: node-a, ip: 10.4.0.5, run: { app: echo, port: 8080 } }
  `);
  t.same(problemsOf(text), [
    't.yaml:5: workloads[1].ip: 10.4.0.5 is already used by workloads[0] (echo-a)',
    't.yaml:5: workloads[1].run.port: 10.4.0.5:8080 is already taken by workloads[0] (echo-a)',
  ]);
});

t.test('service ports: in range, unique, named when several, clear of mesh ports', async (t) => {
  const text = yaml(`
    name: t
    nodes: [ { name: node-a, ip: 10.1.0.1 } ]
    workloads:
      - { name: echo, namespace: default, serviceAccount: echo, node: node-a, ip: 10.4.0.5, labels: { app: echo }, run: { app: echo, port: 8080 } }
    services:
      - name: echo
        namespace: default
        vip: 10.8.0.20
        selector: { app: echo }
        ports:
          - { name: tcp, port: 8080 }
          - { name: tcp, port: 8080, targetPort: 8080 }
          - { name: big, port: 65536 }
          - { name: zero, port: 9000, targetPort: 0 }
          - { name: hbone, port: 9001, targetPort: 15008 }
          - { name: admin, port: 15000 }
          - { port: 9002 }
          - { name: udp, port: 9003, protocol: UDP }
          - { name: tcp2, port: 9004, protocol: TCP }
  `);
  t.same(problemsOf(text), [
    't.yaml:12: services[0].ports[1].port: 8080 is already used by services[0].ports[0]',
    't.yaml:12: services[0].ports[1].name: tcp is already used by services[0].ports[0]',
    't.yaml:13: services[0].ports[2].port: 65536 is not a port number (1-65535)',
    't.yaml:14: services[0].ports[3].targetPort: 0 is not a port number (1-65535)',
    't.yaml:15: services[0].ports[4].targetPort: 15008 is a reserved mesh port (HBONE); pick another port',
    't.yaml:16: services[0].ports[5].port: 15000 is a reserved mesh port (admin); pick another port (targetPort defaults to port)',
    't.yaml:17: services[0].ports[6].name: missing (every port of a multi-port service needs a name)',
    't.yaml:18: services[0].ports[7].protocol: UDP is not supported; the simulator carries TCP only',
  ]);
});

t.test('every reserved port is refused as a targetPort and as an app port', async (t) => {
  t.same([...RESERVED_PORTS.keys()].sort(), [10248, 15000, 15001, 15006, 15008, 15020, 15021, 15080, 15099]);
  for (const port of RESERVED_PORTS.keys()) {
    const target = problemsOf(withBase('').replace('{ name: tcp, port: 8080 }', `{ name: tcp, port: 8080, targetPort: ${port} }`));
    t.equal(target.length, 1);
    t.match(target[0], `t.yaml:9: services[0].ports[0].targetPort: ${port} is a reserved mesh port (${RESERVED_PORTS.get(port)})`);
    const app = problemsOf(withBase('').replace('run: { app: echo, port: 8080 }', `run: { app: echo, port: ${port} }`));
    t.equal(app.length, 1);
    t.match(app[0], `t.yaml:7: workloads[1].run.port: ${port} is a reserved mesh port (${RESERVED_PORTS.get(port)})`);
  }
});

t.test('captures listen on a free loopback address:port', async (t) => {
  const text = withBase(`
    captures:
      - { listen: 127.0.0.1:15101, source: sleep, target: "echo:8080" }
      - { listen: 15101, source: sleep, target: "echo:8080" }
      - { listen: 127.4.2.5:8080, source: sleep, target: "echo:8080" }
      - { listen: 127.0.0.1:15008, source: sleep, target: "echo:8080" }
      - { listen: 10.4.2.5:9000, source: sleep, target: "echo:8080" }
      - { listen: 127.0.0.53:9000, source: sleep, target: "echo:8080" }
      - { listen: "127.0.0.1:0", source: sleep, target: "echo:8080" }
      - { listen: 70000, source: sleep, target: "echo:8080" }
      - { listen: 127.9.9.9:15102, source: sleep, target: "echo:8080" }
  `);
  t.same(problemsOf(text), [
    't.yaml:12: captures[1].listen: 127.0.0.1:15101 is already taken by captures[0]',
    't.yaml:13: captures[2].listen: 127.4.2.5:8080 is already taken by workloads[1] (echo), which serves 10.4.2.5:8080 there',
    't.yaml:14: captures[3].listen: 15008 is a reserved mesh port (HBONE); pick another port',
    't.yaml:15: captures[4].listen: 10.4.2.5 is a cluster address; listen on a host address such as 127.0.0.1',
    "t.yaml:16: captures[5].listen: 127.0.0.53 is systemd-resolved's DNS stub",
    't.yaml:17: captures[6].listen: "127.0.0.1:0" is not host:port: 0 is not a port number (1-65535)',
    't.yaml:18: captures[7].listen: 70000 is not a port number (1-65535)',
  ]);
});
