// policies: Istio AuthorizationPolicy documents, verbatim. Only the envelope is ours to check
// (apiVersion, kind, metadata); the spec is Istio's and is checked by src/policy.
import type { AuthorizationPolicyDoc } from './model';
import { Entry, EntryReader } from './entry';
import { nameProblem } from './k8s-names';
import { policySpecProblems } from './policy-spec-check';
import { Field } from './yaml-fields';

export const POLICY_FIELDS = ['apiVersion', 'kind', 'metadata', 'spec'] as const;
export const POLICY_API_VERSIONS = ['security.istio.io/v1', 'security.istio.io/v1beta1'] as const;
export const POLICY_KIND = 'AuthorizationPolicy';

export function readPolicy(item: Field, file: string): Entry<AuthorizationPolicyDoc> | undefined {
  const fields = item.map(POLICY_FIELDS);
  if (!fields) return undefined;
  const r = new EntryReader(fields);
  const apiVersion = r.text('apiVersion', POLICY_API_VERSIONS[0], apiVersionProblem);
  const kind = r.text('kind', POLICY_KIND, (k) => (k === POLICY_KIND ? undefined : `${JSON.stringify(k)} is not ${POLICY_KIND}`));
  // metadata may carry labels, annotations...: only name and namespace matter here.
  const meta = r.nested('metadata', 'name and namespace', null);
  const name = meta?.text('name', 'the policy name', (s) => nameProblem(s, 'subdomain'));
  const namespace = meta?.text('namespace', 'the namespace it applies to, e.g. default', (s) => nameProblem(s, 'label'));
  const specField = r.field('spec', false);
  // A missing spec is Istio's "allow nothing" policy: {}.
  const spec = specField ? specField.map(null) && (specField.plain() as Record<string, unknown>) : {};
  const value = {
    apiVersion,
    kind: kind as AuthorizationPolicyDoc['kind'] | undefined,
    metadata: name !== undefined && namespace !== undefined ? { name, namespace } : undefined,
    spec,
    origin: `${file}:${item.line}`,
  };
  // Istio's own rules for the spec, only once the envelope is sound (else they would repeat ours).
  if (apiVersion && kind && value.metadata && spec) {
    for (const p of policySpecProblems(value as AuthorizationPolicyDoc)) {
      item.problemAt(p.path, p.message);
    }
  }
  return r.entry<AuthorizationPolicyDoc>(value);
}

function apiVersionProblem(v: string): string | undefined {
  if ((POLICY_API_VERSIONS as readonly string[]).includes(v)) return undefined;
  return `${JSON.stringify(v)} is not an AuthorizationPolicy version (${POLICY_API_VERSIONS.join(' or ')})`;
}
