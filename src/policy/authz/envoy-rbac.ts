// AuthorizationPolicy as Envoy's HTTP RBAC filters, the way istiod translates it for a waypoint:
// one filter per action, each rule an Envoy policy named ns[<ns>]-policy[<name>]-rule[<i>] with
// its permissions (what is asked) and principals (who asks). The waypoint's config dump puts
// them in front of each pod (waypoint/config-dump/pod.ts); the translation lives with the policy
// code, as Envoy keeps extensions/filters/common/rbac apart from the filters that use it.
import type { JsonObject } from '../../admin/json';
import type { CompiledCondition, CompiledOperation, CompiledPolicy, CompiledRule, CompiledSource } from './compile-policy';
import type { Cidr } from './match';

const FILTER_RBAC = 'envoy.filters.http.rbac';
const FILTER_EXT_AUTHZ = 'envoy.filters.http.ext_authz';
const TYPE_RBAC = 'type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBAC';
const TYPE_EXT_AUTHZ = 'type.googleapis.com/envoy.extensions.filters.http.ext_authz.v3.ExtAuthz';
const TYPE_URI_TEMPLATE = 'type.googleapis.com/envoy.extensions.path.match.uri_template.v3.UriTemplateMatchConfig';

/** Istio's stat prefixes for the shadow (dry-run) rules of each RBAC filter. */
const SHADOW_PREFIX = { ALLOW: 'istio_dry_run_allow_', DENY: 'istio_dry_run_deny_', CUSTOM: 'istio_ext_authz_' } as const;
const SPIFFE = 'spiffe://';

/**
 * Istio's HTTP authorization filters for a set of policies, in Istio's order: CUSTOM (ext_authz
 * behind an RBAC shadow filter that marks the requests to check), AUDIT (action LOG), DENY, ALLOW.
 * A filter exists only for actions some policy uses; an ALLOW filter with no policies denies all.
 * ALLOW is proto3's default action, so its filter has no `action` field, as in the seed.
 */
export function rbacFilters(policies: readonly CompiledPolicy[], trustDomain: string): JsonObject[] {
  const byAction = (action: CompiledPolicy['action']) => policies.filter((p) => p.action === action);
  const filters: JsonObject[] = [];
  const custom = byAction('CUSTOM');
  if (custom.length > 0) {
    filters.push({
      name: FILTER_RBAC,
      typed_config: {
        '@type': TYPE_RBAC,
        shadow_rules: { action: 'DENY', policies: rbacPolicies(custom, trustDomain) },
        shadow_rules_stat_prefix: SHADOW_PREFIX.CUSTOM,
      },
    });
    const providers = [...new Set(custom.map((p) => p.provider ?? ''))];
    filters.push({
      name: FILTER_EXT_AUTHZ,
      typed_config: {
        '@type': TYPE_EXT_AUTHZ,
        // The simulator runs no ext-authz server: matching requests fail closed (403), as with failure_mode_allow false.
        failure_mode_allow: false,
        filter_enabled_metadata: {
          filter: FILTER_RBAC,
          path: [{ key: 'istio_ext_authz_shadow_effective_policy_id' }],
          value: { string_match: { prefix: 'istio-ext-authz' } },
        },
        stat_prefix: providers.join(','),
      },
    });
  }
  const audit = byAction('AUDIT');
  if (audit.length > 0)
    filters.push({ name: FILTER_RBAC, typed_config: { '@type': TYPE_RBAC, rules: { action: 'LOG', policies: rbacPolicies(audit, trustDomain) } } });
  const deny = byAction('DENY');
  if (deny.length > 0) {
    filters.push({
      name: FILTER_RBAC,
      typed_config: { '@type': TYPE_RBAC, rules: { action: 'DENY', policies: rbacPolicies(deny, trustDomain) }, shadow_rules_stat_prefix: SHADOW_PREFIX.DENY },
    });
  }
  const allow = byAction('ALLOW');
  if (allow.length > 0) {
    filters.push({
      name: FILTER_RBAC,
      typed_config: { '@type': TYPE_RBAC, rules: { policies: rbacPolicies(allow, trustDomain) }, shadow_rules_stat_prefix: SHADOW_PREFIX.ALLOW },
    });
  }
  return filters;
}

/** ns[<ns>]-policy[<name>]-rule[<i>] -> {permissions, principals}, in name order (Envoy's map order). */
function rbacPolicies(policies: readonly CompiledPolicy[], trustDomain: string): JsonObject {
  const rules = policies.flatMap((p) => p.rules).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const out: JsonObject = {};
  for (const rule of rules) out[rule.name] = rbacPolicy(rule, trustDomain);
  return out;
}

// `when` keys Istio turns into principals (who is asking); the rest are permissions (what is asked).
const PRINCIPAL_CONDITION = /^(source\.|remote\.ip$|request\.headers\[|request\.auth\.)/;

/** One rule as Envoy's Policy: permissions from `to` (and `when` on the request), principals from `from` (and `when` on the caller). */
export function rbacPolicy(rule: CompiledRule, trustDomain: string): JsonObject {
  const principalWhen = rule.when.filter((c) => PRINCIPAL_CONDITION.test(c.key)).map(conditionId);
  const permissionWhen = rule.when.filter((c) => !PRINCIPAL_CONDITION.test(c.key)).map(conditionRule);
  const permissions = (rule.to ?? [undefined]).map((op) => {
    const rules = [...(op ? operationRules(op) : []), ...permissionWhen];
    return { and_rules: { rules: rules.length > 0 ? rules : [{ any: true }] } };
  });
  const principals = (rule.from ?? [undefined]).map((src) => {
    const ids = [...(src ? sourceIds(src, trustDomain) : []), ...principalWhen];
    return { and_ids: { ids: ids.length > 0 ? ids : [{ any: true }] } };
  });
  return { permissions, principals };
}

/** Istio's string match: "*" any non-empty value, "x*" prefix, "*x" suffix, else exact. */
function stringMatch(pattern: string, extra: JsonObject = {}): JsonObject {
  if (pattern === '*') return { safe_regex: { regex: '.+' }, ...extra };
  if (pattern.startsWith('*')) return { suffix: pattern.slice(1), ...extra };
  if (pattern.endsWith('*')) return { prefix: pattern.slice(0, -1), ...extra };
  return { exact: pattern, ...extra };
}

/** A principal pattern (written without spiffe://) against the peer certificate's URI SAN. */
function principalMatch(pattern: string): JsonObject {
  if (pattern === '*' || pattern.startsWith('*')) return stringMatch(pattern);
  if (pattern.endsWith('*')) return { prefix: SPIFFE + pattern.slice(0, -1) };
  return { exact: SPIFFE + pattern };
}

function escapeRegex(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function namespaceRegex(pattern: string): string {
  const body = pattern === '*' ? '.+' : pattern.split('*').map(escapeRegex).join('.*');
  return `.*/ns/${body}/.*`;
}

const authenticated = (principal_name: JsonObject): JsonObject => ({ authenticated: { principal_name } });
const orIds = (ids: JsonObject[]): JsonObject => ({ or_ids: { ids } });
const notId = (ids: JsonObject[]): JsonObject => ({ not_id: orIds(ids) });
const orRules = (rules: JsonObject[]): JsonObject => ({ or_rules: { rules } });
const notRule = (rules: JsonObject[]): JsonObject => ({ not_rule: orRules(rules) });

function cidrRange(c: Cidr): JsonObject {
  return { address_prefix: c.text.split('/')[0], prefix_len: c.prefixLength };
}

function authnMetadata(key: string, value: JsonObject): JsonObject {
  return { metadata: { filter: 'istio_authn', path: [{ key }], value: { string_match: value } } };
}

function sourceIds(src: CompiledSource, td: string): JsonObject[] {
  const ids: JsonObject[] = [];
  const field = <T>(pos: readonly T[] | undefined, neg: readonly T[] | undefined, one: (v: T) => JsonObject): void => {
    if (pos) ids.push(orIds(pos.map(one)));
    if (neg) ids.push(notId(neg.map(one)));
  };
  field(src.principals, src.notPrincipals, (p) => authenticated(principalMatch(p)));
  field(src.requestPrincipals, src.notRequestPrincipals, (p) => authnMetadata('request.auth.principal', stringMatch(p)));
  field(src.namespaces, src.notNamespaces, (n) => authenticated({ safe_regex: { regex: namespaceRegex(n) } }));
  field(src.serviceAccounts, src.notServiceAccounts, (sa) => authenticated({ exact: `${SPIFFE}${td}/ns/${sa.namespace}/sa/${sa.serviceAccount}` }));
  field(src.ipBlocks, src.notIpBlocks, (c) => ({ direct_remote_ip: cidrRange(c) }));
  field(src.remoteIpBlocks, src.notRemoteIpBlocks, (c) => ({ remote_ip: cidrRange(c) }));
  return ids;
}

function headerRule(name: string, pattern: string, ignoreCase = false): JsonObject {
  if (pattern === '*') return { header: { name, present_match: true } };
  return { header: { name, string_match: stringMatch(pattern, ignoreCase ? { ignore_case: true } : {}) } };
}

function pathRule(pattern: string): JsonObject {
  if (/\{\*\*?\}/.test(pattern)) return { uri_template: { name: 'uri-template', typed_config: { '@type': TYPE_URI_TEMPLATE, path_template: pattern } } };
  return { url_path: { path: stringMatch(pattern) } };
}

function operationRules(op: CompiledOperation): JsonObject[] {
  const rules: JsonObject[] = [];
  const field = <T>(pos: readonly T[] | undefined, neg: readonly T[] | undefined, one: (v: T) => JsonObject): void => {
    if (pos) rules.push(orRules(pos.map(one)));
    if (neg) rules.push(notRule(neg.map(one)));
  };
  field(op.hosts, op.notHosts, (h) => headerRule(':authority', h, true));
  field(op.ports, op.notPorts, (p) => ({ destination_port: p }));
  field(op.methods, op.notMethods, (m) => headerRule(':method', m));
  field(op.paths, op.notPaths, pathRule);
  return rules;
}

/** A principal-side `when` (source.*, remote.ip, request.headers[...], request.auth.*). */
function conditionId(c: CompiledCondition): JsonObject {
  let one: (v: string, i: number, cidrs?: readonly Cidr[]) => JsonObject;
  const header = /^request\.headers\[(.+)\]$/.exec(c.key);
  if (c.key === 'source.ip') one = (_v, i, cidrs) => ({ direct_remote_ip: cidrRange(cidrs![i]) });
  else if (c.key === 'remote.ip') one = (_v, i, cidrs) => ({ remote_ip: cidrRange(cidrs![i]) });
  else if (c.key === 'source.namespace') one = (v) => authenticated({ safe_regex: { regex: namespaceRegex(v) } });
  else if (c.key === 'source.principal') one = (v) => authenticated(principalMatch(v));
  else if (header) one = (v) => headerRule(header[1], v);
  else one = (v) => authnMetadata(c.key, stringMatch(v));
  const ids: JsonObject[] = [];
  if (c.values) ids.push(orIds(c.values.map((v, i) => one(v, i, c.cidrs))));
  if (c.notValues) ids.push(notId(c.notValues.map((v, i) => one(v, i, c.notCidrs))));
  return ids.length === 1 ? ids[0] : { and_ids: { ids } };
}

/** A permission-side `when` (destination.ip, destination.port, connection.sni, experimental.*). */
function conditionRule(c: CompiledCondition): JsonObject {
  let one: (v: string, i: number, cidrs?: readonly Cidr[], ports?: readonly number[]) => JsonObject;
  if (c.key === 'destination.ip') one = (_v, i, cidrs) => ({ destination_ip: cidrRange(cidrs![i]) });
  else if (c.key === 'destination.port') one = (_v, i, _c, ports) => ({ destination_port: ports![i] });
  else if (c.key === 'connection.sni') one = (v) => ({ requested_server_name: stringMatch(v) });
  else one = (v) => ({ metadata: { filter: c.key, path: [], value: { string_match: stringMatch(v) } } });
  const rules: JsonObject[] = [];
  if (c.values) rules.push(orRules(c.values.map((v, i) => one(v, i, c.cidrs, c.ports))));
  if (c.notValues) rules.push(notRule(c.notValues.map((v, i) => one(v, i, c.notCidrs, c.notPorts))));
  return rules.length === 1 ? rules[0] : { and_rules: { rules } };
}
