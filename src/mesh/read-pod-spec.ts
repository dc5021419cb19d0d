// A pod's spec as hbone-sim reads it, in a bare Pod or a Deployment's template: the first
// container's image (what the pod runs, src/mesh/images.ts), the ports its containers declare,
// serviceAccountName (its identity), and where it may run (nodeName, nodeSelector). Every other
// field (volumes, resources, probes, securityContext...) is Kubernetes' and is left alone.
import type { PodSpec } from './model';
import { EntryReader } from './entry';
import { nameProblem } from './k8s-names';
import { portProblem } from './addresses';
import { readLabels } from './read-labels';

/** Kubernetes' service account when a pod names none. */
export const DEFAULT_SERVICE_ACCOUNT = 'default';
const CONTAINERS_NEED = 'at least one { name, image }';

/** The spec under `r` (a pod's `spec:`), or undefined once its problems are reported. */
export function readPodSpec(spec: EntryReader | undefined): PodSpec | undefined {
  if (!spec) return undefined;
  const serviceAccountName = spec.fields.has('serviceAccountName')
    ? spec.text('serviceAccountName', false, (s) => nameProblem(s, 'subdomain'))
    : DEFAULT_SERVICE_ACCOUNT;
  const nodeName = spec.fields.has('nodeName') ? spec.text('nodeName', false) : undefined;
  const selectorField = spec.field('nodeSelector', false);
  const nodeSelector = selectorField ? readLabels(selectorField) : undefined;
  const containersField = spec.field('containers', CONTAINERS_NEED);
  const containers = containersField?.list();
  if (containers && containers.length === 0) containersField!.problem('must list at least one container');
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
        const pf = p.map(null);
        const port = pf ? new EntryReader(pf).integer('containerPort', 'the port the container listens on', portProblem) : undefined;
        if (port !== undefined) ports.push(port);
      });
  });
  if (image === undefined || serviceAccountName === undefined || (selectorField && !nodeSelector)) return undefined;
  return { image, ports, serviceAccountName, ...(nodeName ? { nodeName } : {}), ...(nodeSelector ? { nodeSelector } : {}) };
}
