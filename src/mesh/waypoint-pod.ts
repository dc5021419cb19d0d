// The pod Istio's gateway controller makes for a waypoint Gateway applied to a running mesh: a
// Deployment named after the Gateway (so its pod is <gateway>-<template hash>-<suffix>), running
// as the service account the Gateway names (istio.io/service-account, else its own name),
// labelled gateway.networking.k8s.io/gateway-name, scheduled on the node with the fewest pods,
// with a free address of that node's pod range.
import { randomInt } from 'node:crypto';
import type { GatewayDoc, Scenario, Workload } from './model';
import { ANNOTATION_SERVICE_ACCOUNT, LABEL_GATEWAY_NAME } from './model';
import { WAYPOINT_APP, WAYPOINT_PORT } from './app-kinds';
import { freePodIp, leastLoadedNode } from './pod-placement';
import { generatedPart, replicaPodName, TEMPLATE_HASH_LENGTH } from './k8s-names';
export { NoAddress } from './pod-placement';

/** The label Istio's controller puts on what it deploys for a Gateway. */
export const LABEL_MANAGED = 'gateway.istio.io/managed';
export const MANAGED_BY_MESH_CONTROLLER = 'istio.io-mesh-controller';

export function waypointPodFor(gw: GatewayDoc, s: Scenario, pick: (n: number) => number = randomInt): Workload {
  const { name, namespace, annotations } = gw.metadata;
  const podName = replicaPodName(name, generatedPart(TEMPLATE_HASH_LENGTH, pick), new Set(s.workloads.map((w) => w.name)), pick);
  const node = leastLoadedNode(s);
  return {
    name: podName,
    namespace,
    serviceAccount: annotations?.[ANNOTATION_SERVICE_ACCOUNT] ?? name,
    node,
    ip: freePodIp(s, node),
    labels: { [LABEL_GATEWAY_NAME]: name, [LABEL_MANAGED]: MANAGED_BY_MESH_CONTROLLER },
    app: { kind: WAYPOINT_APP, port: WAYPOINT_PORT },
    workloadName: name,
  };
}
