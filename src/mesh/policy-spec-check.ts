// The one place where a policy's spec (Istio's schema, not ours) is checked in depth, by
// src/policy. Its problems come back with a path inside the document (spec.rules[0]...),
// which the loader turns into the line where that part of the policy is written.
import type { AuthorizationPolicyDoc } from './model';
import { policyProblems } from '../policy/authz';

export interface SpecProblem {
  /** Path inside the policy document, e.g. spec.rules[0].from[0].source.principals[1]. */
  readonly path: string;
  readonly message: string;
}

/**
 * Every problem src/policy finds, errors and warnings alike: a warning there (a principal
 * written with spiffe://, a port written as a number) is a policy that would not do what its
 * author meant, and a scenario file is the place to fix it.
 */
export function policySpecProblems(doc: AuthorizationPolicyDoc): readonly SpecProblem[] {
  return policyProblems(doc).map((p) => ({
    path: p.path,
    message: p.detail.startsWith(`${p.path}: `) ? p.detail.slice(p.path.length + 2) : p.detail,
  }));
}
