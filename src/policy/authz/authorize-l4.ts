// Istio AuthorizationPolicy as ztunnel enforces it: L4 only, at the destination.
//
// Order (DESIGN.md section 5, Istio's): CUSTOM, then any matching DENY denies; no ALLOW policy
// selecting the workload allows; a matching ALLOW allows; otherwise deny. AUDIT never changes
// the decision. The matchers for one source/operation/condition are exported so the waypoint
// can run the same rules with its own L7 attributes on top.
import type { AuthorizationPolicyDoc, Labels } from '../../mesh/model';
import { cidrContains, labelsMatch, matchAny } from './match';
import { Action, CompiledCondition, CompiledOperation, CompiledPolicy, CompiledRule, CompiledSource, compilePolicy, rbacPolicyName } from './compile-policy';

/** Istio's default root namespace (meshConfig.rootNamespace): policies here apply mesh-wide. */
export const ROOT_NAMESPACE = 'istio-system';

const SPIFFE_PREFIX = 'spiffe://';
// cluster.local/ns/<namespace>/sa/<service account>
const PRINCIPAL_RE = /^[^/]+\/ns\/([^/]+)\/sa\/([^/]+)$/;

/** The workload a connection is for, as policy selection sees it. */
export interface PolicyTarget {
  readonly namespace: string;
  readonly labels: Labels;
}

/** What ztunnel knows about a connection when it decides. Addresses are cluster addresses. */
export interface L4Connection {
  /** The peer's mTLS identity without "spiffe://" (cluster.local/ns/default/sa/sleep); absent for plaintext. */
  readonly sourcePrincipal?: string;
  /**
   * Used only when sourcePrincipal is present but not of the ns/<ns>/sa/<sa> form: Istio takes the
   * namespace from the mTLS identity, so a plaintext peer matches no `namespaces` at all.
   */
  readonly sourceNamespace?: string;
  readonly sourceIp: string;
  readonly destinationIp: string;
  readonly destinationPort: number;
}

/** How a rule with L7 fields was enforced at L4 (Istio's "more restrictive than requested"). */
export interface L7Note {
  readonly rule: string;
  readonly action: Action;
  readonly fields: readonly string[];
  /** 'rule-skipped': an ALLOW rule that can never match at L4; 'l4-fields-only': the L7 parts are treated as matching. */
  readonly enforcedAs: 'rule-skipped' | 'l4-fields-only';
  readonly message: string;
}

/** What either layer's authorization decided, and which rule decided it. */
export interface BaseDecision {
  readonly allowed: boolean;
  readonly reason: string;
  /** The deciding rule in Envoy's RBAC naming, e.g. ns[default]-policy[productpage-viewer]-rule[0]. */
  readonly policy?: string;
  readonly action?: 'ALLOW' | 'DENY' | 'CUSTOM';
  /** AUDIT rules that matched (the first of each AUDIT policy); they never change the decision. */
  readonly audited?: readonly string[];
}

export interface Decision extends BaseDecision {
  /** Rules of applicable policies that use L7 fields, and how they were enforced here. */
  readonly l7?: readonly L7Note[];
}

export interface AuthorizeOptions {
  readonly rootNamespace?: string;
}

/** Whether ztunnel would apply the policy to this workload. */
export function appliesTo(policy: CompiledPolicy, target: PolicyTarget, rootNamespace = ROOT_NAMESPACE): boolean {
  // targetRef(s) bind a policy to a waypoint (or gateway); istiod never sends those to ztunnel.
  if (policy.hasTargetRefs) return false;
  const meshWide = policy.namespace === rootNamespace;
  if (!meshWide && policy.namespace !== target.namespace) return false;
  // No selector: the whole namespace (or, in the root namespace, the whole mesh). With a
  // selector in the root namespace, matching workloads in every namespace, as Istio does.
  return policy.selector === undefined || labelsMatch(policy.selector, target.labels);
}

/** The peer identity ztunnel matches against: principal plus the namespace and SA inside it. */
export interface Peer {
  readonly principal?: string;
  readonly namespace?: string;
  readonly serviceAccount?: string;
}

export function peerOf(conn: L4Connection): Peer {
  if (!conn.sourcePrincipal) return {};
  const principal = conn.sourcePrincipal.startsWith(SPIFFE_PREFIX) ? conn.sourcePrincipal.slice(SPIFFE_PREFIX.length) : conn.sourcePrincipal;
  const m = PRINCIPAL_RE.exec(principal);
  return m ? { principal, namespace: m[1], serviceAccount: m[2] } : { principal, namespace: conn.sourceNamespace };
}

/** `positive` must match if present; `negative` must not match if present. */
function check<T>(positive: readonly T[] | undefined, negative: readonly T[] | undefined, hit: (v: T) => boolean): boolean {
  if (positive && !positive.some(hit)) return false;
  if (negative && negative.some(hit)) return false;
  return true;
}

/** The L4 fields of one source; L7 fields (requestPrincipals, remoteIpBlocks) are the caller's business. */
export function matchSourceL4(src: CompiledSource, conn: L4Connection): boolean {
  const peer = peerOf(conn);
  return (
    check(src.principals, src.notPrincipals, (p) => matchAny([p], peer.principal)) &&
    check(src.namespaces, src.notNamespaces, (n) => matchAny([n], peer.namespace)) &&
    check(src.serviceAccounts, src.notServiceAccounts, (sa) => sa.namespace === peer.namespace && sa.serviceAccount === peer.serviceAccount) &&
    check(src.ipBlocks, src.notIpBlocks, (c) => cidrContains(c, conn.sourceIp))
  );
}

/** The L4 fields of one operation (ports); methods, paths and hosts are the caller's business. */
export function matchOperationL4(op: CompiledOperation, conn: L4Connection): boolean {
  return check(op.ports, op.notPorts, (p) => p === conn.destinationPort);
}

/** One `when` condition with an L4 key; conditions with L7 keys return undefined (not decidable here). */
export function matchConditionL4(c: CompiledCondition, conn: L4Connection): boolean | undefined {
  const peer = peerOf(conn);
  switch (c.key) {
    case 'source.principal':
      return check(c.values, c.notValues, (v) => matchAny([v], peer.principal));
    case 'source.namespace':
      return check(c.values, c.notValues, (v) => matchAny([v], peer.namespace));
    case 'source.ip':
      return check(c.cidrs, c.notCidrs, (b) => cidrContains(b, conn.sourceIp));
    case 'destination.ip':
      return check(c.cidrs, c.notCidrs, (b) => cidrContains(b, conn.destinationIp));
    case 'destination.port':
      return check(c.ports, c.notPorts, (p) => p === conn.destinationPort);
    default:
      return undefined;
  }
}

/**
 * Whether a rule matches at L4. From, to and when are ANDed; entries inside from[] and to[]
 * are ORed; an absent part does not constrain. L7 fields follow istiod's conversion for ztunnel:
 * an ALLOW rule that has any can never match (it is dropped); for DENY (and AUDIT, CUSTOM here)
 * they are left out and the rule's L4 fields alone decide, so the rule matches more, not less.
 */
export function matchRuleL4(rule: CompiledRule, action: Action, conn: L4Connection): boolean {
  if (action === 'ALLOW' && rule.l7Fields.length > 0) return false;
  if (rule.from && !rule.from.some((s) => matchSourceL4(s, conn))) return false;
  if (rule.to && !rule.to.some((o) => matchOperationL4(o, conn))) return false;
  return rule.when.every((c) => matchConditionL4(c, conn) ?? true);
}

/** The first matching rule of a policy. A policy with no rules matches nothing, whatever its action. */
function firstMatch(policy: CompiledPolicy, conn: L4Connection): CompiledRule | undefined {
  return policy.rules.find((r) => matchRuleL4(r, policy.action, conn));
}

function l7Notes(policies: readonly CompiledPolicy[]): L7Note[] {
  const notes: L7Note[] = [];
  for (const p of policies) {
    for (const r of p.rules) {
      if (r.l7Fields.length === 0) continue;
      const skipped = p.action === 'ALLOW';
      const how = skipped
        ? 'enforced at L4 as never matching (an ALLOW rule ztunnel cannot check does not allow); use a waypoint for HTTP rules'
        : `enforced at L4 on its L4 fields only (the HTTP parts count as matching, so this ${p.action} applies more widely); use a waypoint for HTTP rules`;
      notes.push({
        rule: r.name,
        action: p.action,
        fields: r.l7Fields,
        enforcedAs: skipped ? 'rule-skipped' : 'l4-fields-only',
        message: `${r.name} has L7 fields (${r.l7Fields.join(', ')}); ${how}`,
      });
    }
  }
  return notes;
}

function plural(n: number, one: string, many: string): string {
  return `${n} ${n === 1 ? one : many}`;
}

/**
 * Decides one connection to `target`. Throws a PolicyError if a document is invalid (bad CIDR,
 * bad port...): check documents with checkPolicy when loading so this never happens mid-flight.
 */
export function authorize(docs: readonly AuthorizationPolicyDoc[], target: PolicyTarget, conn: L4Connection, options: AuthorizeOptions = {}): Decision {
  const rootNamespace = options.rootNamespace ?? ROOT_NAMESPACE;
  const applicable = docs.map(compilePolicy).filter((p) => appliesTo(p, target, rootNamespace));
  const notes = l7Notes(applicable);
  const audited = applicable
    .filter((p) => p.action === 'AUDIT')
    .map((p) => firstMatch(p, conn)?.name)
    .filter((n): n is string => n !== undefined);
  const extra = { ...(audited.length > 0 ? { audited } : {}), ...(notes.length > 0 ? { l7: notes } : {}) };

  // CUSTOM delegates to an ext-authz server, which this simulator does not run. Real istiod drops
  // CUSTOM policies for ztunnel (with a status warning) so they are not enforced at L4 at all;
  // here a CUSTOM policy whose rules match fails closed instead, so a learner sees it rather than
  // traffic silently passing. Istio evaluates CUSTOM before DENY and ALLOW.
  for (const p of applicable.filter((x) => x.action === 'CUSTOM')) {
    const rule = firstMatch(p, conn);
    if (rule) {
      return {
        allowed: false,
        action: 'CUSTOM',
        policy: rule.name,
        reason: `denied by ${rule.name}: CUSTOM (ext-authz provider ${JSON.stringify(p.provider ?? '')}) is not supported by the simulator, failing closed`,
        ...extra,
      };
    }
  }

  for (const p of applicable.filter((x) => x.action === 'DENY')) {
    const rule = firstMatch(p, conn);
    if (!rule) continue;
    const caveat = rule.l7Fields.length > 0 ? ` (its L7 fields ${rule.l7Fields.join(', ')} cannot be checked at L4, so it denies on its L4 fields alone)` : '';
    return { allowed: false, action: 'DENY', policy: rule.name, reason: `denied by ${rule.name}${caveat}`, ...extra };
  }

  const allows = applicable.filter((p) => p.action === 'ALLOW');
  if (allows.length === 0) {
    return { allowed: true, reason: 'no ALLOW policy applies to the workload (allowed by default)', ...extra };
  }
  for (const p of allows) {
    const rule = firstMatch(p, conn);
    if (rule) return { allowed: true, action: 'ALLOW', policy: rule.name, reason: `allowed by ${rule.name}`, ...extra };
  }
  const names = allows.map((p) => rbacPolicyName(p.namespace, p.name)).join(', ');
  return {
    allowed: false,
    reason: `no ALLOW policy matched (${plural(allows.length, 'ALLOW policy applies', 'ALLOW policies apply')}: ${names})`,
    ...extra,
  };
}
