// ClusterIPs: in the range of the mesh's VIPs (kind's 10.96 in an empty cluster), the same for
// the same Service every run, never one in use.
import t from 'tap';
import { allocateClusterIp, clusterIpTaken, serviceRange } from '../../src/mesh/cluster-ip';
import { emptyClusterYaml } from '../../src/mesh/empty-cluster';
import { BASE, load } from './fixtures/scenario-text';

t.test('a VIP of the range, stable, and never one taken', async (t) => {
  const empty = load(emptyClusterYaml(1));
  t.equal(serviceRange(empty), '10.96');
  const ip = allocateClusterIp(empty, 'default', 'details');
  t.match(ip, /^10\.96\.\d+\.\d+$/);
  t.equal(allocateClusterIp(empty, 'default', 'details'), ip, 'the same Service, the same VIP');
  t.not(allocateClusterIp(empty, 'bookinfo', 'details'), ip, 'another namespace, another VIP');
  const taken = { ...empty, services: [{ name: 'x', namespace: 'default', vip: ip, ports: [], selector: {}, labels: {} }] };
  const next = allocateClusterIp(taken, 'default', 'details');
  t.not(next, ip);
  t.match(next, /^10\.96\./);
  const [, , , d] = next.split('.').map(Number);
  t.ok(d !== 0 && d !== 255);

  const scenario = load(BASE);
  t.equal(serviceRange(scenario), '10.8', "a scenario's services give the range");
  t.equal(clusterIpTaken(scenario, '10.8.0.20', 'default', 'echo'), false, 'its own VIP');
  t.equal(clusterIpTaken(scenario, '10.8.0.20', 'default', 'other'), true);
  t.equal(clusterIpTaken(scenario, '10.4.1.5', 'default', 'other'), true, 'a pod address');
  t.equal(clusterIpTaken(scenario, '10.8.0.21', 'default', 'other'), false);
});
