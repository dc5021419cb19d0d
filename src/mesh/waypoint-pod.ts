// The pod Istio's gateway controller makes for a waypoint Gateway applied to a running mesh: a
// Deployment named after the Gateway (so its pod is <gateway>-<template hash>-<suffix>), running
// as the service account the Gateway names (istio.io/service-account, else its own name),
// labelled gateway.networking.k8s.io/gateway-name, scheduled on the node with the fewest pods,
// with a free address of that node's pod range.
import { randomInt } from 'node:crypto';
import type { GatewayDoc, Scenario, Workload } from './model';
import { ANNOTATION_SERVICE_ACCOUNT, LABEL_GATEWAY_NAME } from './model';
import { WAYPOINT_APP, WAYPOINT_PORT } from './app-kinds';
import { istiodIp } from './control-plane';

/** The label Istio's controller puts on what it deploys for a Gateway. */
export const LABEL_MANAGED = 'gateway.istio.io/managed';
export const MANAGED_BY_MESH_CONTROLLER = 'istio.io-mesh-controller';
/** Kubernetes' alphabet for generated name parts (no vowels, no look-alikes). */
const NAME_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';
const TEMPLATE_HASH_LENGTH = 10;
const SUFFIX_LENGTH = 5;
const HOSTS = 254;

export class NoAddress extends Error {
  override name = 'NoAddress';
}

export function waypointPodFor(gw: GatewayDoc, s: Scenario, pick: (n: number) => number = randomInt): Workload {
  const { name, namespace, annotations } = gw.metadata;
  const generated = (length: number) => Array.from({ length }, () => NAME_ALPHABET[pick(NAME_ALPHABET.length)]).join('');
  const taken = new Set(s.workloads.map((w) => w.name));
  let podName: string;
  do podName = `${name}-${generated(TEMPLATE_HASH_LENGTH)}-${generated(SUFFIX_LENGTH)}`;
  while (taken.has(podName));
  const count = (node: string) => s.workloads.filter((w) => w.node === node).length;
  const node = s.nodes.reduce((best, n) => (count(n.name) < count(best.name) ? n : best), s.nodes[0]);
  return {
    name: podName,
    namespace,
    serviceAccount: annotations?.[ANNOTATION_SERVICE_ACCOUNT] ?? name,
    node: node.name,
    ip: freePodIp(s, node.name),
    labels: { [LABEL_GATEWAY_NAME]: name, [LABEL_MANAGED]: MANAGED_BY_MESH_CONTROLLER },
    app: { kind: WAYPOINT_APP, port: WAYPOINT_PORT },
    workloadName: name,
  };
}

/** A free address in the /24 of the node's pods, or of 10.a.<node index + 1> for a node with none. */
function freePodIp(s: Scenario, nodeName: string): string {
  const used = new Set([...s.nodes.map((n) => n.ip), ...s.workloads.map((w) => w.ip), ...s.services.map((v) => v.vip), istiodIp(s)]);
  const index = s.nodes.findIndex((n) => n.name === nodeName);
  const [a, b] = s.nodes[index].ip.split('.');
  const pod = s.workloads.find((w) => w.node === nodeName);
  const range = pod ? pod.ip.split('.').slice(0, 3).join('.') : `${a}.${b}.${index + 1}`;
  for (let host = 1; host <= HOSTS; host++) {
    const ip = `${range}.${host}`;
    if (!used.has(ip)) return ip;
  }
  throw new NoAddress(`no free address left in ${range}.0/24 for a waypoint pod on ${nodeName}`);
}
