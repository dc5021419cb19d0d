// The Kubernetes kinds besides pods that shape a mesh, read from manifests as applied: Service
// (ClusterIP, selector, ports with Istio's protocol rules), ServiceAccount (the identity pods
// run as) and Namespace (its labels: istio.io/dataplane-mode, istio.io/use-waypoint). Fields
// hbone-sim does not use are Kubernetes' and left alone; a feature it does not model (a headless
// or ExternalName Service) is refused by name, never half-done.
import type { Labels, NamespaceDoc, ServiceAccountDoc, ServiceDoc } from './model';
import { clusterAddressProblem } from './addresses';
import { Entry, EntryReader } from './entry';
import { nameProblem, NameKind } from './k8s-names';
import { readLabels } from './read-labels';
import { readPorts, SERVICE_PORT_FIELDS } from './read-services';
import { Field } from './yaml-fields';

export const SERVICE_KIND = 'Service';
export const SERVICE_ACCOUNT_KIND = 'ServiceAccount';
export const NAMESPACE_KIND = 'Namespace';
const OBJECT_FIELDS = ['apiVersion', 'kind', 'metadata', 'spec'] as const;
/** Service types whose ClusterIP works as a ClusterIP Service's; the rest are refused. */
const CLUSTER_IP_TYPES = ['ClusterIP', 'NodePort', 'LoadBalancer'];
const HEADLESS = 'None';
/** A Service port as Kubernetes writes it: Istio's fields, plus the node port of NodePort types. */
const KUBE_PORT_FIELDS = [...SERVICE_PORT_FIELDS, 'nodePort'] as const;

interface Meta {
  readonly name: string;
  readonly namespace: string;
  readonly labels: Labels;
}

/** apiVersion, kind and metadata of an object of `kind`; `namespaced` false for cluster-wide kinds. */
export function readMeta(r: EntryReader, kind: string, apiVersion: string, nameKind: NameKind, namespaced = true): Meta | undefined {
  r.text('apiVersion', apiVersion, (v) => (v === apiVersion ? undefined : `${JSON.stringify(v)} is not ${apiVersion}`));
  r.text('kind', kind, (k) => (k === kind ? undefined : `${JSON.stringify(k)} is not ${kind}`));
  const meta = r.nested('metadata', 'name and namespace', null);
  const name = meta?.text('name', `the ${kind}'s name`, (s) => nameProblem(s, nameKind));
  const namespace = namespaced ? meta?.text('namespace', 'the namespace it belongs to', (s) => nameProblem(s, 'label')) : '';
  const labelsField = meta?.field('labels', false);
  const labels = labelsField ? readLabels(labelsField) : {};
  return name !== undefined && namespace !== undefined && labels !== undefined ? { name, namespace, labels } : undefined;
}

export function readKubeService(item: Field, file: string): Entry<ServiceDoc> | undefined {
  const fields = item.map(OBJECT_FIELDS);
  if (!fields) return undefined;
  const r = new EntryReader(fields);
  const metadata = readMeta(r, SERVICE_KIND, 'v1', 'service');
  const spec = r.nested('spec', 'selector and ports', null);
  spec?.text('type', false, (t) =>
    CLUSTER_IP_TYPES.includes(t) ? undefined : `${t} Services are not modelled: hbone-sim gives a Service a ClusterIP (${CLUSTER_IP_TYPES.join(', ')})`,
  );
  const clusterIP = spec?.fields.has('clusterIP')
    ? spec.text('clusterIP', false, (ip) =>
        ip === HEADLESS ? 'headless Services (clusterIP: None) are not modelled: hbone-sim gives each Service a VIP' : clusterAddressProblem(ip),
      )
    : undefined;
  const selectorField = spec?.field('selector', 'the pod labels it selects, e.g. { app: productpage } (Services without one are not modelled)');
  const selector = selectorField ? readLabels(selectorField) : undefined;
  if (selector && Object.keys(selector).length === 0) selectorField!.problem('must name at least one label');
  const portsField = spec?.field('ports', 'e.g. [ { name: http, port: 9080 } ]');
  const ports = portsField ? readPorts(portsField, KUBE_PORT_FIELDS) : undefined;
  const complete = selector && Object.keys(selector).length > 0 && ports && (clusterIP !== undefined || !spec?.fields.has('clusterIP'));
  return r.entry<ServiceDoc>({
    kind: SERVICE_KIND,
    metadata,
    spec: complete ? { selector, ports, ...(clusterIP ? { clusterIP } : {}) } : undefined,
    origin: `${file}:${item.line}`,
  });
}

export function readServiceAccount(item: Field, file: string): Entry<ServiceAccountDoc> | undefined {
  // automountServiceAccountToken, secrets, imagePullSecrets: Kubernetes', left alone.
  const fields = item.map([...OBJECT_FIELDS, 'automountServiceAccountToken', 'secrets', 'imagePullSecrets']);
  if (!fields) return undefined;
  const r = new EntryReader(fields);
  return r.entry<ServiceAccountDoc>({
    kind: SERVICE_ACCOUNT_KIND,
    metadata: readMeta(r, SERVICE_ACCOUNT_KIND, 'v1', 'subdomain'),
    spec: {},
    origin: `${file}:${item.line}`,
  });
}

export function readNamespace(item: Field, file: string): Entry<NamespaceDoc> | undefined {
  const fields = item.map(OBJECT_FIELDS);
  if (!fields) return undefined;
  const r = new EntryReader(fields);
  return r.entry<NamespaceDoc>({ kind: NAMESPACE_KIND, metadata: readMeta(r, NAMESPACE_KIND, 'v1', 'label', false), spec: {}, origin: `${file}:${item.line}` });
}
