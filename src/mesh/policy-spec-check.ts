// The one place where a policy's spec (Istio's schema, not ours) is checked in depth. That
// belongs to src/policy, written separately.
//
// WIRE LATER: once src/policy/authz.ts exports `checkPolicy(doc): string[]`, replace the body
// below with `return checkPolicy(doc);` (import { checkPolicy } from '../policy/authz').
// The loader already reports each returned string at the policy's line.
import type { AuthorizationPolicyDoc } from './model';

export function policySpecProblems(doc: AuthorizationPolicyDoc): readonly string[] {
  void doc;
  return [];
}
