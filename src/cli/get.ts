// `hbone-sim get <resource> [-n NS | -A] [-o yaml|json|wide]`: the running mesh's objects with
// kubectl's names, short names and columns.
import { stringify } from 'yaml';
import { CLUSTER_SCOPED, COLUMNS, ResourceKind, ResourceRow } from '../runner/resources-view';
import { UsageError, stringFlag } from './args';
import type { Command } from './command';
import { ApiError, MESH_FLAG, callApi, meshAccess } from './api-client';

const OUTPUTS = ['wide', 'yaml', 'json'];

export const getCommand: Command = {
  name: 'get',
  summary: 'list pods, services, authorizationpolicies, httproutes, gateways, namespaces, nodes of the running mesh',
  description: [
    'Lists objects of the running mesh as kubectl does: pods (po), services (svc), authorizationpolicies (ap),',
    'httproutes, gateways (gtw), namespaces (ns), nodes (no). -n picks the namespace (default: default), -A all of them;',
    '-o wide adds columns, -o yaml and -o json print the objects.',
  ].join('\n'),
  operands: { usage: '<resource>', min: 1, max: 1 },
  flags: {
    namespace: { kind: 'string', short: 'n', value: 'ns', help: 'the namespace (default: default)' },
    'all-namespaces': { kind: 'boolean', short: 'A', help: 'every namespace' },
    output: { kind: 'string', short: 'o', value: 'wide|yaml|json', help: 'more columns, or the objects as YAML or JSON' },
    mesh: MESH_FLAG,
  },
  run: async ({ flags, operands }) => {
    const output = stringFlag(flags, 'output');
    if (output !== undefined && !OUTPUTS.includes(output))
      throw new UsageError(`unable to match a printer suitable for the output format "${output}", allowed formats are: ${OUTPUTS.join(',')}`);
    const all = flags['all-namespaces'] === true;
    const ns = stringFlag(flags, 'namespace') ?? 'default';
    const query = new URLSearchParams({ resource: operands[0], namespace: ns, ...(all ? { all: '1' } : {}) });
    let answer: { kind: ResourceKind; items: ResourceRow[] };
    try {
      answer = await callApi(meshAccess(flags), 'GET', `/get?${query.toString()}`);
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
      process.stderr.write(`error: ${err.message}\n`);
      return 1;
    }
    const { kind, items } = answer;
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
