// Istio's AuthorizationPolicy, as both proxies enforce it. What other folders import comes from here.
//
//   compile-policy.ts       a document checked (as Istio's webhook would) and compiled once into rules
//   authorize-l4.ts         ztunnel's decision at L4, and the L4 matchers both proxies share
//   authorize-l7.ts         the waypoint's decision at L7 (Envoy's HTTP RBAC filter)
//   waypoint-attachment.ts  which policies the waypoint applies to a request (targetRefs, selectors)
//   envoy-rbac.ts           the same rules as Envoy RBAC filter JSON, for the waypoint's config dump
//   match.ts                Istio's string wildcards, CIDRs and label selectors
export { checkPolicy, compilePolicy, policyProblems, PolicyError, rbacPolicyName, rbacRuleName } from './compile-policy';
export type { Action, CompiledCondition, CompiledOperation, CompiledPolicy, CompiledRule, CompiledSource, PolicyProblem } from './compile-policy';
export { appliesTo, authorize, ROOT_NAMESPACE } from './authorize-l4';
export type { AuthorizeOptions, Decision, L4Connection, L7Note, PolicyTarget } from './authorize-l4';
export {
  authorizeL7,
  compileAuthorizerL7,
  compileRuleMatcherL7,
  matchRuleL7,
  matchHost,
  matchPath,
  RBAC_DENIED_BODY,
  RBAC_DENIED_STATUS,
  rbacResponseCodeDetails,
  remoteIpOf,
  requestHeader,
  requestUrlPath,
} from './authorize-l7';
export type { L7Authorizer, L7Decision, L7Request } from './authorize-l7';
export { appliesAtWaypoint, rbacTarget, targetRefsOf } from './waypoint-attachment';
export type { AuthorizeL7Options, TargetRef, WaypointTarget } from './waypoint-attachment';
export { rbacFilters, rbacPolicy } from './envoy-rbac';
