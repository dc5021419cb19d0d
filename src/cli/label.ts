// `hbone-sim label service|namespace|pod <name> key=value … | key- …`: kubectl label on a running
// mesh's Service, namespace or pod. `istio.io/use-waypoint=<gateway>` moves the traffic of the
// Service (or of every Service of the namespace that names no waypoint itself) through that
// waypoint from the next connection on, `istio.io/use-waypoint-` takes it off again;
// `istio.io/dataplane-mode=ambient` on a namespace puts its pods in the mesh, `=none` on a pod
// takes that pod out.
import type { ChangeAnswer, LabelRequest } from '../runner/api-server';
import { UsageError, stringFlag } from './args';
import type { Command } from './command';
import { ApiError, MESH_FLAG, callApi, meshAccess } from './api-client';

const KINDS: Readonly<Record<string, string>> = {
  service: 'service',
  services: 'service',
  svc: 'service',
  namespace: 'namespace',
  namespaces: 'namespace',
  ns: 'namespace',
  pod: 'pod',
  pods: 'pod',
  po: 'pod',
};
// A label key as Kubernetes takes it: an optional DNS prefix, then a name.
const KEY_RE = /^([a-z0-9]([-a-z0-9.]*[a-z0-9])?\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const VALUE_RE = /^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$/;

export const labelCommand: Command = {
  name: 'label',
  summary: 'add or remove labels of a Service, namespace or pod of the running mesh (kubectl label), e.g. istio.io/dataplane-mode',
  description: [
    'kubectl label for the running mesh: key=value adds or changes a label (a changed value needs --overwrite),',
    'key- removes it. istio.io/use-waypoint=<waypoint> on a Service sends its traffic through that waypoint from',
    'the next connection on; istio.io/use-waypoint- sends it straight to the pods again. On a namespace it does',
    'the same for every Service there that names no waypoint itself (none opts a Service out).',
    'istio.io/dataplane-mode=ambient on a namespace enrolls its pods in the mesh (ztunnel captures their new',
    'connections); =none on a pod opts it out. Returns once every proxy has ACKed the change.',
  ].join('\n'),
  operands: { usage: 'service|namespace|pod <name> key=value|key- ...', min: 3, max: 34 },
  flags: {
    namespace: { kind: 'string', short: 'n', value: 'ns', help: 'the namespace (default: default)' },
    overwrite: { kind: 'boolean', help: 'allow changing the value of a label that has one' },
    mesh: MESH_FLAG,
  },
  run: async ({ flags, operands }) => {
    const [kindText, name, ...pairs] = operands;
    const kind = KINDS[kindText.toLowerCase()];
    if (!kind) throw new UsageError(`the server doesn't have a resource type "${kindText}"`);
    const changes: Record<string, string | null> = {};
    for (const p of pairs) {
      if (p.endsWith('-') && !p.includes('=')) {
        const key = p.slice(0, -1);
        if (!KEY_RE.test(key)) throw new UsageError(`invalid label key ${JSON.stringify(key)}`);
        changes[key] = null;
        continue;
      }
      const eq = p.indexOf('=');
      if (eq <= 0) throw new UsageError(`invalid label spec: ${JSON.stringify(p)} (key=value or key-)`);
      const key = p.slice(0, eq);
      const value = p.slice(eq + 1);
      if (!KEY_RE.test(key)) throw new UsageError(`invalid label key ${JSON.stringify(key)}`);
      if (!VALUE_RE.test(value) || value.length > 63) throw new UsageError(`invalid label value ${JSON.stringify(value)} for ${key}`);
      changes[key] = value;
    }
    const request: LabelRequest = { kind, name, namespace: stringFlag(flags, 'namespace') ?? 'default', changes, overwrite: flags.overwrite === true };
    let answer: ChangeAnswer;
    try {
      answer = await callApi<ChangeAnswer>(meshAccess(flags), 'POST', '/label', request);
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
      process.stderr.write(`${err.message}\n`);
      return 1;
    }
    for (const line of answer.lines) process.stdout.write(`${line}\n`);
    for (const n of answer.synced?.nacked ?? []) process.stdout.write(`NACK from ${n.proxy} (${n.type}): ${n.message}\n`);
    return (answer.synced?.nacked.length ?? 0) > 0 || answer.synced?.timedOut ? 1 : 0;
  },
};
