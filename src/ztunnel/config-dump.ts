// ztunnel's /config_dump on :15000: camelCase JSON of what it knows (DESIGN.md section 6).
import type { AuthorizationPolicyDoc, Scenario, Service, Workload } from '../mesh/model';
import { serviceHost, spiffeIdOf } from '../mesh/model';
import type { WorkloadCertificate } from '../identity/workload-cert';
import { splitPemCertificates } from '../identity/crypto';
import { X509Certificate } from 'node:crypto';
import type { MeshState } from '../mesh/state';
import { PORT_HBONE } from '../mesh/ports';
import type { Json, JsonObject } from '../admin/json';
import { compilePolicy } from '../policy/authz/compile-policy';

export const CLUSTER_ID = 'Kubernetes';

export function configDump(state: MeshState, certificates: readonly WorkloadCertificate[]): JsonObject {
  const s: Scenario = state.scenario;
  return {
    workloads: s.workloads.map((w) => workloadDump(state, w)),
    services: s.services.map((svc) => serviceDump(state, svc)),
    // istiod sends ztunnel no policy bound by targetRefs: those are a waypoint's (or a gateway's).
    policies: s.policies.filter((p) => !compilePolicy(p).hasTargetRefs).map(policyDump),
    certificates: certificates.map(certificateDump),
  };
}

function workloadDump(state: MeshState, w: Workload): JsonObject {
  const services: Record<string, Record<string, number>> = {};
  for (const svc of state.servicesOf(w)) {
    services[`${svc.namespace}/${serviceHost(svc)}`] = Object.fromEntries(svc.ports.map((p) => [String(p.port), p.targetPort]));
  }
  const waypoint = state.waypointOfPod(w);
  return {
    uid: `${CLUSTER_ID}//Pod/${w.namespace}/${w.name}`,
    workloadIps: [w.ip],
    // What istiod tells ztunnel of a pod: HBONE when it is in the mesh (or a waypoint), TCP when it is not.
    protocol: state.speaksHbone(w) ? 'HBONE' : 'TCP',
    name: w.name,
    namespace: w.namespace,
    serviceAccount: w.serviceAccount,
    workloadName: w.workloadName,
    workloadType: 'deployment',
    canonicalName: w.labels.app ?? w.workloadName,
    canonicalRevision: w.labels.version ?? 'latest',
    clusterId: CLUSTER_ID,
    trustDomain: state.trustDomain,
    node: w.node,
    status: 'Healthy',
    identity: spiffeIdOf(w, state.trustDomain),
    services,
    // As ztunnel shows a pod whose own traffic a waypoint takes.
    ...(waypoint ? { waypoint: { destination: `/${waypoint.ip}`, hboneMtlsPort: PORT_HBONE } } : {}),
  };
}

function serviceDump(state: MeshState, svc: Service): JsonObject {
  const endpoints: JsonObject = {};
  for (const pod of state.endpointsOf(svc)) {
    endpoints[`${CLUSTER_ID}//Pod/${pod.namespace}/${pod.name}`] = {
      workloadUid: `${CLUSTER_ID}//Pod/${pod.namespace}/${pod.name}`,
      port: Object.fromEntries(svc.ports.map((p) => [String(p.port), p.targetPort])),
      status: 'Healthy',
    };
  }
  const waypoint = state.waypointOf(svc);
  return {
    name: svc.name,
    namespace: svc.namespace,
    hostname: serviceHost(svc),
    // As ztunnel shows a service bound to a waypoint: where its traffic goes first.
    ...(waypoint ? { waypoint: { destination: `/${waypoint.ip}`, hboneMtlsPort: PORT_HBONE } } : {}),
    vips: [`/${svc.vip}`],
    ports: Object.fromEntries(svc.ports.map((p) => [String(p.port), p.targetPort])),
    endpoints,
    ipFamilies: 'IPv4',
  };
}

function policyDump(p: AuthorizationPolicyDoc): JsonObject {
  const spec = p.spec as { selector?: unknown; action?: string; rules?: unknown[] };
  return {
    name: p.metadata.name,
    namespace: p.metadata.namespace,
    scope: p.metadata.namespace === 'istio-system' && !spec.selector ? 'Global' : spec.selector ? 'WorkloadSelector' : 'Namespace',
    action: (spec.action ?? 'ALLOW').charAt(0) + (spec.action ?? 'ALLOW').slice(1).toLowerCase(),
    // As written in the scenario (YAML, so JSON values).
    selector: (spec.selector ?? null) as Json,
    rules: (spec.rules ?? []) as Json,
  };
}

function certificateDump(c: WorkloadCertificate): JsonObject {
  return {
    identity: c.spiffeId,
    state: 'Available',
    certChain: splitPemCertificates(c.certificate.chainPem).map((pem) => {
      const x = new X509Certificate(pem);
      return { pem, serialNumber: x.serialNumber, validFrom: new Date(x.validFrom).toISOString(), expirationTime: new Date(x.validTo).toISOString() };
    }),
  };
}
