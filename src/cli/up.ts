// `hbone-sim up <name|file.yaml>`: start a scenario's mesh and keep it up as a cluster to drive
// (`scenario --hold` does the same): istiod, the proxies and the pods, and the API server that
// `apply`, `delete`, `get` and `x status` talk to through the kubeconfig it writes.
import { scenarioCommand } from './scenario';
import type { Command } from './command';

const { hold: _hold, ...flags } = scenarioCommand.flags;

export const upCommand: Command = {
  name: 'up',
  summary: 'start a mesh and keep it up, with istiod and an API server for apply/get/delete (scenario --hold)',
  description: [
    'Starts the mesh of a bundled scenario or a .yaml file, checks its expectations, and keeps it up until',
    "Ctrl-C. It writes a kubeconfig (owner-only) that the other commands use to reach the mesh's API server.",
  ].join('\n'),
  operands: scenarioCommand.operands,
  flags,
  run: (args) => scenarioCommand.run({ ...args, flags: { ...args.flags, hold: true } }),
};
