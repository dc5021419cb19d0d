// A mesh of N http-echo pods over a few nodes, written as scenario text for the pods suite and
// the large-mesh test: pod i runs on node i mod NODES; every PODS_PER_SERVICE consecutive pods
// share a Service, a service account and an app label (as one Deployment's replicas would), so
// each Service's pods are spread over every node. Addresses, for block 10.<n> served at 127.<n>:
// nodes 10.<n>.0.x, pods 10.<n>.1.1 onwards (PODS_PER_OCTET to a /24), Services' VIPs from
// 10.<n>.200.1. http-echo is the cheapest app that answers HTTP (one server, no upstream).

export const DEFAULT_NODES = 3;
export const PODS_PER_SERVICE = 10;
export const ECHO_PORT = 8080;
const NAMESPACE = 'pods';
/** Host parts per /24 that a pod or a VIP may take: .1 to .250. */
const PER_OCTET = 250;
/** Third octets: pods from 1, VIPs from 200 (room for 199 * 250 pods). */
const FIRST_POD_OCTET = 1;
const FIRST_VIP_OCTET = 200;

export interface PodsPod {
  readonly name: string;
  readonly node: string;
  /** Cluster address, and where it is served on this machine. */
  readonly ip: string;
  readonly host: string;
  readonly service: string;
}

export interface PodsService {
  readonly name: string;
  readonly vip: string;
  readonly port: number;
  /** Its pods, in order. */
  readonly pods: readonly PodsPod[];
}

export interface PodsMesh {
  readonly name: string;
  readonly text: string;
  readonly nodes: readonly string[];
  readonly pods: readonly PodsPod[];
  readonly services: readonly PodsService[];
}

function address(block: number, firstOctet: number, i: number): string {
  return `10.${block}.${firstOctet + Math.floor(i / PER_OCTET)}.${(i % PER_OCTET) + 1}`;
}

const served = (ip: string): string => `127.${ip.slice(3)}`;

export function podsScenario(block: number, podCount: number, nodeCount = DEFAULT_NODES, name = `pods-${podCount}`): PodsMesh {
  if (!Number.isInteger(podCount) || podCount < 1 || podCount > (FIRST_VIP_OCTET - FIRST_POD_OCTET) * PER_OCTET)
    throw new RangeError(`pods: 1 to ${(FIRST_VIP_OCTET - FIRST_POD_OCTET) * PER_OCTET}, not ${podCount}`);
  const nodes = Array.from({ length: nodeCount }, (_, i) => `node-${i}`);
  const serviceCount = Math.ceil(podCount / PODS_PER_SERVICE);
  const pods: PodsPod[] = Array.from({ length: podCount }, (_, i) => {
    const ip = address(block, FIRST_POD_OCTET, i);
    return { name: `echo-${i}`, node: nodes[i % nodeCount], ip, host: served(ip), service: `svc-${Math.floor(i / PODS_PER_SERVICE)}` };
  });
  const services: PodsService[] = Array.from({ length: serviceCount }, (_, k) => ({
    name: `svc-${k}`,
    vip: address(block, FIRST_VIP_OCTET, k),
    port: ECHO_PORT,
    pods: pods.slice(k * PODS_PER_SERVICE, (k + 1) * PODS_PER_SERVICE),
  }));
  // Flow style, one line per object: the file stays small (about 190 bytes a pod).
  const lines = [`# hbone-sim pods mesh (bench/pods-scenario.ts): ${podCount} pods over ${nodeCount} nodes, block 10.${block}`, `name: ${name}`, 'nodes:'];
  nodes.forEach((n, i) => lines.push(`  - { name: ${n}, ip: 10.${block}.0.${i + 1} }`));
  lines.push('workloads:');
  for (const p of pods)
    lines.push(
      `  - { name: ${p.name}, namespace: ${NAMESPACE}, serviceAccount: ${p.service}, node: ${p.node}, ip: ${p.ip}, labels: { app: ${p.service} }, run: { app: http-echo, port: ${ECHO_PORT} } }`,
    );
  lines.push('services:');
  for (const s of services)
    lines.push(`  - { name: ${s.name}, namespace: ${NAMESPACE}, vip: ${s.vip}, selector: { app: ${s.name} }, ports: [ { name: http, port: ${s.port} } ] }`);
  return { name, text: lines.join('\n') + '\n', nodes, pods, services };
}

/** The pod that asks service k: one of the next service's pods, on another node than k's first. */
export function askerOf(mesh: PodsMesh, k: number): PodsPod {
  const next = mesh.services[(k + 1) % mesh.services.length].pods;
  const first = mesh.services[k].pods[0];
  return next.find((p) => p.node !== first.node) ?? next[0];
}

export { served as servedAddress };
