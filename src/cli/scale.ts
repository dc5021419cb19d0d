// `hbone-sim scale deploy/NAME --replicas N`: kubectl scale on a running mesh's Deployment (one
// applied, or a scenario's own workload). New pods are scheduled, enrolled with their node's
// ztunnel and running before the answer; removed ones are gone from every Service's endpoints.
import type { ChangeAnswer, ScaleRequest } from '../runner/api-server';
import { UsageError, stringFlag } from './args';
import type { Command } from './command';
import { ApiError, MESH_FLAG, callApi, meshAccess } from './api-client';

/** kubectl's names for a Deployment. */
const DEPLOYMENT_NAMES = ['deploy', 'deployment', 'deployments', 'deployment.apps', 'deployments.apps'];
const REPLICAS_RE = /^\d{1,6}$/;

/** deploy/NAME or `deploy NAME`: the Deployment's name. */
function deploymentName(operands: readonly string[]): string {
  const [first, second] = operands;
  const slash = first.indexOf('/');
  const [kind, name] = slash >= 0 ? [first.slice(0, slash), first.slice(slash + 1)] : [first, second];
  if (!DEPLOYMENT_NAMES.includes(kind.toLowerCase())) throw new UsageError(`hbone-sim scales Deployments only (deploy/NAME), not ${JSON.stringify(kind)}`);
  if (!name || (slash >= 0 && second !== undefined)) throw new UsageError('name one Deployment: deploy/NAME or deployment NAME');
  return name;
}

export const scaleCommand: Command = {
  name: 'scale',
  summary: "set a Deployment's replicas in the running mesh (kubectl scale); endpoints follow",
  description: [
    'kubectl scale for the running mesh: deploy/NAME --replicas N makes N pods of the Deployment. New pods land on',
    'the node with the fewest pods that their template allows, get an address of its pod range and their',
    'certificate, and are running before the answer; pods removed leave every Service they backed. A scenario',
    "file's own workloads count as Deployments by their workload name (deploy/reviews-v1).",
  ].join('\n'),
  operands: { usage: 'deploy/NAME --replicas N', min: 1, max: 2 },
  flags: {
    replicas: { kind: 'string', value: 'n', help: 'the number of pods wanted (0 or more)' },
    namespace: { kind: 'string', short: 'n', value: 'ns', help: 'the namespace (default: default)' },
    mesh: MESH_FLAG,
  },
  run: async ({ flags, operands }) => {
    const name = deploymentName(operands);
    const replicasText = stringFlag(flags, 'replicas');
    if (replicasText === undefined) throw new UsageError('--replicas is required');
    if (!REPLICAS_RE.test(replicasText)) throw new UsageError(`--replicas must be a whole number, 0 or more, not ${JSON.stringify(replicasText)}`);
    const request: ScaleRequest = { namespace: stringFlag(flags, 'namespace') ?? 'default', name, replicas: Number(replicasText) };
    let answer: ChangeAnswer;
    try {
      answer = await callApi<ChangeAnswer>(meshAccess(flags), 'POST', '/scale', request);
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
      process.stderr.write(`${err.message}\n`);
      return 1;
    }
    for (const line of answer.lines) process.stdout.write(`${line}\n`);
    return (answer.synced?.nacked.length ?? 0) > 0 || answer.synced?.timedOut ? 1 : 0;
  },
};
