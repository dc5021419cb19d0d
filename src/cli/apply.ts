// `hbone-sim apply -f <file|dir|->` and `hbone-sim delete -f …`: change the running mesh's
// configuration as kubectl would, all or nothing; --wait returns once every proxy has answered.
import type { ChangeAnswer, ChangeRequest } from '../runner/api-server';
import { stringFlag, stringsFlag } from './args';
import type { Command } from './command';
import { ApiError, MESH_FLAG, callApi, meshAccess } from './api-client';
import { readManifestFiles } from './manifest-files';

function changeCommand(verb: 'apply' | 'delete', summary: string): Command {
  return {
    name: verb,
    summary,
    description: [
      `${verb === 'apply' ? 'Creates or replaces' : 'Deletes'} objects in the running mesh (see \`hbone-sim up\`): AuthorizationPolicies, HTTPRoutes,`,
      'Gateways, and the Kubernetes kinds that shape it: Namespace, ServiceAccount, Service, Deployment, Pod',
      "(Istio's samples/bookinfo and samples/curl manifests apply as they are). A Deployment's pods are scheduled,",
      "enrolled with their node's ztunnel and running before the answer; deleting a Namespace deletes what is in it.",
      'Every document of every file is checked first (errors name file:line: field); then all of them',
      'change or none does. istiod pushes the new version to every ztunnel and waypoint; with --wait the',
      'command returns once each has ACKed it (or NACKed it: then it says which and why). As kubectl:',
      "`---` separates documents, a kind: List holds several, an object with no namespace goes to -n's",
      '(default), and what `kubectl get -o yaml` adds (status, uid, managedFields...) is ignored. A kind',
      'hbone-sim does not model is said and skipped.',
    ].join('\n'),
    flags: {
      filename: {
        kind: 'strings',
        short: 'f',
        value: 'file|dir|-',
        required: true,
        help: 'the manifests: a file, a directory of .yaml files, or - for stdin; may be given again',
      },
      wait: { kind: 'boolean', help: 'return once every proxy has ACKed the change, and say how long that took' },
      namespace: { kind: 'string', short: 'n', value: 'ns', help: 'the namespace of objects that name none (default: default); objects may name no other' },
      mesh: MESH_FLAG,
    },
    run: async ({ flags }) => {
      const files = stringsFlag(flags, 'filename').flatMap((f) => readManifestFiles(f));
      const access = meshAccess(flags);
      let answer: ChangeAnswer;
      try {
        const request: ChangeRequest = { files, wait: flags.wait === true, namespace: stringFlag(flags, 'namespace') };
        answer = await callApi<ChangeAnswer>(access, 'POST', `/${verb}`, request);
      } catch (err) {
        if (!(err instanceof ApiError)) throw err;
        process.stderr.write(`${err.message}\n`);
        return 1;
      }
      for (const line of answer.lines) process.stdout.write(`${line}\n`);
      const s = answer.synced;
      if (!s) return 0;
      for (const n of s.nacked) process.stdout.write(`NACK from ${n.proxy} (${n.type}): ${n.message}\n`);
      const of = `${s.acked} ${s.acked === 1 ? 'proxy' : 'proxies'} ACKed version ${answer.version}`;
      process.stdout.write(s.timedOut ? `not every proxy answered in time: ${of}\n` : `${of} in ${s.ms.toFixed(1)} ms\n`);
      return s.nacked.length > 0 || s.timedOut ? 1 : 0;
    },
  };
}

export const applyCommand = changeCommand(
  'apply',
  'create or change objects in the running mesh: policies, routes, Services, Deployments... (kubectl apply -f)',
);
export const deleteCommand = changeCommand('delete', 'remove objects from the running mesh (kubectl delete -f)');
