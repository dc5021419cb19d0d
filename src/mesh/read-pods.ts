// A bare Kubernetes Pod applied to a running mesh: metadata (name, namespace, labels) and the
// parts of its spec hbone-sim uses: the first container's image (what it runs, src/mesh/images.ts)
// and the ports its containers declare, serviceAccountName (its identity) and nodeName. Other
// fields (volumes, resources, probes...) are Kubernetes' and are left alone.
import type { PodDoc } from './model';
import { Entry, EntryReader } from './entry';
import { nameProblem } from './k8s-names';
import { portProblem } from './addresses';
import { readLabels } from './read-labels';
import { Field } from './yaml-fields';

export const POD_KIND = 'Pod';
const POD_FIELDS = ['apiVersion', 'kind', 'metadata', 'spec'] as const;
/** Kubernetes' service account when a pod names none. */
export const DEFAULT_SERVICE_ACCOUNT = 'default';

export function readPod(item: Field, file: string): Entry<PodDoc> | undefined {
  const fields = item.map(POD_FIELDS);
  if (!fields) return undefined;
  const r = new EntryReader(fields);
  const apiVersion = r.text('apiVersion', 'v1', (v) => (v === 'v1' ? undefined : `${JSON.stringify(v)} is not v1`));
  const kind = r.text('kind', POD_KIND, (k) => (k === POD_KIND ? undefined : `${JSON.stringify(k)} is not ${POD_KIND}`));
  const meta = r.nested('metadata', 'name and namespace', null);
  const name = meta?.text('name', 'the pod name', (s) => nameProblem(s, 'subdomain'));
  const namespace = meta?.text('namespace', 'the namespace it runs in', (s) => nameProblem(s, 'label'));
  const labelsField = meta?.field('labels', false);
  const labels = labelsField ? readLabels(labelsField) : {};
  const spec = r.nested('spec', 'containers: [ { name, image } ]', null);
  const serviceAccountName = spec?.fields.has('serviceAccountName')
    ? spec.text('serviceAccountName', false, (s) => nameProblem(s, 'subdomain'))
    : DEFAULT_SERVICE_ACCOUNT;
  const nodeName = spec?.fields.has('nodeName') ? spec.text('nodeName', false) : undefined;
  const containers = spec?.field('containers', 'at least one { name, image }')?.list();
  let image: string | undefined;
  const ports: number[] = [];
  containers?.forEach((c, i) => {
    const cf = c.map(null);
    if (!cf) return;
    const cr = new EntryReader(cf);
    const img = cr.text('image', 'the container image, e.g. curlimages/curl');
    if (i === 0) image = img;
    cr.field('ports', false)
      ?.list()
      ?.forEach((p) => {
        const port = p.map(null) ? new EntryReader(p.map(null)!).integer('containerPort', 'the port the container listens on', portProblem) : undefined;
        if (port !== undefined) ports.push(port);
      });
  });
  if (containers && containers.length === 0) spec!.fields.required('containers', 'at least one { name, image }')!.problem('must list at least one container');
  const metadata = name !== undefined && namespace !== undefined && labels !== undefined ? { name, namespace, labels } : undefined;
  return r.entry<PodDoc>({
    apiVersion: apiVersion as 'v1' | undefined,
    kind: kind as PodDoc['kind'] | undefined,
    metadata,
    spec: image !== undefined && serviceAccountName !== undefined ? { image, ports, serviceAccountName, ...(nodeName ? { nodeName } : {}) } : undefined,
    origin: `${file}:${item.line}`,
  });
}
