// gateways: Gateway API Gateway documents, verbatim. One of class istio-waypoint declares a
// waypoint (its pod is a scenario workload, see waypoint-checks.ts). What Istio's schema says
// is checked lightly: the envelope, the class, and listeners when they are listed; other spec
// fields (addresses, infrastructure...) are kept as written.
//
//   - apiVersion: gateway.networking.k8s.io/v1
//     kind: Gateway
//     metadata: { name: waypoint, namespace: default, annotations: { istio.io/service-account: waypoint } }
//     spec:
//       gatewayClassName: istio-waypoint
//       listeners: [ { name: mesh, port: 15008, protocol: HBONE } ]
import type { GatewayDoc } from './model';
import { ANNOTATION_SERVICE_ACCOUNT, WAYPOINT_GATEWAY_CLASS } from './model';
import { portProblem } from './addresses';
import { WAYPOINT_PORT } from './app-kinds';
import { INGRESS_GATEWAY_CLASS, INGRESS_PROTOCOL } from './ingress-gateway';
import { reservedPortProblem } from './reserved-ports';
import { Entry, EntryReader } from './entry';
import { nameProblem } from './k8s-names';
import { readLabels } from './read-labels';
import { Field } from './yaml-fields';

export const GATEWAY_FIELDS = ['apiVersion', 'kind', 'metadata', 'spec'] as const;
export const GATEWAY_METADATA_FIELDS = ['name', 'namespace', 'labels', 'annotations'] as const;
export const GATEWAY_API_VERSIONS = ['gateway.networking.k8s.io/v1', 'gateway.networking.k8s.io/v1beta1'] as const;
export const GATEWAY_KIND = 'Gateway';
export const LISTENER_FIELDS = ['name', 'hostname', 'port', 'protocol', 'tls', 'allowedRoutes'] as const;
/** The listener of every waypoint, as `istioctl waypoint generate` writes it. */
export const WAYPOINT_PROTOCOL = 'HBONE';
const WAYPOINT_LISTENER = `{ name: mesh, port: ${WAYPOINT_PORT}, protocol: ${WAYPOINT_PROTOCOL} }`;

// The Gateway API CRD's limits and patterns.
const MAX_LISTENERS = 64;
// A protocol is a bare word (HTTP, HBONE) or a domain-prefixed name (example.com/proto).
const PROTOCOL_RE = /^([a-zA-Z0-9]([-a-zA-Z0-9]*[a-zA-Z0-9])?|[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/[A-Za-z0-9]+)$/;
const SECTION_NAME_RE = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const MAX_SECTION_NAME = 253;
/** What the seed (2022) called these: apiVersion v1alpha2 and class istio-mesh. */
const SEED_API_VERSION = 'gateway.networking.k8s.io/v1alpha2';
const SEED_WAYPOINT_CLASS = 'istio-mesh';

export function readGateway(item: Field, file: string): Entry<GatewayDoc> | undefined {
  const fields = item.map(GATEWAY_FIELDS);
  if (!fields) return undefined;
  const r = new EntryReader(fields);
  const apiVersion = r.text('apiVersion', GATEWAY_API_VERSIONS[0], apiVersionProblem);
  const kind = r.text('kind', GATEWAY_KIND, (k) => (k === GATEWAY_KIND ? undefined : `${JSON.stringify(k)} is not ${GATEWAY_KIND}`));
  const meta = r.nested('metadata', 'name and namespace', GATEWAY_METADATA_FIELDS);
  let name = meta?.text('name', 'the Gateway name, e.g. waypoint', (s) => nameProblem(s, 'subdomain'));
  const namespace = meta?.text('namespace', 'the namespace it lives in, e.g. default', (s) => nameProblem(s, 'label'));
  const labelsField = meta?.field('labels', false);
  const labels = labelsField ? readLabels(labelsField) : {};
  const annotations = meta ? readAnnotations(meta) : undefined;
  const spec = r.nested('spec', `at least gatewayClassName: ${WAYPOINT_GATEWAY_CLASS}`, null);
  const gatewayClassName = spec?.text('gatewayClassName', `e.g. ${WAYPOINT_GATEWAY_CLASS} for a waypoint`, classProblem);
  const waypoint = gatewayClassName === WAYPOINT_GATEWAY_CLASS;
  const ingress = gatewayClassName === INGRESS_GATEWAY_CLASS;
  // A waypoint's name is also the name of its Service and Deployment, and the value of its
  // pod's gateway-name label: a DNS-1035 label, not any subdomain.
  if (waypoint && name !== undefined) {
    const bad = nameProblem(name, 'service');
    if (bad) name = meta!.fields.optional('name')!.problem(`${bad}; a waypoint's name is also its Service's name`);
  }
  const listenersField = spec?.field(
    'listeners',
    ingress ? `an ingress gateway's listeners, e.g. [ { name: http, port: 80, protocol: ${INGRESS_PROTOCOL} } ]` : false,
  );
  const listenersOk = listenersField ? readListeners(listenersField, waypoint, ingress) : !ingress;
  const written = fields.optional('spec')?.plain() as Record<string, unknown> | undefined;
  let metadata: GatewayDoc['metadata'] | undefined;
  if (name !== undefined && namespace !== undefined && labels !== undefined && annotations !== undefined) {
    metadata = { name, namespace, ...(labelsField ? { labels } : {}), ...(Object.keys(annotations).length > 0 ? { annotations } : {}) };
  }
  return r.entry<GatewayDoc>({
    apiVersion,
    kind: kind as GatewayDoc['kind'] | undefined,
    metadata,
    spec: gatewayClassName !== undefined && listenersOk ? { ...written, gatewayClassName } : undefined,
    origin: `${file}:${item.line}`,
  });
}

/** metadata.annotations: strings; istio.io/service-account must be a service account name. */
function readAnnotations(meta: EntryReader): Record<string, string> | undefined {
  const annotations = meta.nested('annotations', false, null);
  if (!annotations) return meta.fields.has('annotations') ? undefined : {};
  const out: Record<string, string> = {};
  let ok = true;
  for (const [key, f] of annotations.fields.entries()) {
    annotations.field(key, false);
    const value = f.string(true);
    const bad = value !== undefined && key === ANNOTATION_SERVICE_ACCOUNT ? nameProblem(value, 'subdomain') : undefined;
    if (bad) f.problem(bad);
    if (value === undefined || bad) ok = false;
    else out[key] = value;
  }
  return ok ? out : undefined;
}

/**
 * spec.listeners, when listed: well-formed, uniquely named; a waypoint's takes HBONE; an ingress
 * gateway's are HTTP on ports no mesh port takes, attaching routes from the Same or All namespaces.
 */
function readListeners(field: Field, waypoint: boolean, ingress: boolean): boolean {
  const items = field.list();
  if (!items) return false;
  const problem = (at: { problem(message: string): undefined }, message: string): false => {
    at.problem(message);
    return false;
  };
  if (items.length === 0) return problem(field, 'must list at least one listener (or leave listeners out)');
  let ok = items.length <= MAX_LISTENERS || problem(field, `has ${items.length} listeners; a Gateway may have at most ${MAX_LISTENERS}`);
  const byName = new Map<string, string>();
  let hbone = false;
  const ports = new Set<number>();
  for (const item of items) {
    const fields = item.map(LISTENER_FIELDS);
    if (!fields) {
      ok = false;
      continue;
    }
    const r = new EntryReader(fields);
    const name = r.text('name', "the listener's name, e.g. mesh", sectionNameProblem);
    const port = r.integer('port', `e.g. ${WAYPOINT_PORT}`, portProblem);
    const protocol = r.text('protocol', `e.g. ${WAYPOINT_PROTOCOL} for a waypoint`, protocolProblem);
    if (name === undefined || port === undefined || protocol === undefined || fields.hadUnknownKeys) ok = false;
    if (name !== undefined) {
      const first = byName.get(name);
      if (first) ok = problem(fields.optional('name')!, `${name} is already the name of ${first}; listener names must be unique`);
      else byName.set(name, item.path);
    }
    if (port === WAYPOINT_PORT && protocol === WAYPOINT_PROTOCOL) hbone = true;
    if (ingress && !ingressListenerOk(fields, port, protocol)) ok = false;
    if (ingress && port !== undefined) {
      if (ports.has(port))
        ok = problem(fields.optional('port')!, `another listener is on port ${port}: one listener per port is modelled (hostnames go on the HTTPRoutes)`);
      ports.add(port);
    }
  }
  if (waypoint && ok && !hbone) return problem(field, `a waypoint receives HBONE on ${WAYPOINT_PORT}: list ${WAYPOINT_LISTENER} (or leave listeners out)`);
  return ok;
}

/** What hbone-sim's ingress gateway serves of a listener; the rest is refused by name, not guessed at. */
function ingressListenerOk(fields: NonNullable<ReturnType<Field['map']>>, port: number | undefined, protocol: string | undefined): boolean {
  let ok = true;
  const refuse = (key: string, message: string): void => {
    fields.optional(key)?.problem(message);
    ok = false;
  };
  if (protocol !== undefined && protocol !== INGRESS_PROTOCOL)
    refuse('protocol', `${protocol} listeners are not modelled: hbone-sim's ingress gateway serves ${INGRESS_PROTOCOL} only`);
  const reserved = port === undefined ? undefined : reservedPortProblem(port);
  if (reserved) refuse('port', `${reserved}: the ingress gateway's pod serves it already`);
  if (fields.has('tls')) refuse('tls', `TLS termination is not modelled: hbone-sim's ingress gateway serves ${INGRESS_PROTOCOL} only`);
  const from = fields.optional('allowedRoutes')?.plain() as { namespaces?: { from?: unknown } } | undefined;
  const f = from?.namespaces?.from;
  if (f !== undefined && f !== 'Same' && f !== 'All')
    refuse('allowedRoutes', `namespaces.from ${JSON.stringify(f)} is not modelled: write Same (the default) or All`);
  return ok;
}

function apiVersionProblem(v: string): string | undefined {
  if ((GATEWAY_API_VERSIONS as readonly string[]).includes(v)) return undefined;
  const seed = v === SEED_API_VERSION ? '; the seed article (2022) used v1alpha2, today Gateways are v1' : '';
  return `${JSON.stringify(v)} is not a Gateway version (${GATEWAY_API_VERSIONS.join(' or ')})${seed}`;
}

function classProblem(c: string): string | undefined {
  if (c === SEED_WAYPOINT_CLASS)
    return `${SEED_WAYPOINT_CLASS} was the waypoint class in 2022, as in the seed article; today a waypoint is gatewayClassName: ${WAYPOINT_GATEWAY_CLASS}`;
  return nameProblem(c, 'subdomain');
}

function sectionNameProblem(name: string): string | undefined {
  if (name.length <= MAX_SECTION_NAME && SECTION_NAME_RE.test(name)) return undefined;
  return `${JSON.stringify(name)} is not a valid listener name (lower-case letters, digits, - and ., at most ${MAX_SECTION_NAME})`;
}

function protocolProblem(protocol: string): string | undefined {
  if (PROTOCOL_RE.test(protocol)) return undefined;
  return `${JSON.stringify(protocol)} is not a protocol name (a word such as HTTP or ${WAYPOINT_PROTOCOL}, or domain/name)`;
}
