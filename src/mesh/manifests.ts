// Manifests as `kubectl apply -f` reads them: a stream of YAML documents (`---`), each a
// Kubernetes object with apiVersion, kind and metadata, or a `kind: List` of them. Each object
// is checked by the same reader the scenario loader uses, so a problem names file:line: field
// alike; nothing is applied unless every document of every file is sound. As kubectl: an object
// without a namespace goes to the default one (`-n`), and what `kubectl get -o yaml` adds
// (status, uid, resourceVersion, managedFields...) is accepted and ignored. A kind hbone-sim
// does not model is reported and skipped, never guessed at.
import { isMap, isScalar, isSeq, Pair, Scalar, YAMLMap } from 'yaml';
import type { Node as YamlNode } from 'yaml';
import type { AuthorizationPolicyDoc, DeploymentDoc, GatewayDoc, HttpRouteDoc, NamespaceDoc, PodDoc, ServiceAccountDoc, ServiceDoc } from './model';
import { Field, Problems, Source, lineOf } from './yaml-fields';
import { parseYaml } from './yaml-document';
import { readPolicy, POLICY_KIND } from './read-policies';
import { readHttpRoute } from './read-httproutes';
import { readGateway, GATEWAY_KIND } from './read-gateways';
import { readPod, POD_KIND } from './read-pods';
import { NAMESPACE_KIND, readKubeService, readNamespace, readServiceAccount, SERVICE_ACCOUNT_KIND, SERVICE_KIND } from './read-kube-objects';
import { DEPLOYMENT_KIND, readDeployment } from './read-deployments';
import type { Entry } from './entry';
import { ScenarioError, ScenarioProblem } from './scenario-error';

export const HTTPROUTE_KIND = 'HTTPRoute';
/** The kinds a running mesh takes today, and the plural kubectl prints for each. */
export const LIVE_KINDS: Readonly<Record<string, string>> = {
  [POLICY_KIND]: 'authorizationpolicy.security.istio.io',
  [HTTPROUTE_KIND]: 'httproute.gateway.networking.k8s.io',
  [GATEWAY_KIND]: 'gateway.gateway.networking.k8s.io',
  [POD_KIND]: 'pod',
  [SERVICE_KIND]: 'service',
  [SERVICE_ACCOUNT_KIND]: 'serviceaccount',
  [DEPLOYMENT_KIND]: 'deployment.apps',
  [NAMESPACE_KIND]: 'namespace',
};
/** The API group of each kind taken: the same kind in another group (Istio's own Gateway) is another kind. */
const GROUPS: Readonly<Record<string, string>> = {
  [POLICY_KIND]: 'security.istio.io',
  [HTTPROUTE_KIND]: 'gateway.networking.k8s.io',
  [GATEWAY_KIND]: 'gateway.networking.k8s.io',
  [POD_KIND]: '',
  [SERVICE_KIND]: '',
  [SERVICE_ACCOUNT_KIND]: '',
  [DEPLOYMENT_KIND]: 'apps',
  [NAMESPACE_KIND]: '',
};
/** Each kind's reader: what it yields when the object is sound. */
const READERS: Readonly<Record<string, (f: Field, file: string) => Entry<unknown> | undefined>> = {
  [POLICY_KIND]: readPolicy,
  [HTTPROUTE_KIND]: readHttpRoute,
  [GATEWAY_KIND]: readGateway,
  [POD_KIND]: readPod,
  [SERVICE_KIND]: readKubeService,
  [SERVICE_ACCOUNT_KIND]: readServiceAccount,
  [DEPLOYMENT_KIND]: readDeployment,
  [NAMESPACE_KIND]: readNamespace,
};
/** kubectl's default namespace. */
export const DEFAULT_NAMESPACE = 'default';
const LIST_KIND = 'List';
/** What the API server fills in and `kubectl get -o yaml` prints: never the user's to set. */
const SERVER_METADATA = ['uid', 'resourceVersion', 'creationTimestamp', 'generation', 'managedFields', 'selfLink', 'deletionTimestamp'] as const;
const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';

export type Manifest =
  | { readonly kind: typeof POLICY_KIND; readonly doc: AuthorizationPolicyDoc }
  | { readonly kind: typeof HTTPROUTE_KIND; readonly doc: HttpRouteDoc }
  | { readonly kind: typeof GATEWAY_KIND; readonly doc: GatewayDoc }
  | { readonly kind: typeof POD_KIND; readonly doc: PodDoc }
  | { readonly kind: typeof SERVICE_KIND; readonly doc: ServiceDoc }
  | { readonly kind: typeof SERVICE_ACCOUNT_KIND; readonly doc: ServiceAccountDoc }
  | { readonly kind: typeof DEPLOYMENT_KIND; readonly doc: DeploymentDoc }
  | { readonly kind: typeof NAMESPACE_KIND; readonly doc: NamespaceDoc };

/** An object of a kind hbone-sim does not model: said, and left alone. */
export interface SkippedObject {
  readonly kind: string;
  readonly name: string;
  /** file:line */
  readonly origin: string;
}

export interface ManifestFile {
  /** How messages name it: a path, or `-` for stdin. */
  readonly file: string;
  readonly text: string;
}

export interface ManifestOptions {
  /** `-n`: where objects without a namespace go, and the only namespace an object may name. */
  readonly namespace?: string;
}

export interface ManifestSet {
  readonly manifests: readonly Manifest[];
  readonly skipped: readonly SkippedObject[];
}

/** kubectl's line for a skipped object: configmap/ratings-config skipped: ... */
export function skippedLine(s: SkippedObject): string {
  return `${s.kind.toLowerCase()}/${s.name} skipped: hbone-sim does not model ${s.kind} (${s.origin})`;
}

/** Every object of every file, checked; throws a ScenarioError listing all problems. */
export function readManifests(files: readonly ManifestFile[], options: ManifestOptions = {}): ManifestSet {
  const manifests: Manifest[] = [];
  const skipped: SkippedObject[] = [];
  const problems: ScenarioProblem[] = [];
  for (const f of files) {
    const p = new Problems(f.file);
    readFile(f, p, options, manifests, skipped);
    problems.push(...p.list);
  }
  if (problems.length > 0) throw new ScenarioError(problems);
  return { manifests, skipped };
}

function readFile(f: ManifestFile, problems: Problems, options: ManifestOptions, out: Manifest[], skipped: SkippedObject[]): void {
  const yaml = parseYaml(f.text, { multiDocument: true });
  if (!yaml.ok) {
    for (const p of yaml.problems) problems.add({ path: '', line: yaml.lines.linePos(p.offset).line }, p.message);
    return;
  }
  const { docs, lines, aliases } = yaml.parsed;
  const source: Source = { lines, aliases, problems };
  docs.forEach((d, i) => {
    const prefix = docs.length > 1 ? `[${i}]` : '';
    const root = new Field(source, d.contents, prefix, lineOf(source, d.contents, 1));
    if (root.describe() === 'empty') return; // a stray `---`, as kubectl skips it
    if (textOf(root.find('kind')?.node) !== LIST_KIND) return readObject(root, f.file, options, out, skipped);
    // kind: List (what `kubectl get -o yaml` prints for several objects): each item is an object.
    const items = root.find('items');
    if (!items || !isSeq(items.node)) return void root.problem('a List needs items: [ <objects> ]');
    items.node.items.forEach((node, j) => {
      const item = new Field(source, node as YamlNode, `${prefix ? `${prefix}.` : ''}items[${j}]`, lineOf(source, node as YamlNode, items.line));
      readObject(item, f.file, options, out, skipped);
    });
  });
}

function readObject(root: Field, file: string, options: ManifestOptions, out: Manifest[], skipped: SkippedObject[]): void {
  const kind = textOf(root.find('kind')?.node);
  if (kind === undefined) return void root.problem('a manifest needs apiVersion, kind and metadata');
  const apiVersion = textOf(root.find('apiVersion')?.node);
  const group = apiVersion?.includes('/') ? apiVersion.slice(0, apiVersion.indexOf('/')) : '';
  if (!(kind in LIVE_KINDS) || (apiVersion !== undefined && group !== GROUPS[kind])) {
    const shown = kind in LIVE_KINDS && group ? `${kind}.${group}` : kind;
    skipped.push({ kind: shown, name: textOf(root.find('metadata.name')?.node) ?? '(no name)', origin: `${file}:${root.line}` });
    return;
  }
  if (isMap(root.node)) {
    withoutServerFields(root.node);
    // A Namespace belongs to none.
    if (kind !== NAMESPACE_KIND && !inNamespace(root, options)) return;
  }
  const e = READERS[kind](root, file);
  if (e?.exact) out.push({ kind, doc: e.value } as Manifest);
}

/** Drops what the API server writes into an object it returns (kubectl get -o yaml). */
function withoutServerFields(object: YAMLMap): void {
  object.delete('status');
  const meta = object.get('metadata', true);
  if (!isMap(meta)) return;
  for (const k of SERVER_METADATA) meta.delete(k);
  const annotations = meta.get('annotations', true);
  if (isMap(annotations)) {
    annotations.delete(LAST_APPLIED);
    if (annotations.items.length === 0) meta.delete('annotations');
  }
}

/**
 * kubectl's namespace rules: an object that names none goes to -n (default: default); one that
 * names another than an explicit -n is refused, as kubectl refuses it. False on a problem.
 */
function inNamespace(root: Field, options: ManifestOptions): boolean {
  const meta = (root.node as YAMLMap).get('metadata', true);
  if (!isMap(meta)) return true; // the reader says what is wrong with it
  const written = textOf(meta.get('namespace', true) as YamlNode | undefined);
  if (written === undefined) {
    // Scalars, as the parser makes them: the readers take only plain words as field names.
    meta.add(new Pair(new Scalar('namespace'), new Scalar(options.namespace ?? DEFAULT_NAMESPACE)));
    return true;
  }
  if (options.namespace !== undefined && written !== options.namespace) {
    root
      .find('metadata.namespace')!
      .problem(
        `the namespace from the provided object "${written}" does not match the namespace "${options.namespace}". You must pass '--namespace=${written}' to perform this operation.`,
      );
    return false;
  }
  return true;
}

function textOf(node: YamlNode | null | undefined): string | undefined {
  return isScalar(node) && node.value !== null && typeof node.value !== 'object' ? String(node.value) : undefined;
}
