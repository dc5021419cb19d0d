// `hbone-sim up [<name|file.yaml>]`: start a scenario's mesh and keep it up as a cluster to drive
// (`scenario --hold` does the same): istiod, the proxies and the pods, and the API server that
// `apply`, `delete`, `get` and `x status` talk to through the kubeconfig it writes. With no
// scenario, an empty cluster (kind's node names, 3 nodes or --nodes N), ready for apply.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { EMPTY_CLUSTER_NAME, EMPTY_CLUSTER_NODES, emptyClusterYaml } from '../mesh/empty-cluster';
import { MAX_NODES } from '../mesh/limits';
import { scenarioCommand } from './scenario';
import { stringFlag, UsageError } from './args';
import type { Command } from './command';

const { hold: _hold, ...flags } = scenarioCommand.flags;

export const upCommand: Command = {
  name: 'up',
  summary: 'start a mesh (or an empty cluster) and keep it up, with istiod and an API server for apply/get/delete',
  description: [
    'Starts the mesh of a bundled scenario or a .yaml file, checks its expectations, and keeps it up until',
    "Ctrl-C. It writes a kubeconfig (owner-only) that the other commands use to reach the mesh's API server.",
    `With no scenario it starts an empty cluster named ${EMPTY_CLUSTER_NAME}, as \`kind create cluster\` does: istiod and a`,
    `ztunnel per node (${EMPTY_CLUSTER_NODES} nodes, or --nodes N), no pods, ready for hbone-sim apply.`,
  ].join('\n'),
  operands: { usage: '[<name|file.yaml>]', min: 0, max: 1 },
  flags: {
    ...flags,
    nodes: { kind: 'string', value: 'N', help: `the nodes of an empty cluster (1 to ${MAX_NODES}; default ${EMPTY_CLUSTER_NODES})` },
  },
  run: async (args) => {
    const nodesFlag = stringFlag(args.flags, 'nodes');
    const { nodes: _nodes, ...rest } = args.flags;
    const hold = { ...rest, hold: true };
    if (args.operands.length > 0) {
      if (nodesFlag !== undefined) throw new UsageError('--nodes sizes an empty cluster: it cannot go with a scenario, whose file names its nodes');
      return scenarioCommand.run({ ...args, flags: hold });
    }
    const nodes = nodesFlag === undefined ? EMPTY_CLUSTER_NODES : Number(nodesFlag);
    if (!Number.isInteger(nodes) || nodes < 1 || nodes > MAX_NODES)
      throw new UsageError(`--nodes needs a whole number from 1 to ${MAX_NODES}, not ${JSON.stringify(nodesFlag)}`);
    // Every process of the mesh reads its scenario file: the cluster's is written for them, and goes with it.
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), `hbone-sim-${EMPTY_CLUSTER_NAME}-`));
    const file = path.join(dir, `${EMPTY_CLUSTER_NAME}.yaml`);
    fs.writeFileSync(file, emptyClusterYaml(nodes));
    try {
      return await scenarioCommand.run({ ...args, operands: [file], flags: hold });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  },
};
