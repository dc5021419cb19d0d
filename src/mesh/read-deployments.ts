// A Kubernetes Deployment (apps/v1): `replicas` pods of its template, selected by
// spec.selector.matchLabels. The template's labels and pod spec are read as a bare Pod's
// (src/mesh/read-pod-spec.ts); rollout settings (strategy, revisionHistoryLimit...) are
// Kubernetes' and left alone, as a Deployment here replaces its pods at once.
import type { DeploymentDoc } from './model';
import { selects } from './model';
import { Entry, EntryReader } from './entry';
import { readLabels } from './read-labels';
import { readPodSpec } from './read-pod-spec';
import { readMeta } from './read-kube-objects';
import { Field } from './yaml-fields';

export const DEPLOYMENT_KIND = 'Deployment';
const DEPLOYMENT_API_VERSION = 'apps/v1';
const DEPLOYMENT_FIELDS = ['apiVersion', 'kind', 'metadata', 'spec'] as const;
/** Kubernetes' default when spec.replicas is left out. */
const DEFAULT_REPLICAS = 1;

export function readDeployment(item: Field, file: string): Entry<DeploymentDoc> | undefined {
  const fields = item.map(DEPLOYMENT_FIELDS);
  if (!fields) return undefined;
  const r = new EntryReader(fields);
  const metadata = readMeta(r, DEPLOYMENT_KIND, DEPLOYMENT_API_VERSION, 'subdomain');
  const spec = r.nested('spec', 'selector and template', null);
  const replicas = spec?.fields.has('replicas') ? spec.integer('replicas', false, (n) => (n < 0 ? 'must be 0 or more' : undefined)) : DEFAULT_REPLICAS;
  const selectorSpec = spec?.nested('selector', 'matchLabels: { app: ... }', ['matchLabels', 'matchExpressions']);
  if (selectorSpec?.fields.has('matchExpressions')) selectorSpec.field('matchExpressions', false)!.problem('is not modelled: select pods with matchLabels');
  const matchField = selectorSpec?.field('matchLabels', 'the labels of its pods, e.g. { app: reviews, version: v1 }');
  const selector = matchField ? readLabels(matchField) : undefined;
  if (selector && Object.keys(selector).length === 0) matchField!.problem('must name at least one label');
  const template = spec?.nested('template', 'metadata.labels and spec', ['metadata', 'spec']);
  const templateMeta = template?.nested('metadata', 'labels', null);
  const labelsField = templateMeta?.field('labels', 'the labels its pods carry, matched by spec.selector');
  const templateLabels = labelsField ? readLabels(labelsField) : undefined;
  const podSpec = readPodSpec(template?.nested('spec', 'containers: [ { name, image } ]', null));
  // The API server's rule: a Deployment must own the pods it makes.
  if (selector && templateLabels && Object.keys(selector).length > 0 && !selects(selector, templateLabels))
    labelsField!.problem('`selector` does not match template `labels`');
  const sound = replicas !== undefined && selector && templateLabels && podSpec && selects(selector, templateLabels);
  return r.entry<DeploymentDoc>({
    kind: DEPLOYMENT_KIND,
    metadata,
    spec: sound ? { replicas, selector, template: { labels: templateLabels, spec: podSpec } } : undefined,
    origin: `${file}:${item.line}`,
  });
}
