// Stage 2's routes: the RouteConfiguration inbound-vip|<port>|http|<host> (served by RDS) that
// Istio writes from the HTTPRoutes attached to a service port, in precedence order; a port
// without routes gets one default route to its own cluster.
import type { Service } from '../../mesh/model';
import { serviceHost } from '../../mesh/model';
import type { CompiledMatch, CompiledRouteTable, HeaderModifier, RetryPolicy, ValueMatcher } from '../../policy/httproute';
import { vipStage } from '../envoy-names';
import type { JsonObject } from '../../admin/json';
import { durationText } from './resources';

const TYPE_ROUTE_CONFIGURATION = 'type.googleapis.com/envoy.config.route.v3.RouteConfiguration';
const TYPE_PREVIOUS_HOSTS = 'type.googleapis.com/envoy.extensions.retry.host.previous_hosts.v3.PreviousHostsPredicate';

/** Istio's retry_on for every retry policy it writes. */
const ISTIO_RETRY_ON = 'connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes';

export function vipRouteConfig(service: Service, port: number, table: CompiledRouteTable): JsonObject {
  const host = serviceHost(service);
  const decorator = { operation: `${host}:${port}/*` };
  const routes: JsonObject[] =
    table.matches.length === 0
      ? [
          {
            match: { prefix: '/' },
            route: { cluster: vipStage(service, port), timeout: '0s', max_stream_duration: { max_stream_duration: '0s', grpc_timeout_header_max: '0s' } },
            decorator: { operation: `:${port}/*` },
            name: 'default',
          },
        ]
      : envoyRoutes(table, (t) => vipStage(t, t.port), decorator);
  return {
    '@type': TYPE_ROUTE_CONFIGURATION,
    name: vipStage(service, port),
    virtual_hosts: [{ name: `inbound|http|${port}`, domains: ['*'], routes }],
    validate_clusters: false,
  };
}

/** A table's matches as Envoy routes, in precedence order, each backend named by `clusterOf`. */
export function envoyRoutes(table: CompiledRouteTable, clusterOf: (t: BackendTarget) => string, decorator: JsonObject): JsonObject[] {
  return table.matches.map((m) => httpRoute(m, clusterOf, decorator));
}

type BackendTarget = { readonly name: string; readonly namespace: string; readonly port: number };

function httpRoute(m: CompiledMatch, clusterOf: (t: BackendTarget) => string, decorator: JsonObject): JsonObject {
  const rule = m.rule;
  const match: JsonObject = {};
  switch (m.path.type) {
    case 'Exact':
      match.path = m.path.value;
      break;
    case 'RegularExpression':
      match.safe_regex = { regex: m.path.value };
      break;
    default:
      // Istio writes PathPrefix /foo as path_separated_prefix (/foo and /foo/..., not /foobar).
      if (m.path.value === '/') match.prefix = '/';
      else match.path_separated_prefix = m.path.value;
  }
  const headers: JsonObject[] = m.headers.map((h) => ({ name: h.name, string_match: valueMatch(h) }));
  if (m.method) headers.push({ name: ':method', string_match: { exact: m.method } });
  if (headers.length > 0) match.headers = headers;
  if (m.queryParams.length > 0) match.query_parameters = m.queryParams.map((q) => ({ name: q.name, string_match: valueMatch(q) }));

  const out: JsonObject = { name: rule.envoyName, match };
  const valid = rule.backends;
  if (valid.length === 0) {
    out.direct_response = { status: 500 };
  } else {
    const route: JsonObject = {};
    if (valid.length === 1 && valid[0].headerModifiers.length === 0) {
      route.cluster = clusterOf(valid[0].target);
    } else {
      route.weighted_clusters = {
        clusters: valid.map((b) => ({ name: clusterOf(b.target), weight: b.weight, ...headerActions(b.headerModifiers) })),
      };
    }
    route.timeout = durationText(rule.timeoutMs ?? 0);
    route.retry_policy = retryPolicy(rule.retry);
    route.max_stream_duration = { max_stream_duration: '0s', grpc_timeout_header_max: '0s' };
    out.route = route;
  }
  Object.assign(out, headerActions(rule.headerModifiers));
  out.decorator = decorator;
  return out;
}

function valueMatch(v: ValueMatcher): JsonObject {
  return v.type === 'RegularExpression' ? { safe_regex: { regex: v.value } } : { exact: v.value };
}

/** RequestHeaderModifier filters as Envoy's request_headers_to_add / _to_remove. */
function headerActions(mods: readonly HeaderModifier[]): JsonObject {
  const add: JsonObject[] = [];
  const remove: string[] = [];
  for (const m of mods) {
    for (const h of m.set) add.push({ header: { key: h.name, value: h.value }, append_action: 'OVERWRITE_IF_EXISTS_OR_ADD' });
    for (const h of m.add) add.push({ header: { key: h.name, value: h.value }, append_action: 'APPEND_IF_EXISTS_OR_ADD' });
    remove.push(...m.remove);
  }
  return { ...(add.length > 0 ? { request_headers_to_add: add } : {}), ...(remove.length > 0 ? { request_headers_to_remove: remove } : {}) };
}

function retryPolicy(r: RetryPolicy): JsonObject {
  return {
    retry_on: ISTIO_RETRY_ON,
    num_retries: r.attempts,
    ...(r.perTryTimeoutMs !== undefined ? { per_try_timeout: durationText(r.perTryTimeoutMs) } : {}),
    ...(r.backoffMs !== undefined ? { retry_back_off: { base_interval: durationText(r.backoffMs) } } : {}),
    retry_host_predicate: [{ name: 'envoy.retry_host_predicates.previous_hosts', typed_config: { '@type': TYPE_PREVIOUS_HOSTS } }],
    host_selection_retry_max_attempts: '5',
    retriable_status_codes: [...r.codes],
  };
}
