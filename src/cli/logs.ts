// `hbone-sim logs <pod|deploy/NAME|ztunnel-<node>|waypoint pod|istiod> [-f] [--tail N]`: what a
// pod or a process of the running mesh logged (kubectl logs), at the level HBONE_LOG gave the
// mesh when it started (warn by default; start it with HBONE_LOG=info for more).
import { UsageError, stringFlag } from './args';
import type { Command } from './command';
import { ApiError, MESH_FLAG, meshAccess, streamApi } from './api-client';

export const logsCommand: Command = {
  name: 'logs',
  summary: 'what a pod, a proxy or istiod of the running mesh logged (kubectl logs, -f to follow)',
  description: [
    'Prints the last lines a pod (by name or deploy/NAME), ztunnel-<node>, a waypoint pod, kubelet-<node> or istiod',
    "wrote, in ztunnel's log shape; -f keeps printing new ones until Ctrl-C. The mesh logs at the level HBONE_LOG",
    'had when it started: warn by default, so start it with HBONE_LOG=info hbone-sim up … to see more.',
  ].join('\n'),
  operands: { usage: '<pod|deploy/NAME|process>', min: 1, max: 1 },
  flags: {
    follow: { kind: 'boolean', short: 'f', help: 'keep printing new lines' },
    tail: { kind: 'string', value: 'N', help: 'only the last N lines (at most 1000 are kept)' },
    mesh: MESH_FLAG,
  },
  run: async ({ flags, operands }) => {
    const tail = stringFlag(flags, 'tail');
    if (tail !== undefined && !/^\d+$/.test(tail)) throw new UsageError(`--tail needs a number of lines, not ${JSON.stringify(tail)}`);
    const query = new URLSearchParams({ name: operands[0], ...(tail ? { tail } : {}), ...(flags.follow === true ? { follow: '1' } : {}) });
    const stop = new AbortController();
    const onSignal = () => stop.abort();
    process.once('SIGINT', onSignal);
    try {
      await streamApi(meshAccess(flags), `/logs?${query.toString()}`, (chunk) => process.stdout.write(chunk), stop.signal);
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
      process.stderr.write(`${err.message}\n`);
      return 1;
    } finally {
      process.off('SIGINT', onSignal);
    }
    return 0;
  },
};
