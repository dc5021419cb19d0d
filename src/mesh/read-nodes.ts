// nodes: - { name: node-a, ip: 10.1.0.1 }
import type { Node } from './model';
import { clusterAddressProblem } from './addresses';
import { Entry, EntryReader } from './entry';
import { nameProblem } from './k8s-names';
import { Field } from './yaml-fields';

export const NODE_FIELDS = ['name', 'ip'] as const;

export function readNode(item: Field): Entry<Node> | undefined {
  const fields = item.map(NODE_FIELDS);
  if (!fields) return undefined;
  const r = new EntryReader(fields);
  return r.entry<Node>({
    name: r.text('name', 'the node name, e.g. node-a', (s) => nameProblem(s, 'subdomain')),
    ip: r.text('ip', "the node's cluster address, e.g. 10.1.0.1", clusterAddressProblem),
  });
}
