// Where a pod applied to a running mesh goes, as the scheduler and the node's IPAM decide: the
// node it names (spec.nodeName), else the node with the fewest pods; and a free address of that
// node's pod range (the /24 of its pods, or 10.a.<node index + 1> for a node with none).
import type { Labels, Node, Scenario } from './model';
import { istiodIp } from './control-plane';

const HOSTS = 254;

/** A pod that cannot be placed: the scheduler's or IPAM's reason, as the user reads it. */
export class Unschedulable extends Error {
  override name = 'Unschedulable';
}

export class NoAddress extends Unschedulable {
  override name = 'NoAddress';
}

/** The node a pod names is not in the cluster. */
export class NoSuchNode extends Unschedulable {
  override name = 'NoSuchNode';
}

const LABEL_HOSTNAME = 'kubernetes.io/hostname';
const LABEL_OS = 'kubernetes.io/os';
export const LABEL_CONTROL_PLANE = 'node-role.kubernetes.io/control-plane';
const CONTROL_PLANE_SUFFIX = '-control-plane';

/** The labels a node carries here, as the kubelet sets them (kind's control plane has its role too). */
export function nodeLabels(n: Node): Labels {
  return { [LABEL_HOSTNAME]: n.name, [LABEL_OS]: 'linux', ...(n.name.endsWith(CONTROL_PLANE_SUFFIX) ? { [LABEL_CONTROL_PLANE]: '' } : {}) };
}

/** The node with the fewest pods (the first of them on a tie), among those `fits` allows. */
export function leastLoadedNode(s: Scenario, fits: (n: Node) => boolean = () => true): string {
  const count = (node: string) => s.workloads.filter((w) => w.node === node).length;
  const candidates = s.nodes.filter(fits);
  if (candidates.length === 0)
    throw new Unschedulable(`0/${s.nodes.length} nodes are available: ${s.nodes.length} node(s) didn't match Pod's node affinity/selector`);
  return candidates.reduce((best, n) => (count(n.name) < count(best.name) ? n : best), candidates[0]).name;
}

/** Where a pod goes: its nodeName, else the least loaded node its nodeSelector allows. */
export function placePod(s: Scenario, spec: { readonly nodeName?: string; readonly nodeSelector?: Labels }): string {
  if (spec.nodeName !== undefined) {
    if (!s.nodes.some((n) => n.name === spec.nodeName)) throw new NoSuchNode(`nodes "${spec.nodeName}" not found (the pod's spec.nodeName)`);
    return spec.nodeName;
  }
  const selector = spec.nodeSelector ?? {};
  return leastLoadedNode(s, (n) => {
    const labels = nodeLabels(n);
    return Object.entries(selector).every(([k, v]) => labels[k] === v);
  });
}

/** Every cluster address the mesh uses already: nodes, pods, VIPs, istiod. */
export function usedAddresses(s: Scenario): Set<string> {
  return new Set([...s.nodes.map((n) => n.ip), ...s.workloads.map((w) => w.ip), ...s.services.map((v) => v.vip), istiodIp(s)]);
}

/** A free address in the /24 of the node's pods, or of 10.a.<node index + 1> for a node with none. */
export function freePodIp(s: Scenario, nodeName: string): string {
  const used = usedAddresses(s);
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
