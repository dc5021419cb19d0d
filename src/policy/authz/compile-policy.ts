// AuthorizationPolicy documents checked and parsed once into rules that ztunnel (L4) and the
// waypoint (L7) both evaluate. The checks follow what Istio's validation webhook refuses, so a
// scenario that loads here would also be accepted by a real cluster, and vice versa.
// Longer than 400 lines on purpose: one field of the API per function, in the API's order, so
// the file reads beside Istio's reference page; splitting it would split the one schema.
import type { AuthorizationPolicyDoc, Labels } from '../../mesh/model';
import { Cidr, CidrError, parseCidr } from './match';

export const API_VERSIONS: readonly string[] = ['security.istio.io/v1', 'security.istio.io/v1beta1'];
export const POLICY_KIND = 'AuthorizationPolicy';

export type Action = 'ALLOW' | 'DENY' | 'AUDIT' | 'CUSTOM';
export const ACTIONS: readonly Action[] = ['ALLOW', 'DENY', 'AUDIT', 'CUSTOM'];
/** Istio's default when `action` is omitted. */
export const DEFAULT_ACTION: Action = 'ALLOW';

const SPIFFE_PREFIX = 'spiffe://';
const MIN_PORT = 1;
const MAX_PORT = 65535;

const SPEC_FIELDS = ['selector', 'targetRef', 'targetRefs', 'action', 'provider', 'rules'];
const RULE_FIELDS = ['from', 'to', 'when'];
const SOURCE_L4_FIELDS = [
  'principals',
  'notPrincipals',
  'namespaces',
  'notNamespaces',
  'ipBlocks',
  'notIpBlocks',
  'serviceAccounts',
  'notServiceAccounts',
] as const;
const SOURCE_L7_FIELDS = ['requestPrincipals', 'notRequestPrincipals', 'remoteIpBlocks', 'notRemoteIpBlocks'] as const;
const OPERATION_L4_FIELDS = ['ports', 'notPorts'] as const;
const OPERATION_L7_FIELDS = ['hosts', 'notHosts', 'methods', 'notMethods', 'paths', 'notPaths'] as const;
const CIDR_SOURCE_FIELDS: readonly string[] = ['ipBlocks', 'notIpBlocks', 'remoteIpBlocks', 'notRemoteIpBlocks'];

/** `when` keys ztunnel can evaluate; every other key needs HTTP and so a waypoint. */
export const L4_CONDITION_KEYS: readonly string[] = ['source.ip', 'source.namespace', 'source.principal', 'destination.ip', 'destination.port'];
const IP_CONDITION_KEYS: readonly string[] = ['source.ip', 'destination.ip', 'remote.ip'];
const PORT_CONDITION_KEYS: readonly string[] = ['destination.port'];
const L7_CONDITION_KEYS: readonly string[] = ['remote.ip', 'request.auth.principal', 'request.auth.audiences', 'request.auth.presenter', 'connection.sni'];
const L7_CONDITION_PATTERNS: readonly RegExp[] = [/^request\.headers\[[^\]]+\]$/, /^request\.auth\.claims\[.+\]$/, /^experimental\.envoy\.filters\./];

export interface ServiceAccountRef {
  readonly namespace: string;
  readonly serviceAccount: string;
}

/** One `from[].source`; absent fields are undefined (an empty list counts as absent, as in Istio). */
export interface CompiledSource {
  readonly principals?: readonly string[];
  readonly notPrincipals?: readonly string[];
  readonly namespaces?: readonly string[];
  readonly notNamespaces?: readonly string[];
  readonly serviceAccounts?: readonly ServiceAccountRef[];
  readonly notServiceAccounts?: readonly ServiceAccountRef[];
  readonly ipBlocks?: readonly Cidr[];
  readonly notIpBlocks?: readonly Cidr[];
  // L7 (need a JWT or the HTTP client address): only a waypoint sees them.
  readonly requestPrincipals?: readonly string[];
  readonly notRequestPrincipals?: readonly string[];
  readonly remoteIpBlocks?: readonly Cidr[];
  readonly notRemoteIpBlocks?: readonly Cidr[];
}

/** One `to[].operation`. */
export interface CompiledOperation {
  readonly ports?: readonly number[];
  readonly notPorts?: readonly number[];
  // L7
  readonly hosts?: readonly string[];
  readonly notHosts?: readonly string[];
  readonly methods?: readonly string[];
  readonly notMethods?: readonly string[];
  readonly paths?: readonly string[];
  readonly notPaths?: readonly string[];
}

/** One `when` entry, with IP and port values parsed up front for the keys that take them. */
export interface CompiledCondition {
  readonly key: string;
  readonly values?: readonly string[];
  readonly notValues?: readonly string[];
  readonly cidrs?: readonly Cidr[];
  readonly notCidrs?: readonly Cidr[];
  readonly ports?: readonly number[];
  readonly notPorts?: readonly number[];
  /** True for keys only a proxy that parses HTTP can evaluate. */
  readonly l7: boolean;
}

export interface CompiledRule {
  readonly index: number;
  /** Envoy's RBAC name for the rule: ns[<ns>]-policy[<name>]-rule[<i>]. */
  readonly name: string;
  /** Undefined when absent or empty: then it does not constrain the rule. */
  readonly from?: readonly CompiledSource[];
  readonly to?: readonly CompiledOperation[];
  readonly when: readonly CompiledCondition[];
  /** The L7-only fields and `when` keys the rule uses, sorted (Istio's status message lists them the same way). */
  readonly l7Fields: readonly string[];
}

export interface CompiledPolicy {
  readonly name: string;
  readonly namespace: string;
  readonly action: Action;
  /** matchLabels; undefined when the policy has no selector (namespace- or mesh-wide). */
  readonly selector?: Labels;
  /** targetRef/targetRefs attach a policy to a waypoint (Gateway, Service); ztunnel ignores such policies. */
  readonly hasTargetRefs: boolean;
  /** CUSTOM's ext-authz provider name. */
  readonly provider?: string;
  readonly rules: readonly CompiledRule[];
  readonly origin?: string;
}

export interface PolicyProblem {
  /** Errors are what Istio's validation refuses; warnings are accepted but almost certainly mistakes. */
  readonly severity: 'error' | 'warning';
  /** Field path inside the document, e.g. spec.rules[0].from[0].source.ipBlocks[1]. */
  readonly path: string;
  /** "<path>: <what is wrong>", for callers that already show which policy and line. */
  readonly detail: string;
  /** The full sentence, naming the policy, where it came from and the field. */
  readonly message: string;
}

export class PolicyError extends Error {
  override name = 'PolicyError';
  constructor(readonly problems: readonly PolicyProblem[]) {
    super(problems.map((p) => p.message).join('\n'));
  }
}

export function rbacRuleName(namespace: string, name: string, index: number): string {
  return `ns[${namespace}]-policy[${name}]-rule[${index}]`;
}

export function rbacPolicyName(namespace: string, name: string): string {
  return `ns[${namespace}]-policy[${name}]`;
}

/** Every problem with a policy, errors and warnings, for the scenario loader to report. */
export function policyProblems(doc: AuthorizationPolicyDoc): PolicyProblem[] {
  return walk(doc).problems;
}

/** Human-readable problems with a policy (errors and warnings); empty when it is fine. */
export function checkPolicy(doc: AuthorizationPolicyDoc): string[] {
  return policyProblems(doc).map((p) => p.message);
}

const compiled = new WeakMap<AuthorizationPolicyDoc, CompiledPolicy>();

/** Parses a policy, or throws a PolicyError listing its errors. Results are cached per document object. */
export function compilePolicy(doc: AuthorizationPolicyDoc): CompiledPolicy {
  const cached = compiled.get(doc);
  if (cached) return cached;
  const { policy, problems } = walk(doc);
  const errors = problems.filter((p) => p.severity === 'error');
  if (errors.length > 0 || !policy) throw new PolicyError(errors);
  compiled.set(doc, policy);
  return policy;
}

// ---- the walker: builds the compiled policy and collects problems in one pass ----

type Json = unknown;

function isObject(v: Json): v is Record<string, Json> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

class Walker {
  readonly problems: PolicyProblem[] = [];
  constructor(private readonly subject: string) {}

  error(path: string, what: string): void {
    this.add('error', path, what);
  }

  warn(path: string, what: string): void {
    this.add('warning', path, what);
  }

  private add(severity: PolicyProblem['severity'], path: string, what: string): void {
    const detail = `${path}: ${what}`;
    this.problems.push({ severity, path, detail, message: `${this.subject}: ${detail}` });
  }

  unknownFields(obj: Record<string, Json>, allowed: readonly string[], path: string): void {
    for (const key of Object.keys(obj)) {
      if (allowed.includes(key)) continue;
      const near = allowed.find((a) => a.toLowerCase() === key.toLowerCase() || a === `${key}s`);
      this.error(`${path}.${key}`, near ? `unknown field (did you mean "${near}"?)` : `unknown field; allowed: ${allowed.join(', ')}`);
    }
  }

  /** A list of non-empty strings; undefined when absent or empty. */
  strings(v: Json, path: string): string[] | undefined {
    if (v === undefined || v === null) return undefined;
    if (!Array.isArray(v)) {
      this.error(path, `must be a list of strings, got ${describe(v)}`);
      return undefined;
    }
    const out: string[] = [];
    v.forEach((item, i) => {
      if (typeof item !== 'string') this.error(`${path}[${i}]`, `must be a string, got ${describe(item)}`);
      else if (item === '') this.error(`${path}[${i}]`, 'empty value is not allowed');
      else out.push(item);
    });
    return out.length > 0 ? out : undefined;
  }

  cidrs(v: Json, path: string): Cidr[] | undefined {
    const texts = this.strings(v, path);
    if (!texts) return undefined;
    const out: Cidr[] = [];
    // Walk the original list so error paths keep the author's indexes.
    (v as Json[]).forEach((text, i) => {
      if (typeof text !== 'string' || text === '') return;
      try {
        out.push(parseCidr(text));
      } catch (e) {
        if (!(e instanceof CidrError)) throw e;
        this.error(`${path}[${i}]`, e.message);
      }
    });
    return out;
  }

  /** Ports are strings in Istio's schema; bare YAML numbers are accepted here with a warning. */
  ports(v: Json, path: string): number[] | undefined {
    if (v === undefined || v === null) return undefined;
    if (!Array.isArray(v)) {
      this.error(path, `must be a list of port numbers written as strings, got ${describe(v)}`);
      return undefined;
    }
    const out: number[] = [];
    v.forEach((item, i) => {
      const at = `${path}[${i}]`;
      let text: string;
      if (typeof item === 'number') {
        this.warn(at, `port ${item} is a YAML number; Istio's schema types ports as strings, write "${item}"`);
        text = String(item);
      } else if (typeof item === 'string') {
        text = item;
      } else {
        this.error(at, `must be a port number written as a string, got ${describe(item)}`);
        return;
      }
      const port = /^[0-9]+$/.test(text) ? Number(text) : NaN;
      if (!Number.isInteger(port) || port < MIN_PORT || port > MAX_PORT) {
        this.error(at, `${JSON.stringify(item)} is not a port number (${MIN_PORT}-${MAX_PORT})`);
        return;
      }
      out.push(port);
    });
    return out.length > 0 ? out : undefined;
  }
}

function describe(v: Json): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'an object';
  return `${typeof v} ${JSON.stringify(v)}`;
}

function walk(doc: AuthorizationPolicyDoc): { policy?: CompiledPolicy; problems: PolicyProblem[] } {
  const meta: Record<string, Json> = isObject(doc) && isObject(doc.metadata) ? doc.metadata : {};
  const name = typeof meta.name === 'string' ? meta.name : '';
  const namespace = typeof meta.namespace === 'string' ? meta.namespace : '';
  const origin = isObject(doc) && typeof doc.origin === 'string' && doc.origin !== '' ? doc.origin : undefined;
  const w = new Walker(`AuthorizationPolicy ${namespace || '?'}/${name || '?'}${origin ? ` (${origin})` : ''}`);

  if (!isObject(doc)) {
    w.error('(document)', `must be an object, got ${describe(doc)}`);
    return { problems: w.problems };
  }
  if (doc.kind !== POLICY_KIND) w.error('kind', `must be ${POLICY_KIND}, got ${JSON.stringify(doc.kind)}`);
  if (!API_VERSIONS.includes(doc.apiVersion)) w.error('apiVersion', `must be one of ${API_VERSIONS.join(', ')}, got ${JSON.stringify(doc.apiVersion)}`);
  if (name === '') w.error('metadata.name', 'is required');
  if (namespace === '') w.error('metadata.namespace', 'is required');

  // An omitted spec is an empty one: an ALLOW policy with no rules, which allows nothing.
  const spec: Json = doc.spec ?? {};
  if (!isObject(spec)) {
    w.error('spec', `must be an object, got ${describe(spec)}`);
    return { problems: w.problems };
  }
  w.unknownFields(spec, SPEC_FIELDS, 'spec');

  let action: Action = DEFAULT_ACTION;
  if (spec.action !== undefined && spec.action !== null) {
    if (typeof spec.action === 'string' && (ACTIONS as readonly string[]).includes(spec.action)) action = spec.action as Action;
    else w.error('spec.action', `unknown action ${JSON.stringify(spec.action)}; must be one of ${ACTIONS.join(', ')}`);
  }

  let provider: string | undefined;
  if (spec.provider !== undefined && spec.provider !== null) {
    if (!isObject(spec.provider) || typeof spec.provider.name !== 'string' || spec.provider.name === '')
      w.error('spec.provider', 'must be an object with a non-empty name');
    else provider = spec.provider.name;
    if (action !== 'CUSTOM') w.error('spec.provider', `is only allowed with action CUSTOM, not ${action}`);
  } else if (action === 'CUSTOM') {
    w.error('spec.provider', 'is required with action CUSTOM (the name of an ext-authz provider in mesh config)');
  }

  const selector = walkSelector(w, spec.selector);
  const hasTargetRefs = (Array.isArray(spec.targetRefs) && spec.targetRefs.length > 0) || isObject(spec.targetRef);
  if (spec.targetRefs !== undefined && spec.targetRefs !== null && !Array.isArray(spec.targetRefs))
    w.error('spec.targetRefs', `must be a list, got ${describe(spec.targetRefs)}`);
  if (spec.targetRef !== undefined && spec.targetRef !== null && !isObject(spec.targetRef))
    w.error('spec.targetRef', `must be an object, got ${describe(spec.targetRef)}`);
  if (hasTargetRefs && spec.selector !== undefined && spec.selector !== null) w.error('spec.selector', 'selector and targetRef(s) are mutually exclusive');

  const rules: CompiledRule[] = [];
  if (spec.rules !== undefined && spec.rules !== null) {
    if (!Array.isArray(spec.rules)) w.error('spec.rules', `must be a list, got ${describe(spec.rules)}`);
    else
      spec.rules.forEach((r, i) => {
        const rule = walkRule(w, r, `spec.rules[${i}]`, i, namespace, name);
        if (rule) rules.push(rule);
      });
  }

  const policy: CompiledPolicy = { name, namespace, action, selector, hasTargetRefs, provider, rules, origin };
  return { policy, problems: w.problems };
}

function walkSelector(w: Walker, v: Json): Labels | undefined {
  if (v === undefined || v === null) return undefined;
  if (!isObject(v)) {
    w.error('spec.selector', `must be an object with matchLabels, got ${describe(v)}`);
    return undefined;
  }
  w.unknownFields(v, ['matchLabels'], 'spec.selector');
  const labels: Record<string, string> = {};
  if (v.matchLabels === undefined || v.matchLabels === null) return labels;
  if (!isObject(v.matchLabels)) {
    w.error('spec.selector.matchLabels', `must be a map of label to value, got ${describe(v.matchLabels)}`);
    return labels;
  }
  for (const [k, value] of Object.entries(v.matchLabels)) {
    if (typeof value !== 'string') w.error(`spec.selector.matchLabels.${k}`, `label values are strings, got ${describe(value)}`);
    else labels[k] = value;
  }
  return labels;
}

function walkRule(w: Walker, r: Json, path: string, index: number, namespace: string, name: string): CompiledRule | undefined {
  if (!isObject(r)) {
    w.error(path, `a rule must be an object, got ${describe(r)}`);
    return undefined;
  }
  w.unknownFields(r, RULE_FIELDS, path);
  const l7 = new Set<string>();

  const from = walkList(w, r.from, `${path}.from`, 'source', (src, at) => walkSource(w, src, at, namespace, l7));
  const to = walkList(w, r.to, `${path}.to`, 'operation', (op, at) => walkOperation(w, op, at, l7));
  const when: CompiledCondition[] = [];
  if (r.when !== undefined && r.when !== null) {
    if (!Array.isArray(r.when)) w.error(`${path}.when`, `must be a list, got ${describe(r.when)}`);
    else
      r.when.forEach((c, i) => {
        const cond = walkCondition(w, c, `${path}.when[${i}]`);
        if (!cond) return;
        if (cond.l7) l7.add(cond.key);
        when.push(cond);
      });
  }
  return { index, name: rbacRuleName(namespace, name, index), from, to, when, l7Fields: [...l7].sort() };
}

/** from[] / to[]: each entry wraps one object under `wrapper` (source / operation). */
function walkList<T>(w: Walker, v: Json, path: string, wrapper: string, each: (inner: Record<string, Json>, at: string) => T): T[] | undefined {
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v)) {
    w.error(path, `must be a list, got ${describe(v)}`);
    return undefined;
  }
  const out: T[] = [];
  v.forEach((entry, i) => {
    const at = `${path}[${i}]`;
    if (!isObject(entry)) return w.error(at, `must be an object with "${wrapper}", got ${describe(entry)}`);
    w.unknownFields(entry, [wrapper], at);
    const inner = entry[wrapper];
    if (!isObject(inner))
      return w.error(`${at}.${wrapper}`, inner === undefined || inner === null ? 'must not be empty' : `must be an object, got ${describe(inner)}`);
    if (Object.keys(inner).length === 0) return w.error(`${at}.${wrapper}`, 'must not be empty');
    out.push(each(inner, `${at}.${wrapper}`));
  });
  return out.length > 0 ? out : undefined;
}

function walkSource(w: Walker, src: Record<string, Json>, path: string, namespace: string, l7: Set<string>): CompiledSource {
  w.unknownFields(src, [...SOURCE_L4_FIELDS, ...SOURCE_L7_FIELDS], path);
  const out: Record<string, unknown> = {};
  for (const field of [...SOURCE_L4_FIELDS, ...SOURCE_L7_FIELDS]) {
    const at = `${path}.${field}`;
    let value: unknown;
    if (CIDR_SOURCE_FIELDS.includes(field)) value = w.cidrs(src[field], at);
    else if (field === 'serviceAccounts' || field === 'notServiceAccounts') value = serviceAccounts(w.strings(src[field], at), namespace);
    else value = w.strings(src[field], at);
    if (value === undefined) continue;
    out[field] = value;
    if ((SOURCE_L7_FIELDS as readonly string[]).includes(field)) l7.add(field);
  }
  for (const field of ['principals', 'notPrincipals'] as const) {
    (out[field] as string[] | undefined)?.forEach((p, i) => {
      if (p.startsWith(SPIFFE_PREFIX)) {
        w.warn(
          `${path}.${field}[${i}]`,
          `${JSON.stringify(p)} starts with ${SPIFFE_PREFIX}; Istio principals are written without it ("${p.slice(SPIFFE_PREFIX.length)}"), so this never matches`,
        );
      }
    });
  }
  return out as CompiledSource;
}

/** "ns/sa" names a service account in any namespace; a bare "sa" is in the policy's namespace. */
function serviceAccounts(names: string[] | undefined, namespace: string): ServiceAccountRef[] | undefined {
  return names?.map((n) => {
    const slash = n.indexOf('/');
    return slash === -1 ? { namespace, serviceAccount: n } : { namespace: n.slice(0, slash), serviceAccount: n.slice(slash + 1) };
  });
}

function walkOperation(w: Walker, op: Record<string, Json>, path: string, l7: Set<string>): CompiledOperation {
  w.unknownFields(op, [...OPERATION_L4_FIELDS, ...OPERATION_L7_FIELDS], path);
  const out: Record<string, unknown> = {};
  for (const field of OPERATION_L4_FIELDS) {
    const ports = w.ports(op[field], `${path}.${field}`);
    if (ports) out[field] = ports;
  }
  for (const field of OPERATION_L7_FIELDS) {
    const values = w.strings(op[field], `${path}.${field}`);
    if (!values) continue;
    out[field] = values;
    l7.add(field);
  }
  return out as CompiledOperation;
}

export function isKnownConditionKey(key: string): boolean {
  return L4_CONDITION_KEYS.includes(key) || L7_CONDITION_KEYS.includes(key) || L7_CONDITION_PATTERNS.some((re) => re.test(key));
}

function walkCondition(w: Walker, c: Json, path: string): CompiledCondition | undefined {
  if (!isObject(c)) {
    w.error(path, `must be an object with key and values, got ${describe(c)}`);
    return undefined;
  }
  w.unknownFields(c, ['key', 'values', 'notValues'], path);
  if (typeof c.key !== 'string' || c.key === '') {
    w.error(`${path}.key`, 'is required');
    return undefined;
  }
  const key = c.key;
  if (!isKnownConditionKey(key)) {
    w.error(
      `${path}.key`,
      `unknown attribute ${JSON.stringify(key)}; L4 keys are ${L4_CONDITION_KEYS.join(', ')}, L7 ones include request.headers[<name>], request.auth.claims[<claim>], remote.ip`,
    );
    return undefined;
  }
  // Each value list is read once, by the parser its key needs, so every problem is reported once.
  const read = (v: Json, at: string): { texts?: string[]; cidrs?: Cidr[]; ports?: number[] } => {
    if (IP_CONDITION_KEYS.includes(key)) {
      const cidrs = w.cidrs(v, at);
      return { texts: cidrs?.map((b) => b.text), cidrs };
    }
    if (PORT_CONDITION_KEYS.includes(key)) {
      const ports = w.ports(v, at);
      return { texts: ports?.map(String), ports };
    }
    return { texts: w.strings(v, at) };
  };
  const pos = read(c.values, `${path}.values`);
  const neg = read(c.notValues, `${path}.notValues`);
  if (!pos.texts && !neg.texts) w.error(path, `at least one of values or notValues must be set for key ${JSON.stringify(key)}`);

  const cond: CompiledCondition = {
    key,
    values: pos.texts,
    notValues: neg.texts,
    cidrs: pos.cidrs,
    notCidrs: neg.cidrs,
    ports: pos.ports,
    notPorts: neg.ports,
    l7: !L4_CONDITION_KEYS.includes(key),
  };
  return cond;
}
