// The cluster `hbone-sim up` starts with no scenario, as `kind create cluster` makes one: nodes
// named as kind names them (kind-control-plane, kind-worker, kind-worker2, ...), no pods yet,
// ready for `hbone-sim apply`. It lives on 10.244, kind's pod network (served on 127.244 here).
import { MAX_NODES } from './limits';

export const EMPTY_CLUSTER_NAME = 'kind';
export const EMPTY_CLUSTER_NODES = 3;
const BLOCK = '10.244';

/** kind's node names for a cluster of `n` nodes: one control plane, then workers. */
export function kindNodeNames(n: number): string[] {
  return Array.from({ length: n }, (_, i) => (i === 0 ? `${EMPTY_CLUSTER_NAME}-control-plane` : `${EMPTY_CLUSTER_NAME}-worker${i === 1 ? '' : i}`));
}

/** The scenario text of an empty cluster of `nodes` nodes (1 to MAX_NODES). */
export function emptyClusterYaml(nodes = EMPTY_CLUSTER_NODES): string {
  if (!Number.isInteger(nodes) || nodes < 1 || nodes > MAX_NODES) throw new RangeError(`a cluster has 1 to ${MAX_NODES} nodes (MAX_NODES), not ${nodes}`);
  const lines = [
    `# An empty cluster of ${nodes} node${nodes === 1 ? '' : 's'}, made by \`hbone-sim up\` with no scenario.`,
    `name: ${EMPTY_CLUSTER_NAME}`,
    'nodes:',
    ...kindNodeNames(nodes).map((name, i) => `  - { name: ${name}, ip: ${BLOCK}.0.${i + 1} }`),
    'workloads: []',
  ];
  return lines.join('\n') + '\n';
}
