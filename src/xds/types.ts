// xDS as istiod and its proxies speak it: the resource types, and the delta ADS messages
// (envoy.service.discovery.v3.DeltaDiscoveryRequest/Response) with their field names. The
// encoding is ours (one JSON message per line on an HTTP/2 stream, see ndjson.ts); the
// semantics are xDS's: versioned resources, a nonce per response, ACK by echoing the nonce,
// NACK by echoing it with error_detail, and a NACKed update never applied.

/** ztunnel's two types (DESIGN.md section 8): workloads and services, and policies. */
export const TYPE_ADDRESS = 'type.googleapis.com/istio.workload.Address';
export const TYPE_AUTHORIZATION = 'type.googleapis.com/istio.security.Authorization';
/** The waypoint's (Envoy's) route configurations: one per VIP route, carrying its HTTPRoutes. */
export const TYPE_ROUTE = 'type.googleapis.com/envoy.config.route.v3.RouteConfiguration';

export type TypeUrl = typeof TYPE_ADDRESS | typeof TYPE_AUTHORIZATION | typeof TYPE_ROUTE;
export const TYPE_URLS: readonly TypeUrl[] = [TYPE_ADDRESS, TYPE_AUTHORIZATION, TYPE_ROUTE];

/** The short names istioctl and Istio's logs use for each type. */
export const TYPE_SHORT_NAMES: Readonly<Record<TypeUrl, string>> = {
  [TYPE_ADDRESS]: 'WDS',
  [TYPE_AUTHORIZATION]: 'AUTHZ',
  [TYPE_ROUTE]: 'RDS',
};

/** The ADS method path; the request body and the response body are each a stream of messages. */
export const ADS_PATH = '/envoy.service.discovery.v3.AggregatedDiscoveryService/DeltaAggregatedResources';
/** istiod's CA method (Istio's IstioCertificateService). */
export const CSR_PATH = '/istio.v1.auth.IstioCertificateService/CreateCertificate';
/** The TLS name of istiod's serving certificate, as proxies dial it in a cluster. */
export const ISTIOD_SERVER_NAME = 'istiod.istio-system.svc';

/** google.rpc.Code values used in error_detail. */
export const GRPC_INVALID_ARGUMENT = 3;
export const GRPC_PERMISSION_DENIED = 7;
export const GRPC_UNAUTHENTICATED = 16;

/** The proxy as it introduces itself: Envoy's Node (id is `<type>~<ip>~<pod>.<ns>~<ns>.svc.cluster.local`). */
export interface XdsNode {
  readonly id: string;
  /** ztunnel or router (a waypoint), as Istio's proxy types. */
  readonly proxyType: 'ztunnel' | 'router';
}

export interface ErrorDetail {
  readonly code: number;
  readonly message: string;
}

export interface DeltaDiscoveryRequest {
  readonly node?: XdsNode;
  readonly typeUrl: TypeUrl;
  /** '*' subscribes to every resource of the type (a wildcard subscription). */
  readonly resourceNamesSubscribe?: readonly string[];
  /** On a new stream: what the proxy already has, so only what changed is sent. */
  readonly initialResourceVersions?: Readonly<Record<string, string>>;
  /** Absent on the first request of a type; otherwise the nonce of the response this ACKs or NACKs. */
  readonly responseNonce?: string;
  /** Present on a NACK: why the response was rejected. */
  readonly errorDetail?: ErrorDetail;
}

export interface XdsResource {
  readonly name: string;
  /** A hash of the body: unchanged bodies keep their version and are not sent again. */
  readonly version: string;
  readonly resource: unknown;
}

export interface DeltaDiscoveryResponse {
  readonly typeUrl: TypeUrl;
  /** istiod's push version, as istioctl proxy-status shows it. */
  readonly systemVersionInfo: string;
  readonly nonce: string;
  readonly resources: readonly XdsResource[];
  readonly removedResources: readonly string[];
}

export function isTypeUrl(v: unknown): v is TypeUrl {
  return typeof v === 'string' && (TYPE_URLS as readonly string[]).includes(v);
}
