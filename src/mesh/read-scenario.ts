// The top level of a scenario file: its name, trust domain and the lists of things in it.
// Reading checks each entry on its own; checks across entries live in scenario-checks.ts.
import type { AuthorizationPolicyDoc, Expectation, GatewayDoc, HttpRouteDoc, MeshConfig, Node, PortCapture, Service, Workload } from './model';
import { DEFAULT_TRUST_DOMAIN } from './model';
import { Entry } from './entry';
import { nameProblem } from './k8s-names';
import { readCapture } from './read-captures';
import { readExpectation } from './read-expectations';
import { readGateway } from './read-gateways';
import { readHttpRoute } from './read-httproutes';
import { readMeshConfig } from './read-mesh-config';
import { readNode } from './read-nodes';
import { readPolicy } from './read-policies';
import { readService } from './read-services';
import { readWorkload } from './read-workloads';
import { isMap } from 'yaml';
import { Field, Fields, Site } from './yaml-fields';

export const TOP_FIELDS = [
  'name',
  'trustDomain',
  'meshConfig',
  'nodes',
  'workloads',
  'services',
  'gateways',
  'httpRoutes',
  'captures',
  'policies',
  'expect',
  'manifests',
] as const;
// Trust domains are lower-case DNS-like names, as src/identity/spiffe.ts accepts them.
const TRUST_DOMAIN_RE = /^[a-z0-9._-]+$/;

/** A scenario as read: entries that may be incomplete, each knowing where it was written. */
export interface ScenarioDraft {
  readonly name?: string;
  readonly trustDomain?: string;
  /** Istio's defaults when the file has none; undefined when what it has is wrong. */
  readonly meshConfig?: MeshConfig;
  readonly nodes: readonly Entry<Node>[];
  readonly workloads: readonly Entry<Workload>[];
  readonly services: readonly Entry<Service>[];
  readonly gateways: readonly Entry<GatewayDoc>[];
  readonly httpRoutes: readonly Entry<HttpRouteDoc>[];
  readonly captures: readonly Entry<PortCapture>[];
  readonly policies: readonly Entry<AuthorizationPolicyDoc>[];
  readonly expect: readonly Entry<Expectation>[];
  /** Manifest files to apply after the scenario's own objects, as written (relative to the file). */
  readonly manifests: readonly { readonly path: string; readonly site: Site }[];
}

export function readScenario(root: Field, file: string): ScenarioDraft {
  const top = isMap(root.node) ? root.map(TOP_FIELDS) : root.problem(`a scenario is a mapping (name:, nodes:, workloads: ...), not ${root.describe()}`);
  if (!top) return { nodes: [], workloads: [], services: [], gateways: [], httpRoutes: [], captures: [], policies: [], expect: [], manifests: [] };
  const name = top.required('name', 'what this scenario is called, e.g. bookinfo');
  const trustDomain = top.optional('trustDomain');
  return {
    name: name && checked(name, (s) => nameProblem(s, 'label')),
    trustDomain: trustDomain ? checked(trustDomain, trustDomainProblem) : DEFAULT_TRUST_DOMAIN,
    meshConfig: readMeshConfig(top.optional('meshConfig')),
    nodes: readList(top, 'nodes', 'the machines pods run on', readNode),
    // None is an empty cluster, ready for `hbone-sim apply` (what `up` with no scenario starts).
    workloads: readList(top, 'workloads', false, readWorkload),
    services: readList(top, 'services', false, readService),
    gateways: readList(top, 'gateways', false, (item) => readGateway(item, file)),
    httpRoutes: readList(top, 'httpRoutes', false, (item) => readHttpRoute(item, file)),
    captures: readList(top, 'captures', false, readCapture),
    policies: readList(top, 'policies', false, (item) => readPolicy(item, file)),
    expect: readList(top, 'expect', false, (item) => readExpectation(item, file)),
    manifests: readManifestPaths(top.optional('manifests')),
  };
}

/** `manifests: [ bookinfo.yaml, ... ]`: paths of Kubernetes manifest files. */
function readManifestPaths(field: Field | undefined): { path: string; site: Site }[] {
  const items = !field || field.describe() === 'empty' ? [] : (field.list() ?? []);
  return items.flatMap((item) => {
    const p = item.nonEmptyString();
    return p === undefined ? [] : [{ path: p, site: item.site }];
  });
}

/** A top-level list; required lists (need names what goes there) must not be empty either. */
function readList<T>(top: Fields, key: string, need: string | false, read: (item: Field) => Entry<T> | undefined): Entry<T>[] {
  const field = need ? top.required(key, need) : top.optional(key);
  if (!field) return [];
  // A section with nothing under it (`policies:`) reads as an empty list.
  const items = field.describe() === 'empty' ? [] : field.list();
  if (!items) return [];
  if (need && items.length === 0) field.problem(`must list at least one entry (${need})`);
  // An item that is not even a mapping still takes its place, empty, so checks across
  // entries can tell the list is incomplete and hold back guesses.
  return items.map((item) => read(item) ?? { site: item.site, value: {}, fields: new Map(), exact: false });
}

function checked(field: Field, check: (s: string) => string | undefined): string | undefined {
  const s = field.nonEmptyString();
  const bad = s === undefined ? undefined : check(s);
  return bad ? field.problem(bad) : s;
}

function trustDomainProblem(td: string): string | undefined {
  return TRUST_DOMAIN_RE.test(td) ? undefined : `${JSON.stringify(td)} is not a lower-case DNS name, e.g. cluster.local`;
}
