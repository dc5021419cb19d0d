// Manifests as `kubectl apply -f` reads them: a stream of YAML documents (`---`), each a
// Kubernetes object with apiVersion, kind and metadata. Each is checked by the same reader
// the scenario loader uses, so a problem names file:line: field alike; nothing is applied
// unless every document of every file is sound.
import type { AuthorizationPolicyDoc, GatewayDoc, HttpRouteDoc } from './model';
import { Field, Problems, Source, lineOf } from './yaml-fields';
import { parseYaml } from './yaml-document';
import { readPolicy, POLICY_KIND } from './read-policies';
import { readHttpRoute } from './read-httproutes';
import { readGateway, GATEWAY_KIND } from './read-gateways';
import { ScenarioError, ScenarioProblem } from './scenario-error';

export const HTTPROUTE_KIND = 'HTTPRoute';
/** The kinds a running mesh takes today, and the plural kubectl prints for each. */
export const LIVE_KINDS: Readonly<Record<string, string>> = {
  [POLICY_KIND]: 'authorizationpolicy.security.istio.io',
  [HTTPROUTE_KIND]: 'httproute.gateway.networking.k8s.io',
  [GATEWAY_KIND]: 'gateway.gateway.networking.k8s.io',
};

export type Manifest =
  | { readonly kind: typeof POLICY_KIND; readonly doc: AuthorizationPolicyDoc }
  | { readonly kind: typeof HTTPROUTE_KIND; readonly doc: HttpRouteDoc }
  | { readonly kind: typeof GATEWAY_KIND; readonly doc: GatewayDoc };

export interface ManifestFile {
  /** How messages name it: a path, or `-` for stdin. */
  readonly file: string;
  readonly text: string;
}

/** Every document of every file, checked; throws a ScenarioError listing all problems. */
export function readManifests(files: readonly ManifestFile[]): Manifest[] {
  const found: Manifest[] = [];
  const problems: ScenarioProblem[] = [];
  for (const f of files) {
    const p = new Problems(f.file);
    found.push(...readFile(f, p));
    problems.push(...p.list);
  }
  if (problems.length > 0) throw new ScenarioError(problems);
  return found;
}

function readFile(f: ManifestFile, problems: Problems): Manifest[] {
  const yaml = parseYaml(f.text, { multiDocument: true });
  if (!yaml.ok) {
    for (const p of yaml.problems) problems.add({ path: '', line: yaml.lines.linePos(p.offset).line }, p.message);
    return [];
  }
  const { docs, lines, aliases } = yaml.parsed;
  const source: Source = { lines, aliases, problems };
  const out: Manifest[] = [];
  docs.forEach((d, i) => {
    const root = new Field(source, d.contents, docs.length > 1 ? `[${i}]` : '', lineOf(source, d.contents, 1));
    if (root.describe() === 'empty') return; // a stray `---`, as kubectl skips it
    const kind = root.find('kind')?.node;
    const kindText = kind && 'value' in kind ? String(kind.value) : undefined;
    if (kindText === POLICY_KIND) {
      const e = readPolicy(root, f.file);
      if (e?.exact) out.push({ kind: POLICY_KIND, doc: e.value as AuthorizationPolicyDoc });
    } else if (kindText === HTTPROUTE_KIND) {
      const e = readHttpRoute(root, f.file);
      if (e?.exact) out.push({ kind: HTTPROUTE_KIND, doc: e.value as HttpRouteDoc });
    } else if (kindText === GATEWAY_KIND) {
      const e = readGateway(root, f.file);
      if (e?.exact) out.push({ kind: GATEWAY_KIND, doc: e.value as GatewayDoc });
    } else if (kindText === undefined) {
      root.problem('a manifest needs apiVersion, kind and metadata');
    } else {
      root.problem(`kind ${kindText} cannot be applied to a running mesh (it takes ${Object.keys(LIVE_KINDS).join(', ')}); put it in the scenario file`);
    }
  });
  return out;
}
