// The scenario model: what a scenario file describes once loaded and checked. Every process
// (runner, ztunnel, apps) loads the same file and builds this same model.
//
// Cluster addresses (10.a.b.c) are what a learner sees everywhere; each is served on the
// loopback address 127.a.b.c (DESIGN.md section 2), so every pod binds its own address.

export { DEFAULT_TRUST_DOMAIN } from '../identity/spiffe';
import { formatSpiffeId } from '../identity/spiffe';
import type { PathNormalizationType } from './path-normalization-type';

export const CLUSTER_DOMAIN = 'svc.cluster.local';

export interface Labels {
  readonly [key: string]: string;
}

export interface Node {
  readonly name: string;
  /** Cluster address, e.g. 10.1.0.1. */
  readonly ip: string;
}

/** Which program a pod runs, and on which port. */
export interface AppSpec {
  /** productpage, details, reviews, ratings, sleep, echo, sink, waypoint (port 15008). */
  readonly kind: string;
  readonly port: number;
}

/** One pod. Replicas are separate pods that share labels and service account. */
export interface Workload {
  readonly name: string;
  readonly namespace: string;
  readonly serviceAccount: string;
  readonly node: string;
  /** Cluster address of the pod, e.g. 10.4.0.5. */
  readonly ip: string;
  readonly labels: Labels;
  readonly app: AppSpec;
  /** The workload (Deployment) name the pod belongs to, e.g. reviews-v2; defaults to app-version. */
  readonly workloadName: string;
  /**
   * Set by istiod in what it pushes (Istio's Workload.tunnel_protocol): HBONE for a pod in the
   * mesh or a waypoint, NONE for one outside it. Unset in a scenario: enrollment decides.
   */
  readonly tunnelProtocol?: TunnelProtocol;
  /**
   * Set by istiod (Istio's Workload.waypoint): the waypoint Gateway that traffic addressed to
   * this pod goes through (istio.io/use-waypoint on the pod or its namespace, naming a waypoint
   * for workload or all traffic). Unset in a scenario: the labels decide.
   */
  readonly waypoint?: string;
}

export type TunnelProtocol = 'HBONE' | 'NONE';

export interface ServicePort {
  readonly name: string;
  readonly port: number;
  readonly targetPort: number;
  /** Kubernetes' appProtocol: the protocol Istio takes for the port before reading its name. */
  readonly appProtocol?: string;
}

export interface Service {
  readonly name: string;
  readonly namespace: string;
  /** Cluster address (ClusterIP), e.g. 10.8.4.226. */
  readonly vip: string;
  readonly ports: readonly ServicePort[];
  readonly selector: Labels;
  /** Labels on the Service object itself, e.g. istio.io/use-waypoint: <waypoint Gateway>. */
  readonly labels: Labels;
}

/** A plain local port that stands for one workload's connections to one destination. */
export interface PortCapture {
  /** Where the capture listens (a host address, 127.0.0.1 by default) and on which port. */
  readonly listen: { readonly address: string; readonly port: number };
  /** The source pod whose identity the connections carry. */
  readonly source: string;
  /** The original destination: host:port, VIP:port or pod IP:port. */
  readonly target: string;
}

/** A namespaced resource exactly as written (apiVersion/kind/metadata/spec); the checks are its reader's. */
export interface ResourceDoc<Kind extends string> {
  readonly apiVersion: string;
  readonly kind: Kind;
  readonly metadata: { readonly name: string; readonly namespace: string };
  readonly spec: Readonly<Record<string, unknown>>;
  /** Where it was written, for messages: file:line. */
  readonly origin: string;
}

/** An Istio AuthorizationPolicy (checked by src/policy/authz). */
export type AuthorizationPolicyDoc = ResourceDoc<'AuthorizationPolicy'>;

/**
 * A Gateway API Gateway, exactly as written. With gatewayClassName istio-waypoint it declares
 * a waypoint; its pod is the scenario workload labelled
 * gateway.networking.k8s.io/gateway-name: <name> in the same namespace, running app waypoint.
 */
export interface GatewayDoc {
  readonly apiVersion: string;
  readonly kind: 'Gateway';
  readonly metadata: {
    readonly name: string;
    readonly namespace: string;
    readonly labels?: Readonly<Record<string, string>>;
    readonly annotations?: Readonly<Record<string, string>>;
  };
  readonly spec: Readonly<Record<string, unknown>> & { readonly gatewayClassName: string };
  readonly origin: string;
}

/** A bare Pod as applied to a running mesh, with what hbone-sim reads of its spec (src/mesh/read-pods.ts). */
export interface PodDoc {
  readonly apiVersion: 'v1';
  readonly kind: 'Pod';
  readonly metadata: { readonly name: string; readonly namespace: string; readonly labels: Labels };
  readonly spec: PodSpec;
  readonly origin: string;
}

/** What a pod is made from: a bare Pod's spec, or a Deployment's template (src/mesh/read-pod-spec.ts). */
export interface PodSpec {
  /** The first container's image: what the pod runs (src/mesh/images.ts). */
  readonly image: string;
  /** Every container's declared ports, in order. */
  readonly ports: readonly number[];
  readonly serviceAccountName: string;
  readonly nodeName?: string;
  /** Node labels the pod must land on (kubernetes.io/hostname and kubernetes.io/os exist here). */
  readonly nodeSelector?: Labels;
}

/** What each pod of a Deployment is made from, resolved: the app its image runs. */
export interface PodTemplate {
  readonly labels: Labels;
  readonly serviceAccount: string;
  readonly app: AppSpec;
  /** The first container's image, when the Deployment was applied (not for a scenario's own pods). */
  readonly image?: string;
  readonly nodeName?: string;
  readonly nodeSelector?: Labels;
}

/** A Kubernetes Deployment: `replicas` pods of its template, named <name>-<templateHash>-<suffix>. */
export interface Deployment {
  readonly name: string;
  readonly namespace: string;
  readonly labels: Labels;
  readonly replicas: number;
  /** spec.selector.matchLabels: which pods are its own. */
  readonly selector: Labels;
  readonly template: PodTemplate;
  /** The ReplicaSet's pod-template-hash: changes when the template does. */
  readonly templateHash: string;
}

/** A ServiceAccount: the identity its pods' certificates carry (spiffe://<td>/ns/<ns>/sa/<name>). */
export interface ServiceAccount {
  readonly name: string;
  readonly namespace: string;
  readonly labels: Labels;
}

/** Kubernetes objects as applied, with what hbone-sim reads of them (src/mesh/read-kube-objects.ts). */
interface KubeDoc<Kind extends string, Spec> {
  readonly kind: Kind;
  readonly metadata: { readonly name: string; readonly namespace: string; readonly labels: Labels };
  readonly spec: Spec;
  readonly origin: string;
}
/** A Service: its ClusterIP is allocated unless spec.clusterIP names one. */
export type ServiceDoc = KubeDoc<'Service', { readonly clusterIP?: string; readonly selector: Labels; readonly ports: readonly ServicePort[] }>;
export type DeploymentDoc = KubeDoc<
  'Deployment',
  { readonly replicas: number; readonly selector: Labels; readonly template: { readonly labels: Labels; readonly spec: PodSpec } }
>;
export type ServiceAccountDoc = KubeDoc<'ServiceAccount', Record<string, never>>;
/** A Namespace is cluster-wide: its metadata.namespace is empty. */
export type NamespaceDoc = KubeDoc<'Namespace', Record<string, never>>;

/** A Gateway API HTTPRoute (checked by src/policy/httproute). */
export type HttpRouteDoc = ResourceDoc<'HTTPRoute'>;

export const WAYPOINT_GATEWAY_CLASS = 'istio-waypoint';
export const LABEL_USE_WAYPOINT = 'istio.io/use-waypoint';
/** Which traffic a waypoint takes: service (the default), workload, all or none. */
export const LABEL_WAYPOINT_FOR = 'istio.io/waypoint-for';
export const LABEL_GATEWAY_NAME = 'gateway.networking.k8s.io/gateway-name';
export const ANNOTATION_SERVICE_ACCOUNT = 'istio.io/service-account';

export interface Expectation {
  /** The source pod. */
  readonly from: string;
  /** http://host:port/path, or host:port for a raw TCP check. */
  readonly to: string;
  /** An HTTP status, 'denied' (the connection is closed by policy), or 'connected' (raw TCP got through). */
  readonly outcome: number | 'denied' | 'connected';
  readonly origin: string;
}

/**
 * The part of Istio's MeshConfig a scenario may set (meshConfig: in the file), with Istio's
 * field names. Unset fields take Istio's defaults.
 */
export interface MeshConfig {
  /** How the waypoint normalizes request paths before routing and RBAC (default BASE). */
  readonly pathNormalization: { readonly normalization: PathNormalizationType };
}

export interface Scenario {
  readonly name: string;
  readonly file: string;
  readonly trustDomain: string;
  readonly meshConfig: MeshConfig;
  readonly nodes: readonly Node[];
  readonly workloads: readonly Workload[];
  readonly services: readonly Service[];
  readonly captures: readonly PortCapture[];
  readonly policies: readonly AuthorizationPolicyDoc[];
  /** Gateway API Gateways; those of class istio-waypoint are waypoints. */
  readonly gateways: readonly GatewayDoc[];
  readonly httpRoutes: readonly HttpRouteDoc[];
  readonly expect: readonly Expectation[];
  /** Namespaces applied or labelled while the mesh runs (`hbone-sim label namespace`); none in a scenario file. */
  readonly namespaces?: readonly NamespaceLabels[];
  /** Deployments applied while the mesh runs; their pods are among the workloads. */
  readonly deployments?: readonly Deployment[];
  /** ServiceAccounts applied while the mesh runs. */
  readonly serviceAccounts?: readonly ServiceAccount[];
}

/** A namespace's labels, e.g. istio.io/use-waypoint for every Service in it. */
export interface NamespaceLabels {
  readonly name: string;
  readonly labels: Labels;
}

/** 10.a.b.c -> 127.a.b.c: the loopback address that serves a cluster address. */
export function hostAddress(clusterIp: string): string {
  const parts = clusterIp.split('.');
  if (parts.length === 4 && parts[0] === '10') return `127.${parts[1]}.${parts[2]}.${parts[3]}`;
  return clusterIp;
}

/** 127.a.b.c -> 10.a.b.c, for addresses that belong to the simulated cluster. */
export function clusterAddress(hostIp: string): string {
  const ip = hostIp.startsWith('::ffff:') ? hostIp.slice(7) : hostIp;
  const parts = ip.split('.');
  if (parts.length === 4 && parts[0] === '127' && ip !== '127.0.0.1') return `10.${parts[1]}.${parts[2]}.${parts[3]}`;
  return ip;
}

export function serviceHost(s: Pick<Service, 'name' | 'namespace'>): string {
  return `${s.name}.${s.namespace}.${CLUSTER_DOMAIN}`;
}

export function selects(selector: Labels, labels: Labels): boolean {
  const keys = Object.keys(selector);
  return keys.length > 0 && keys.every((k) => labels[k] === selector[k]);
}

export function spiffeIdOf(w: Pick<Workload, 'namespace' | 'serviceAccount'>, trustDomain: string): string {
  return formatSpiffeId({ trustDomain, namespace: w.namespace, serviceAccount: w.serviceAccount });
}
