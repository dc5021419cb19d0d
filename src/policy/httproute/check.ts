// Checks an HTTPRoute document as parsed from YAML. It refuses what the Gateway API's CRD
// schema and CEL rules refuse (so a route that loads here would also be accepted by a real
// API server), plus what a waypoint could not use: parents other than a Service, and features
// this simulator does not model. Each problem carries a path inside the document, such as
// spec.rules[0].matches[1].path.value, which a loader can turn into the YAML line.
// Longer than 400 lines on purpose: the checks follow the CRD schema field by field, in its
// order, and read best as one walk down the document.
import { nameProblem } from '../../mesh/k8s-names';
import {
  GATEWAY_GROUP,
  GATEWAY_KIND,
  CORE_GROUP,
  FILTER_TYPES,
  HTTP_METHODS,
  HTTPROUTE_API_VERSIONS,
  HTTPROUTE_KIND,
  PATH_MATCH_TYPES,
  SERVICE_KIND,
  SUPPORTED_FILTER_TYPE,
  VALUE_MATCH_TYPES,
} from './doc';
import { durationProblem, parseGatewayDuration } from './duration';
import { compileFullMatch } from './regex';

// Fields each object may have. `status` is written by the API server; it is accepted and ignored.
const TOP_FIELDS = ['apiVersion', 'kind', 'metadata', 'spec', 'status'];
const METADATA_FIELDS = ['name', 'namespace', 'labels', 'annotations', 'creationTimestamp'];
const SPEC_FIELDS = ['parentRefs', 'hostnames', 'rules'];
const PARENT_FIELDS = ['group', 'kind', 'namespace', 'name', 'sectionName', 'port'];
const RULE_FIELDS = ['name', 'matches', 'filters', 'backendRefs', 'timeouts', 'retry', 'sessionPersistence'];
const MATCH_FIELDS = ['path', 'headers', 'queryParams', 'method'];
const PATH_FIELDS = ['type', 'value'];
const VALUE_MATCH_FIELDS = ['type', 'name', 'value'];
const FILTER_FIELDS = [
  'type',
  'requestHeaderModifier',
  'responseHeaderModifier',
  'requestMirror',
  'requestRedirect',
  'urlRewrite',
  'extensionRef',
  'cors',
  'externalAuth',
];
const MODIFIER_FIELDS = ['set', 'add', 'remove'];
const HEADER_VALUE_FIELDS = ['name', 'value'];
const BACKEND_FIELDS = ['group', 'kind', 'name', 'namespace', 'port', 'weight', 'filters'];
const TIMEOUT_FIELDS = ['request', 'backendRequest'];
const RETRY_FIELDS = ['attempts', 'backoff', 'codes'];

// The CRD's list and value limits.
const MAX_PARENT_REFS = 32;
const MAX_HOSTNAMES = 16;
const MAX_RULES = 16;
const MAX_MATCHES_PER_RULE = 64;
const MAX_MATCHES_PER_ROUTE = 128;
const MAX_VALUE_MATCHES = 16;
const MAX_FILTERS = 16;
const MAX_HEADER_ACTIONS = 16;
const MAX_BACKEND_REFS = 16;
const MAX_PATH_LENGTH = 1024;
const MAX_HEADER_VALUE_LENGTH = 4096;
const MAX_QUERY_VALUE_LENGTH = 1024;
const MAX_HEADER_NAME_LENGTH = 256;
const MAX_WEIGHT = 1_000_000;
const MIN_PORT = 1;
const MAX_PORT = 65535;
const MIN_RETRY_CODE = 400;
const MAX_RETRY_CODE = 599;

// HTTP token characters: header and query-parameter names (so no HTTP/2 pseudo-headers).
const HEADER_NAME_RE = /^[A-Za-z0-9!#$%&'*+\-.^_`|~]+$/;
// Exact and PathPrefix values: unreserved and sub-delim characters, /, :, @ and %XX escapes.
const PATH_CHARS_RE = /^(?:[-A-Za-z0-9/._~!$&'()*+,;=:@]|%[0-9a-fA-F]{2})+$/;
const PATH_FORBIDDEN_PARTS = ['//', '/./', '/../', '%2f', '%2F', '#'];
const PATH_FORBIDDEN_ENDINGS = ['/..', '/.'];
// Rule names and sectionName: DNS subdomain.
const SECTION_NAME_RE = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const HOSTNAME_RE = /^(\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const RFC3339_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

/** The field that carries each filter type's settings (a union keyed by `type`). */
const FILTER_SETTINGS: Readonly<Record<string, string>> = {
  RequestHeaderModifier: 'requestHeaderModifier',
  ResponseHeaderModifier: 'responseHeaderModifier',
  RequestMirror: 'requestMirror',
  RequestRedirect: 'requestRedirect',
  URLRewrite: 'urlRewrite',
  ExtensionRef: 'extensionRef',
  CORS: 'cors',
  ExternalAuth: 'externalAuth',
};

export interface HttpRouteProblem {
  /** Path inside the document, e.g. spec.rules[0].matches[1].path.value; '' for the document itself. */
  readonly path: string;
  readonly message: string;
}

/** Every problem with an HTTPRoute document; empty when the route is usable. */
export function checkHttpRoute(doc: unknown): HttpRouteProblem[] {
  const c = new Checker();
  c.document(doc);
  return c.problems;
}

type Obj = Record<string, unknown>;

function isObject(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  return `${typeof v} ${JSON.stringify(v)}`;
}

function at(parent: string, key: string | number): string {
  if (typeof key === 'number') return `${parent}[${key}]`;
  return parent === '' ? key : `${parent}.${key}`;
}

/** YAML writes an empty optional field as null; the API server treats that as absent. */
function present(v: unknown): boolean {
  return v !== undefined && v !== null;
}

class Checker {
  readonly problems: HttpRouteProblem[] = [];

  private add(path: string, message: string): void {
    this.problems.push({ path, message });
  }

  document(doc: unknown): void {
    const top = this.object(doc, '', TOP_FIELDS);
    if (!top) return;
    const apiVersion = top.apiVersion;
    if (!present(apiVersion)) this.add('apiVersion', `is required (${HTTPROUTE_API_VERSIONS[0]})`);
    else if (typeof apiVersion !== 'string' || !HTTPROUTE_API_VERSIONS.includes(apiVersion)) {
      this.add('apiVersion', `${JSON.stringify(apiVersion)} is not an HTTPRoute version (${HTTPROUTE_API_VERSIONS.join(' or ')})`);
    }
    if (top.kind !== HTTPROUTE_KIND)
      this.add('kind', present(top.kind) ? `${JSON.stringify(top.kind)} is not ${HTTPROUTE_KIND}` : `is required (${HTTPROUTE_KIND})`);
    this.metadata(top.metadata);
    if (!present(top.spec)) this.add('spec', 'is required');
    else this.spec(top.spec);
  }

  private metadata(v: unknown): void {
    if (!present(v)) {
      this.add('metadata', 'is required (name and namespace)');
      return;
    }
    const m = this.object(v, 'metadata', METADATA_FIELDS);
    if (!m) return;
    this.name(m.name, 'metadata.name', 'subdomain', true);
    this.name(m.namespace, 'metadata.namespace', 'label', true);
    this.stringMap(m.labels, 'metadata.labels');
    this.stringMap(m.annotations, 'metadata.annotations');
    if (present(m.creationTimestamp)) {
      const ts = m.creationTimestamp;
      if (typeof ts !== 'string' || !RFC3339_RE.test(ts) || Number.isNaN(Date.parse(ts))) {
        this.add('metadata.creationTimestamp', `${JSON.stringify(ts)} is not an RFC 3339 time such as 2024-05-01T12:00:00Z`);
      }
    }
  }

  private spec(v: unknown): void {
    const s = this.object(v, 'spec', SPEC_FIELDS);
    if (!s) return;
    this.parentRefs(s.parentRefs);
    const hostnames = this.list(s.hostnames, 'spec.hostnames', MAX_HOSTNAMES);
    hostnames?.forEach((h, i) => {
      if (typeof h !== 'string' || h.length > 253 || !HOSTNAME_RE.test(h)) {
        this.add(`spec.hostnames[${i}]`, `${JSON.stringify(h)} is not a hostname (lower-case DNS name, optionally starting with *.)`);
      }
    });
    // Absent rules get the CRD default: one rule matching everything, with no backend.
    if (!present(s.rules)) return;
    const rules = this.list(s.rules, 'spec.rules', MAX_RULES);
    if (!rules) return;
    if (rules.length === 0) this.add('spec.rules', 'must have at least one rule (omit the field for the default rule)');
    const names = new Map<string, number>();
    let matchCount = 0;
    rules.forEach((r, i) => {
      const p = `spec.rules[${i}]`;
      const rule = this.object(r, p, RULE_FIELDS);
      if (!rule) return;
      if (present(rule.name)) {
        const name = this.sectionName(rule.name, `${p}.name`);
        if (name !== undefined) {
          const first = names.get(name);
          if (first !== undefined) this.add(`${p}.name`, `${JSON.stringify(name)} is already the name of spec.rules[${first}]; rule names must be unique`);
          else names.set(name, i);
        }
      }
      matchCount += this.rule(rule, p);
    });
    if (matchCount > MAX_MATCHES_PER_ROUTE) this.add('spec.rules', `has ${matchCount} matches in all; a route may have at most ${MAX_MATCHES_PER_ROUTE}`);
  }

  private parentRefs(v: unknown): void {
    const path = 'spec.parentRefs';
    if (!present(v) || (Array.isArray(v) && v.length === 0)) {
      this.add(path, 'attaches the route to nothing; a waypoint route names its Service: { group: "", kind: Service, name: <service> }');
      return;
    }
    const refs = this.list(v, path, MAX_PARENT_REFS);
    const seen = new Map<string, number>();
    refs?.forEach((r, i) => {
      const p = at(path, i);
      const ref = this.object(r, p, PARENT_FIELDS);
      if (!ref) return;
      const kind = ref.kind;
      if (!present(kind) || kind === GATEWAY_KIND) {
        // A Gateway (kind and group may be left out): an ingress Gateway's listener.
        if (present(ref.group) && ref.group !== GATEWAY_GROUP)
          this.add(at(p, 'group'), `${JSON.stringify(ref.group)} is not ${GATEWAY_GROUP}, the group of a Gateway`);
      } else if (kind !== SERVICE_KIND) {
        this.add(at(p, 'kind'), `${JSON.stringify(kind)} is neither Service (a waypoint's route) nor Gateway (an ingress Gateway's)`);
      } else if (!present(ref.group)) {
        this.add(at(p, 'group'), 'must be written as "" for a Service: an omitted group means gateway.networking.k8s.io');
      } else if (ref.group !== CORE_GROUP) {
        this.add(at(p, 'group'), `${JSON.stringify(ref.group)} is not the core group; write group: "" for a Service`);
      }
      this.name(ref.name, at(p, 'name'), 'service', true);
      if (present(ref.namespace)) this.name(ref.namespace, at(p, 'namespace'), 'label', false);
      if (present(ref.sectionName)) this.sectionName(ref.sectionName, at(p, 'sectionName'));
      if (present(ref.port)) this.integer(ref.port, at(p, 'port'), MIN_PORT, MAX_PORT);
      const key = JSON.stringify([ref.group, ref.kind, ref.namespace ?? null, ref.name, ref.sectionName ?? null, ref.port ?? null]);
      const first = seen.get(key);
      if (first !== undefined) this.add(p, `names the same parent as ${at(path, first)}; give each a different port or sectionName`);
      else seen.set(key, i);
    });
  }

  /** Checks one rule; returns its number of matches. */
  private rule(rule: Obj, p: string): number {
    if (present(rule.sessionPersistence)) this.add(at(p, 'sessionPersistence'), 'is not simulated by hbone-sim');
    let matchCount = 1; // the default match
    if (present(rule.matches)) {
      const matches = this.list(rule.matches, at(p, 'matches'), MAX_MATCHES_PER_RULE);
      matches?.forEach((m, i) => this.match(m, at(at(p, 'matches'), i)));
      matchCount = Math.max(1, matches?.length ?? 0);
    }
    this.filters(rule.filters, at(p, 'filters'));
    const backends = this.list(rule.backendRefs, at(p, 'backendRefs'), MAX_BACKEND_REFS);
    backends?.forEach((b, i) => this.backendRef(b, at(at(p, 'backendRefs'), i)));
    if (present(rule.timeouts)) this.timeouts(rule.timeouts, at(p, 'timeouts'));
    if (present(rule.retry)) this.retry(rule.retry, at(p, 'retry'));
    return matchCount;
  }

  private match(v: unknown, p: string): void {
    const m = this.object(v, p, MATCH_FIELDS);
    if (!m) return;
    if (present(m.path)) this.pathMatch(m.path, at(p, 'path'));
    this.valueMatches(m.headers, at(p, 'headers'), MAX_HEADER_VALUE_LENGTH, 'header');
    this.valueMatches(m.queryParams, at(p, 'queryParams'), MAX_QUERY_VALUE_LENGTH, 'query parameter');
    if (present(m.method) && !(HTTP_METHODS as readonly unknown[]).includes(m.method)) {
      this.add(at(p, 'method'), `${JSON.stringify(m.method)} is not one of ${HTTP_METHODS.join(', ')} (upper case)`);
    }
  }

  private pathMatch(v: unknown, p: string): void {
    const path = this.object(v, p, PATH_FIELDS);
    if (!path) return;
    const type = path.type ?? 'PathPrefix';
    if (!(PATH_MATCH_TYPES as readonly unknown[]).includes(type)) {
      this.add(at(p, 'type'), `${JSON.stringify(type)} is not one of ${PATH_MATCH_TYPES.join(', ')}`);
      return;
    }
    const value = path.value ?? '/';
    const vp = at(p, 'value');
    if (typeof value !== 'string') {
      this.add(vp, `must be a string, got ${describe(value)}`);
      return;
    }
    if (value.length > MAX_PATH_LENGTH) this.add(vp, `is longer than ${MAX_PATH_LENGTH} characters`);
    if (type === 'RegularExpression') {
      const re = compileFullMatch(value);
      if ('problem' in re) this.add(vp, re.problem);
      return;
    }
    if (!value.startsWith('/')) {
      this.add(vp, `${JSON.stringify(value)} must be an absolute path starting with / for type ${type}`);
      return;
    }
    const bad = PATH_FORBIDDEN_PARTS.find((part) => value.includes(part)) ?? PATH_FORBIDDEN_ENDINGS.find((end) => value.endsWith(end));
    if (bad) this.add(vp, `${JSON.stringify(value)} must not contain ${JSON.stringify(bad)} for type ${type}`);
    else if (!PATH_CHARS_RE.test(value))
      this.add(vp, `${JSON.stringify(value)} has characters a path may not contain (spaces, ?, and others must be %-escaped)`);
  }

  private valueMatches(v: unknown, p: string, maxValue: number, what: string): void {
    const items = this.list(v, p, MAX_VALUE_MATCHES);
    const seen = new Map<string, number>();
    items?.forEach((item, i) => {
      const ip = at(p, i);
      const m = this.object(item, ip, VALUE_MATCH_FIELDS);
      if (!m) return;
      const type = m.type ?? 'Exact';
      if (!(VALUE_MATCH_TYPES as readonly unknown[]).includes(type))
        this.add(at(ip, 'type'), `${JSON.stringify(type)} is not one of ${VALUE_MATCH_TYPES.join(', ')}`);
      const name = this.headerName(m.name, at(ip, 'name'), what);
      if (name !== undefined) {
        // The API server keys these lists by the exact name, so an exact repeat is refused.
        const first = seen.get(name);
        if (first !== undefined) this.add(at(ip, 'name'), `${what} ${JSON.stringify(name)} is already matched by ${at(p, first)}`);
        else seen.set(name, i);
      }
      const value = this.text(m.value, at(ip, 'value'), maxValue);
      if (value !== undefined && type === 'RegularExpression') {
        const re = compileFullMatch(value);
        if ('problem' in re) this.add(at(ip, 'value'), re.problem);
      }
    });
  }

  private filters(v: unknown, p: string): void {
    const filters = this.list(v, p, MAX_FILTERS);
    let modifiers = 0;
    filters?.forEach((item, i) => {
      const fp = at(p, i);
      const f = this.object(item, fp, FILTER_FIELDS);
      if (!f) return;
      const type = f.type;
      if (!present(type)) {
        this.add(at(fp, 'type'), `is required (${SUPPORTED_FILTER_TYPE})`);
        return;
      }
      if (!(FILTER_TYPES as readonly unknown[]).includes(type)) {
        this.add(at(fp, 'type'), `${JSON.stringify(type)} is not a Gateway API filter type (${FILTER_TYPES.join(', ')})`);
        return;
      }
      const own = FILTER_SETTINGS[type as string];
      for (const key of Object.values(FILTER_SETTINGS)) {
        if (key !== own && present(f[key])) this.add(at(fp, key), `must be absent for a ${String(type)} filter`);
      }
      if (type !== SUPPORTED_FILTER_TYPE) {
        this.add(at(fp, 'type'), `${String(type)} is a Gateway API filter hbone-sim does not simulate (only ${SUPPORTED_FILTER_TYPE})`);
        return;
      }
      modifiers++;
      if (modifiers > 1) this.add(fp, `${SUPPORTED_FILTER_TYPE} may appear only once in a filter list`);
      if (!present(f[own])) this.add(at(fp, own), `is required for a ${SUPPORTED_FILTER_TYPE} filter`);
      else this.headerModifier(f[own], at(fp, own));
    });
  }

  private headerModifier(v: unknown, p: string): void {
    const m = this.object(v, p, MODIFIER_FIELDS);
    if (!m) return;
    // One action per header name (names compared case-insensitively), across set, add and remove.
    const acted = new Map<string, string>();
    const claim = (name: string, where: string): void => {
      const key = name.toLowerCase();
      const first = acted.get(key);
      if (first !== undefined) this.add(where, `header ${JSON.stringify(name)} already has an action at ${first}; a filter may act on a header once`);
      else acted.set(key, where);
    };
    for (const action of ['set', 'add'] as const) {
      const items = this.list(m[action], at(p, action), MAX_HEADER_ACTIONS);
      items?.forEach((item, i) => {
        const ip = at(at(p, action), i);
        const h = this.object(item, ip, HEADER_VALUE_FIELDS);
        if (!h) return;
        const name = this.headerName(h.name, at(ip, 'name'), 'header');
        this.text(h.value, at(ip, 'value'), MAX_HEADER_VALUE_LENGTH);
        if (name !== undefined) claim(name, at(ip, 'name'));
      });
    }
    const removes = this.list(m.remove, at(p, 'remove'), MAX_HEADER_ACTIONS);
    removes?.forEach((item, i) => {
      const ip = at(at(p, 'remove'), i);
      const name = this.headerName(item, ip, 'header');
      if (name !== undefined) claim(name, ip);
    });
  }

  // A backend in another namespace is legal here: without a ReferenceGrant (not modelled) it is
  // an invalid backend, and compileRoutes answers 500 for its share of the traffic.
  private backendRef(v: unknown, p: string): void {
    const b = this.object(v, p, BACKEND_FIELDS);
    if (!b) return;
    // Unlike parentRefs, backendRefs default to the core group and kind Service.
    if (present(b.group) && b.group !== CORE_GROUP)
      this.add(at(p, 'group'), `${JSON.stringify(b.group)} is not the core group; hbone-sim routes only to Services`);
    if (present(b.kind) && b.kind !== SERVICE_KIND) this.add(at(p, 'kind'), `${JSON.stringify(b.kind)} is not Service; hbone-sim routes only to Services`);
    this.name(b.name, at(p, 'name'), 'service', true);
    if (present(b.namespace)) this.name(b.namespace, at(p, 'namespace'), 'label', false);
    if (!present(b.port)) this.add(at(p, 'port'), 'is required for a Service backend (the Service port, e.g. 9080)');
    else this.integer(b.port, at(p, 'port'), MIN_PORT, MAX_PORT);
    if (present(b.weight)) this.integer(b.weight, at(p, 'weight'), 0, MAX_WEIGHT);
    this.filters(b.filters, at(p, 'filters'));
  }

  private timeouts(v: unknown, p: string): void {
    const t = this.object(v, p, TIMEOUT_FIELDS);
    if (!t) return;
    const parsed: Record<string, number | undefined> = {};
    for (const key of TIMEOUT_FIELDS) {
      if (!present(t[key])) continue;
      const problem = durationProblem(t[key]);
      if (problem) this.add(at(p, key), problem);
      else parsed[key] = parseGatewayDuration(t[key] as string);
    }
    const { request, backendRequest } = parsed;
    if (request !== undefined && backendRequest !== undefined && request !== 0 && backendRequest > request) {
      this.add(at(p, 'backendRequest'), `${String(t.backendRequest)} is longer than the request timeout ${String(t.request)}, which covers every backend try`);
    }
  }

  private retry(v: unknown, p: string): void {
    const r = this.object(v, p, RETRY_FIELDS);
    if (!r) return;
    if (present(r.attempts)) this.integer(r.attempts, at(p, 'attempts'), 0, Number.MAX_SAFE_INTEGER);
    if (present(r.backoff)) {
      const problem = durationProblem(r.backoff);
      if (problem) this.add(at(p, 'backoff'), problem);
    }
    const codes = this.list(r.codes, at(p, 'codes'), Number.MAX_SAFE_INTEGER);
    const seen = new Set<unknown>();
    codes?.forEach((code, i) => {
      const cp = at(at(p, 'codes'), i);
      if (this.integer(code, cp, MIN_RETRY_CODE, MAX_RETRY_CODE) === undefined) return;
      if (seen.has(code)) this.add(cp, `${String(code)} is listed twice`);
      seen.add(code);
    });
  }

  // ---- value helpers: each reports its own problem and returns the value when it is sound ----

  private object(v: unknown, p: string, allowed: readonly string[]): Obj | undefined {
    if (!isObject(v)) {
      this.add(p, `must be a mapping, got ${describe(v)}`);
      return undefined;
    }
    for (const key of Object.keys(v)) {
      if (allowed.includes(key)) continue;
      const near = allowed.find((a) => a.toLowerCase() === key.toLowerCase());
      this.add(at(p, key), near ? `unknown field (did you mean ${JSON.stringify(near)}?)` : `unknown field; allowed: ${allowed.join(', ')}`);
    }
    return v;
  }

  /** An optional list: undefined when absent or not a list (reported). */
  private list(v: unknown, p: string, max: number): unknown[] | undefined {
    if (!present(v)) return undefined;
    if (!Array.isArray(v)) {
      this.add(p, `must be a list, got ${describe(v)}`);
      return undefined;
    }
    if (v.length > max) this.add(p, `has ${v.length} entries; at most ${max} are allowed`);
    return v;
  }

  private text(v: unknown, p: string, maxLength: number): string | undefined {
    if (!present(v)) {
      this.add(p, 'is required');
      return undefined;
    }
    if (typeof v !== 'string') {
      this.add(p, `must be a string, got ${describe(v)} (quote it in YAML)`);
      return undefined;
    }
    if (v.length === 0) this.add(p, 'must not be empty');
    else if (v.length > maxLength) this.add(p, `is longer than ${maxLength} characters`);
    else return v;
    return undefined;
  }

  private name(v: unknown, p: string, kind: 'label' | 'service' | 'subdomain', required: boolean): string | undefined {
    if (!present(v)) {
      if (required) this.add(p, 'is required');
      return undefined;
    }
    if (typeof v !== 'string') {
      this.add(p, `must be a string, got ${describe(v)}`);
      return undefined;
    }
    const problem = nameProblem(v, kind);
    if (problem) {
      this.add(p, problem);
      return undefined;
    }
    return v;
  }

  private sectionName(v: unknown, p: string): string | undefined {
    if (typeof v !== 'string' || v.length > 253 || !SECTION_NAME_RE.test(v)) {
      this.add(p, `${JSON.stringify(v)} is not a valid name (lower-case letters, digits, - and ., at most 253)`);
      return undefined;
    }
    return v;
  }

  private headerName(v: unknown, p: string, what: string): string | undefined {
    if (typeof v !== 'string' || v.length === 0 || v.length > MAX_HEADER_NAME_LENGTH || !HEADER_NAME_RE.test(v)) {
      this.add(p, `${JSON.stringify(v)} is not a valid ${what} name (letters, digits and !#$%&'*+-.^_\`|~; no ":" pseudo-headers)`);
      return undefined;
    }
    return v;
  }

  private integer(v: unknown, p: string, min: number, max: number): number | undefined {
    if (typeof v !== 'number' || !Number.isInteger(v)) {
      this.add(p, `must be a whole number, got ${describe(v)}`);
      return undefined;
    }
    if (v < min || v > max) {
      this.add(p, max === Number.MAX_SAFE_INTEGER ? `${v} must be at least ${min}` : `${v} is outside ${min}-${max}`);
      return undefined;
    }
    return v;
  }

  private stringMap(v: unknown, p: string): void {
    if (!present(v)) return;
    if (!isObject(v)) {
      this.add(p, `must be a mapping of strings, got ${describe(v)}`);
      return;
    }
    for (const [k, value] of Object.entries(v)) {
      if (typeof value !== 'string') this.add(at(p, k), `must be a string, got ${describe(value)} (quote it in YAML)`);
    }
  }
}
