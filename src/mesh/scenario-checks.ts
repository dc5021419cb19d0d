// Checks across entries: names and addresses that must be unique, references that must
// resolve, selectors that must select something. A field that failed its own check is
// skipped here (its problem is already reported); a reference check whose targets are not
// all readable is held back rather than guess (a pod with a broken name might be the one).
import { istiodIp } from './control-plane';
import { hostAddress, selects } from './model';
import { Entry, siteOf } from './entry';
import { ScenarioDraft } from './read-scenario';
import { checkWaypoints } from './waypoint-checks';
import { Problems } from './yaml-fields';

/** Something that claims a unique key (a name, an address, a socket), and where. */
interface Claim {
  readonly key: string;
  /** The key as this claimant wrote it (a pod's 10.x address rather than the 127.x socket). */
  readonly shown: string;
  readonly entry: Entry<unknown>;
  readonly field: string;
  /** How to name the claimant in a message, e.g. workloads[0] (productpage-v1). */
  readonly owner: string;
}

type Says = (claim: Claim, holder: Claim) => string;

export function checkScenario(s: ScenarioDraft, problems: Problems): void {
  checkNames(s, problems);
  checkAddresses(s, problems);
  checkSockets(s, problems);
  checkNodeRefs(s, problems);
  checkSelectors(s, problems);
  checkPodRefs(s, problems);
  checkWaypoints(s, problems);
}

function checkNames(s: ScenarioDraft, problems: Problems): void {
  const path = (e: Entry<unknown>): string => e.site.path;
  report(
    problems,
    claimsOf(s.nodes, 'name', (e) => e.value.name, path),
    (c, first) => `${c.key} is already used by ${first.owner}`,
  );
  // Pods, services and policies are namespaced: the same name in two namespaces is fine.
  const sameName: Says = (c, first) => `${c.shown} is already used in namespace ${c.key.split('/')[0]} by ${first.owner}`;
  const podOrService = (e: Entry<{ name: string; namespace: string }>): string | undefined =>
    e.value.name !== undefined && e.value.namespace !== undefined ? `${e.value.namespace}/${e.value.name}` : undefined;
  report(problems, claimsOf(s.workloads, 'name', podOrService, path), sameName);
  report(problems, claimsOf(s.services, 'name', podOrService, path), sameName);
  const policy = (e: (typeof s.policies)[number]): string | undefined => e.value.metadata && `${e.value.metadata.namespace}/${e.value.metadata.name}`;
  report(problems, claimsOf(s.policies, 'metadata.name', policy, path), sameName);
  const doc = (e: Entry<{ metadata: { name: string; namespace: string } }>): string | undefined =>
    e.value.metadata && `${e.value.metadata.namespace}/${e.value.metadata.name}`;
  report(problems, claimsOf(s.gateways, 'metadata.name', doc, path), sameName);
  report(problems, claimsOf(s.httpRoutes, 'metadata.name', doc, path), sameName);
}

/** One address per node, pod and service VIP, across all three. */
function checkAddresses(s: ScenarioDraft, problems: Problems): void {
  const named = (e: Entry<{ name: string }>): string => `${e.site.path} (${e.value.name})`;
  const claims: Claim[] = [
    ...claimsOf(s.nodes, 'ip', (e) => e.value.ip, named),
    ...claimsOf(s.workloads, 'ip', (e) => e.value.ip, named),
    ...claimsOf(s.services, 'vip', (e) => e.value.vip, named),
  ];
  report(problems, claims, (c, first) => `${c.key} is already used by ${first.owner}`);
  // istiod's own address, 10.a.255.1 of the first node's block.
  const firstNode = s.nodes[0]?.value.ip;
  if (firstNode === undefined) return;
  const istiod = istiodIp({ nodes: [{ name: '', ip: firstNode }] });
  for (const c of claims)
    if (c.key === istiod)
      problems.add(siteOf(c.entry, c.field), `${istiod} is istiod's address in this scenario (10.a.255.1 of the first node's 10.a block); pick another`);
}

/**
 * Every listening socket on this machine: each pod's app on its served (127.x) address, and
 * each port capture. Two on the same address:port cannot both bind.
 */
function checkSockets(s: ScenarioDraft, problems: Problems): void {
  const claims: Claim[] = [
    ...claimsOf(
      s.workloads,
      'run.port',
      (e) => (e.value.ip && e.value.app ? `${hostAddress(e.value.ip)}:${e.value.app.port}` : undefined),
      (e) => `${e.site.path} (${e.value.name})`,
      (e) => `${e.value.ip}:${e.value.app?.port}`,
    ),
    ...claimsOf(
      s.captures,
      'listen',
      (e) => e.value.listen && `${e.value.listen.address}:${e.value.listen.port}`,
      (e) => e.site.path,
    ),
  ];
  report(problems, claims, (c, first) => {
    const served = first.shown === c.shown ? '' : `, which serves ${first.shown} there`;
    return `${c.shown} is already taken by ${first.owner}${served}`;
  });
}

function checkNodeRefs(s: ScenarioDraft, problems: Problems): void {
  // No nodes at all means the section itself is broken (and reported): nothing to compare with.
  if (s.nodes.length === 0 || !s.nodes.every((n) => n.value.name !== undefined)) return;
  const names = [...new Set(s.nodes.map((n) => n.value.name!))];
  for (const w of s.workloads) {
    const node = w.value.node;
    if (node !== undefined && !names.includes(node)) {
      problems.add(siteOf(w, 'node'), `${node} is not a node of this scenario (nodes: ${names.join(', ') || 'none'})`);
    }
  }
}

/** A service must select at least one pod in its namespace, or nothing could answer it. */
function checkSelectors(s: ScenarioDraft, problems: Problems): void {
  // A misspelt field (lables:) leaves a pod without the labels its author meant: hold back.
  if (!s.workloads.every((w) => w.exact && w.value.labels !== undefined && w.value.namespace !== undefined)) return;
  for (const svc of s.services) {
    const { selector, namespace } = svc.value;
    if (!selector || !namespace || Object.keys(selector).length === 0) continue;
    const hit = s.workloads.some((w) => w.value.namespace === namespace && selects(selector, w.value.labels!));
    if (!hit) problems.add(siteOf(svc, 'selector'), `${formatLabels(selector)} selects no pod in namespace ${namespace}`);
  }
}

/** Captures and expectations name a source pod, by pod name; it must name exactly one. */
function checkPodRefs(s: ScenarioDraft, problems: Problems): void {
  if (!s.workloads.every((w) => w.value.name !== undefined)) return;
  const refs = [
    ...s.captures.map((e) => ({ entry: e as Entry<unknown>, field: 'source', pod: e.value.source })),
    ...s.expect.map((e) => ({ entry: e as Entry<unknown>, field: 'from', pod: e.value.from })),
  ];
  for (const { entry, field, pod } of refs) {
    if (pod === undefined) continue;
    const matches = s.workloads.filter((w) => w.value.name === pod);
    if (matches.length === 0) problems.add(siteOf(entry, field), `${pod} is not a pod of this scenario`);
    // Same-namespace twins are already reported as duplicate names.
    if (new Set(matches.map((w) => w.value.namespace)).size > 1) {
      const where = matches.map((w) => `${w.site.path} in ${w.value.namespace}`).join(', ');
      problems.add(siteOf(entry, field), `${pod} is ambiguous: pods of that name are ${where}`);
    }
  }
}

function claimsOf<T>(
  entries: readonly Entry<T>[],
  field: string,
  key: (e: Entry<T>) => string | undefined,
  owner: (e: Entry<T>) => string,
  shown?: (e: Entry<T>) => string,
): Claim[] {
  return entries.flatMap((e) => {
    const k = key(e);
    if (k === undefined) return [];
    const display = shown ? shown(e) : (k.split('/').pop() ?? k);
    return [{ key: k, shown: display, entry: e as Entry<unknown>, field, owner: owner(e) }];
  });
}

/** Reports every claim whose key an earlier claim already holds, naming the first holder. */
function report(problems: Problems, claims: readonly Claim[], says: Says): void {
  const first = new Map<string, Claim>();
  for (const c of claims) {
    const holder = first.get(c.key);
    if (holder) problems.add(siteOf(c.entry, c.field), says(c, holder));
    else first.set(c.key, c);
  }
}

function formatLabels(labels: Readonly<Record<string, string>>): string {
  return `{ ${Object.entries(labels)
    .map(([k, v]) => `${k}: ${v}`)
    .join(', ')} }`;
}
