// A bare Kubernetes Pod applied to a running mesh: metadata (name, namespace, labels) and the
// parts of its spec hbone-sim uses (src/mesh/read-pod-spec.ts).
import type { PodDoc } from './model';
import { Entry, EntryReader } from './entry';
import { nameProblem } from './k8s-names';
import { readLabels } from './read-labels';
import { readPodSpec } from './read-pod-spec';
import { Field } from './yaml-fields';

export const POD_KIND = 'Pod';
const POD_FIELDS = ['apiVersion', 'kind', 'metadata', 'spec'] as const;

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
  const spec = readPodSpec(r.nested('spec', 'containers: [ { name, image } ]', null));
  const metadata = name !== undefined && namespace !== undefined && labels !== undefined ? { name, namespace, labels } : undefined;
  return r.entry<PodDoc>({
    apiVersion: apiVersion as 'v1' | undefined,
    kind: kind as PodDoc['kind'] | undefined,
    metadata,
    spec,
    origin: `${file}:${item.line}`,
  });
}
