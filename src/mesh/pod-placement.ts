// Where a pod applied to a running mesh goes, as the scheduler and the node's IPAM decide: the
// node it names (spec.nodeName), else the node with the fewest pods; and a free address of that
// node's pod range (the /24 of its pods, or 10.a.<node index + 1> for a node with none).
import type { Scenario } from './model';
import { istiodIp } from './control-plane';

const HOSTS = 254;

export class NoAddress extends Error {
  override name = 'NoAddress';
}

/** The node with the fewest pods (the first of them on a tie). */
export function leastLoadedNode(s: Scenario): string {
  const count = (node: string) => s.workloads.filter((w) => w.node === node).length;
  return s.nodes.reduce((best, n) => (count(n.name) < count(best.name) ? n : best), s.nodes[0]).name;
}

/** A free address in the /24 of the node's pods, or of 10.a.<node index + 1> for a node with none. */
export function freePodIp(s: Scenario, nodeName: string): string {
  const used = new Set([...s.nodes.map((n) => n.ip), ...s.workloads.map((w) => w.ip), ...s.services.map((v) => v.vip), istiodIp(s)]);
  const index = s.nodes.findIndex((n) => n.name === nodeName);
  const [a, b] = s.nodes[index].ip.split('.');
  const pod = s.workloads.find((w) => w.node === nodeName);
  const range = pod ? pod.ip.split('.').slice(0, 3).join('.') : `${a}.${b}.${index + 1}`;
  for (let host = 1; host <= HOSTS; host++) {
    const ip = `${range}.${host}`;
    if (!used.has(ip)) return ip;
  }
  throw new NoAddress(`no free address left in ${range}.0/24 for a pod on ${nodeName}`);
}
