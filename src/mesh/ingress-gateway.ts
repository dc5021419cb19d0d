// What Istio's gateway controller deploys for a Gateway of class istio, the ingress gateway of
// Istio's guides: a Deployment and a Service both named <gateway>-istio, whose pod runs as the
// service account <gateway>-istio (so its identity is .../sa/bookinfo-gateway-istio for
// bookinfo-gateway) and is labelled with the Gateway's name and class. The Service has
// status-port 15021 and one port per listener port, named after the listener, with the
// listener's protocol as appProtocol. Its pod is not captured: it is an Envoy that speaks HBONE
// itself to meshed backends, and takes plain HTTP from its clients on each listener port.
import { randomInt } from 'node:crypto';
import type { GatewayDoc, Scenario, Service, ServicePort, Workload } from './model';
import { LABEL_GATEWAY_NAME } from './model';
import { GATEWAY_APP } from './app-kinds';
import { allocateClusterIp } from './cluster-ip';
import { freePodIp, leastLoadedNode } from './pod-placement';
import { generatedPart, replicaPodName, TEMPLATE_HASH_LENGTH } from './k8s-names';
import { PORT_READINESS } from './ports';

export const INGRESS_GATEWAY_CLASS = 'istio';
/** The controller's default name for what it deploys: <gateway>-<class>. */
export const INGRESS_NAME_SUFFIX = `-${INGRESS_GATEWAY_CLASS}`;
export const LABEL_GATEWAY_CLASS_NAME = 'gateway.networking.k8s.io/gateway-class-name';
export const LABEL_MANAGED = 'gateway.istio.io/managed';
export const MANAGED_BY_GATEWAY_CONTROLLER = 'istio.io-gateway-controller';
/** The Service port Istio adds before the listeners', for its load balancer's health checks. */
export const STATUS_PORT_NAME = 'status-port';
/** The listener protocol hbone-sim's ingress gateway serves; HTTPS, TLS and TCP are not modelled. */
export const INGRESS_PROTOCOL = 'HTTP';

/** A Gateway listener, as the ingress gateway serves it. */
export interface GatewayListener {
  readonly name: string;
  readonly port: number;
  readonly protocol: string;
  /** Only requests for this host (or under this wildcard) match its routes. */
  readonly hostname?: string;
  /** Which namespaces' HTTPRoutes may attach: the Gateway's own (Same, the default) or All. */
  readonly routesFrom: 'Same' | 'All';
}

export function isIngressGateway(g: Pick<GatewayDoc, 'spec'>): boolean {
  return g.spec.gatewayClassName === INGRESS_GATEWAY_CLASS;
}

/** The name of the Deployment, Service and service account of an ingress Gateway. */
export function ingressName(gatewayName: string): string {
  return `${gatewayName}${INGRESS_NAME_SUFFIX}`;
}

/** spec.listeners as read-gateways.ts checked them. */
export function listenersOf(g: GatewayDoc): GatewayListener[] {
  const listed = (g.spec.listeners ?? []) as readonly Record<string, unknown>[];
  return listed.map((l) => {
    const from = ((l.allowedRoutes as { namespaces?: { from?: string } } | undefined)?.namespaces?.from ?? 'Same') as GatewayListener['routesFrom'];
    return {
      name: String(l.name),
      port: Number(l.port),
      protocol: String(l.protocol),
      ...(typeof l.hostname === 'string' ? { hostname: l.hostname } : {}),
      routesFrom: from,
    };
  });
}

/** The pod of an ingress Gateway's Deployment, on the least loaded node. */
export function ingressPodFor(g: GatewayDoc, s: Scenario, pick: (n: number) => number = randomInt): Workload {
  const { name, namespace } = g.metadata;
  const deployment = ingressName(name);
  const podName = replicaPodName(deployment, generatedPart(TEMPLATE_HASH_LENGTH, pick), new Set(s.workloads.map((w) => w.name)), pick);
  const node = leastLoadedNode(s);
  return {
    name: podName,
    namespace,
    serviceAccount: deployment,
    node,
    ip: freePodIp(s, node),
    labels: {
      [LABEL_GATEWAY_NAME]: name,
      [LABEL_GATEWAY_CLASS_NAME]: INGRESS_GATEWAY_CLASS,
      [LABEL_MANAGED]: MANAGED_BY_GATEWAY_CONTROLLER,
      'service.istio.io/canonical-name': deployment,
      'service.istio.io/canonical-revision': 'latest',
    },
    app: { kind: GATEWAY_APP, port: ingressPort(g) },
    workloadName: deployment,
  };
}

/** The port its pod is reported on: its first listener's (readiness is on 15021 regardless). */
export function ingressPort(g: GatewayDoc): number {
  return listenersOf(g)[0]?.port ?? PORT_READINESS;
}

/** The Service in front of it: status-port, then each listener port once. */
export function ingressServiceFor(g: GatewayDoc, s: Scenario): Service {
  const { name, namespace } = g.metadata;
  const service = ingressName(name);
  const ports: ServicePort[] = [{ name: STATUS_PORT_NAME, port: PORT_READINESS, targetPort: PORT_READINESS, appProtocol: 'tcp' }];
  for (const l of listenersOf(g)) {
    if (ports.some((p) => p.port === l.port)) continue;
    ports.push({ name: l.name.replaceAll('.', '-').slice(0, 63), port: l.port, targetPort: l.port, appProtocol: l.protocol.toLowerCase() });
  }
  const existing = s.services.find((x) => x.namespace === namespace && x.name === service);
  return {
    name: service,
    namespace,
    vip: existing?.vip ?? allocateClusterIp(s, namespace, service),
    ports,
    selector: { [LABEL_GATEWAY_NAME]: name },
    labels: { [LABEL_GATEWAY_NAME]: name, [LABEL_GATEWAY_CLASS_NAME]: INGRESS_GATEWAY_CLASS },
  };
}

/** The pod an ingress Gateway has: the one in its namespace running the gateway with its name. */
export function ingressPodOf(s: Scenario, g: Pick<GatewayDoc, 'metadata'>): Workload | undefined {
  return s.workloads.find((w) => w.app.kind === GATEWAY_APP && w.namespace === g.metadata.namespace && w.labels[LABEL_GATEWAY_NAME] === g.metadata.name);
}

/** The Gateway an ingress gateway pod serves. */
export function gatewayOfPod(s: Scenario, pod: Workload): GatewayDoc | undefined {
  return s.gateways.find((g) => isIngressGateway(g) && g.metadata.namespace === pod.namespace && g.metadata.name === pod.labels[LABEL_GATEWAY_NAME]);
}
