// `hbone-sim get <resource> [name] [-l selector] [-n NS | -A] [-o yaml|json|wide]`: the running
// mesh's objects with kubectl's names, short names and columns.
import { stringify } from 'yaml';
import { CLUSTER_SCOPED, COLUMNS, ResourceKind, ResourceRow } from '../runner/resources-view';
import { UsageError, stringFlag } from './args';
import type { Command } from './command';
import { ApiError, MESH_FLAG, callApi, meshAccess } from './api-client';

const OUTPUTS = ['wide', 'yaml', 'json'];
/** How kubectl names a kind in NotFound, where it is not the plain plural. */
const GROUPED: Partial<Record<ResourceKind, string>> = {
  deployments: 'deployments.apps',
  authorizationpolicies: 'authorizationpolicies.security.istio.io',
  httproutes: 'httproutes.gateway.networking.k8s.io',
  gateways: 'gateways.gateway.networking.k8s.io',
};

export const getCommand: Command = {
  name: 'get',
  summary: 'list pods, deployments, services, serviceaccounts, policies, routes, gateways, namespaces, nodes of the running mesh',
  description: [
    'Lists objects of the running mesh as kubectl does: pods (po), deployments (deploy), services (svc),',
    'serviceaccounts (sa), authorizationpolicies (ap), httproutes, gateways (gtw), namespaces (ns), nodes (no).',
    '-n picks the namespace (default: default), -A all of them; -o wide adds columns, -o yaml and -o json print',
    'the objects. A name (or <resource>/<name>) picks one; -l filters by labels as kubectl does',
    '(app=reviews,version!=v1,istio.io/dataplane-mode).',
  ].join('\n'),
  operands: { usage: '<resource> [name]', min: 1, max: 2 },
  flags: {
    namespace: { kind: 'string', short: 'n', value: 'ns', help: 'the namespace (default: default)' },
    'all-namespaces': { kind: 'boolean', short: 'A', help: 'every namespace' },
    output: { kind: 'string', short: 'o', value: 'wide|yaml|json', help: 'more columns, or the objects as YAML or JSON' },
    selector: { kind: 'string', short: 'l', value: 'selector', help: 'only objects whose labels match: k=v, k!=v, k, !k, comma-separated' },
    mesh: MESH_FLAG,
  },
  run: async ({ flags, operands }) => {
    const output = stringFlag(flags, 'output');
    if (output !== undefined && !OUTPUTS.includes(output))
      throw new UsageError(`unable to match a printer suitable for the output format "${output}", allowed formats are: ${OUTPUTS.join(',')}`);
    const all = flags['all-namespaces'] === true;
    const ns = stringFlag(flags, 'namespace') ?? 'default';
    const slash = operands[0].indexOf('/');
    const [resource, name] = slash >= 0 ? [operands[0].slice(0, slash), operands[0].slice(slash + 1)] : [operands[0], operands[1]];
    if (slash >= 0 && operands.length > 1)
      throw new UsageError('there is no need to specify a resource type as a separate argument when passing arguments in resource/name form');
    const selectorText = stringFlag(flags, 'selector');
    const selector = selectorText === undefined ? undefined : parseSelector(selectorText);
    const query = new URLSearchParams({ resource, namespace: ns, ...(all ? { all: '1' } : {}) });
    let answer: { kind: ResourceKind; items: ResourceRow[] };
    try {
      answer = await callApi(meshAccess(flags), 'GET', `/get?${query.toString()}`);
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
      process.stderr.write(`error: ${err.message}\n`);
      return 1;
    }
    const { kind } = answer;
    const labelsOf = (i: ResourceRow) => (i.object as { metadata?: { labels?: Record<string, string> } }).metadata?.labels ?? {};
    const items = answer.items.filter((i) => (name === undefined || i.cells.NAME === name) && (!selector || selector(labelsOf(i))));
    if (name !== undefined && items.length === 0) {
      process.stderr.write(`Error from server (NotFound): ${GROUPED[kind] ?? kind} "${name}" not found\n`);
      return 1;
    }
    if (output === 'json' || output === 'yaml') {
      const list = { apiVersion: 'v1', kind: 'List', items: items.map((i) => i.object) };
      process.stdout.write(output === 'json' ? JSON.stringify(list, null, 2) + '\n' : stringify(list));
      return 0;
    }
    if (items.length === 0) {
      process.stderr.write(all || CLUSTER_SCOPED.includes(kind) ? 'No resources found\n' : `No resources found in ${ns} namespace.\n`);
      return 0;
    }
    const columns = [
      ...(all && !CLUSTER_SCOPED.includes(kind) ? ['NAMESPACE'] : []),
      ...COLUMNS[kind].normal,
      ...(output === 'wide' ? COLUMNS[kind].wide : []),
    ];
    const rows = items.map((i) => columns.map((c) => (c === 'NAMESPACE' ? i.namespace : (i.cells[c] ?? ''))));
    process.stdout.write(table(columns, rows));
    return 0;
  },
};

/** kubectl's table: columns padded to their widest cell, three spaces apart. */
export function table(columns: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = columns.map((c, i) => Math.max(c.length, ...rows.map((r) => r[i].length)));
  const line = (cells: readonly string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]))).join('   ');
  return [line(columns), ...rows.map(line)].join('\n') + '\n';
}

/** kubectl's equality-based label selector: k=v (or k==v), k!=v, k (exists), !k (does not). */
export function parseSelector(text: string): (labels: Readonly<Record<string, string>>) => boolean {
  const terms = text.split(',').map((t) => t.trim());
  const tests = terms.map((term) => {
    const m = /^(!?)([A-Za-z0-9./_-]+)(?:(==|=|!=)([A-Za-z0-9._-]*))?$/.exec(term);
    if (!m || (m[1] && m[3])) throw new UsageError(`unable to parse requirement: ${JSON.stringify(term)} (use k=v, k!=v, k or !k)`);
    const [, not, key, op, value] = m;
    if (!op) return (l: Readonly<Record<string, string>>) => key in l !== (not === '!');
    return op === '!=' ? (l: Readonly<Record<string, string>>) => l[key] !== value : (l: Readonly<Record<string, string>>) => l[key] === value;
  });
  return (labels) => tests.every((test) => test(labels));
}
