// `hbone-sim exec <pod|deploy/NAME> -- curl …`: a request from inside a pod, as kubectl exec
// runs one. The pods here run no shell, so the command is a real curl on this machine, made
// the pod by its capture: curl names its destination to the pod's in-pod capture
// (podIP:15001, src/ztunnel/in-pod-capture.ts), so ztunnel sees the pod's address, gives the
// connection the pod's identity and applies the mesh's policies. Output and exit code are
// curl's: a connection L4 policy refuses is accepted, then reset (exit 56), as in a cluster; a
// name the mesh cannot resolve is exit 97 here, where a cluster's DNS gives 6.
import { GATEWAY_APP, WAYPOINT_APP } from '../mesh/app-kinds';
import { spawn } from 'node:child_process';
import { hostAddress } from '../mesh/model';
import { PORT_OUTBOUND_CAPTURE } from '../mesh/ports';
import { pickPodName, ResourceRow } from '../runner/resources-view';
import { UsageError, stringFlag } from './args';
import type { Command } from './command';
import { ApiError, MESH_FLAG, callApi, meshAccess } from './api-client';

const COMMANDS = ['curl'];

export const execCommand: Command = {
  name: 'exec',
  summary: 'run curl from inside a pod of the running mesh (kubectl exec deploy/sleep -- curl …)',
  description: [
    "Runs curl as the pod: its connections leave through the pod's capture, with the pod's address and",
    "identity, so the mesh's policies apply as to the pod's own traffic. deploy/NAME picks a pod of that",
    "Deployment (sleep-7656cf8794-8tp9n is deploy/sleep). Output and exit code are curl's: a connection",
    'closed by L4 policy is exit 56 (reset after it was accepted), as in a cluster; a name the mesh cannot',
    "resolve is exit 97 here (a cluster's DNS gives 6).",
  ].join('\n'),
  operands: { usage: '<pod|deploy/NAME> -- curl <args>', min: 2, max: 1000 },
  flags: {
    namespace: { kind: 'string', short: 'n', value: 'ns', help: 'the namespace (default: default)' },
    mesh: MESH_FLAG,
  },
  run: async ({ flags, operands }) => {
    const [target, command, ...args] = operands;
    if (!COMMANDS.includes(command))
      throw new UsageError(`the pods here run no shell: exec runs ${COMMANDS.join(', ')} (as in: exec deploy/sleep -- curl -s http://productpage:9080/)`);
    const namespace = stringFlag(flags, 'namespace') ?? 'default';
    let pods: ResourceRow[];
    try {
      pods = (await callApi<{ items: ResourceRow[] }>(meshAccess(flags), 'GET', `/get?${new URLSearchParams({ resource: 'pods', namespace }).toString()}`))
        .items;
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
      process.stderr.write(`error: ${err.message}\n`);
      return 1;
    }
    const pod = pickPod(pods, target);
    if (!pod) {
      process.stderr.write(
        `Error from server (NotFound): ${target.startsWith('deploy/') ? `deployments.apps "${target.slice(7)}"` : `pods "${target}"`} not found in namespace ${namespace}\n`,
      );
      return 1;
    }
    const proxy = proxyKind(pod);
    if (proxy) {
      process.stderr.write(`${pod.cells.NAME} is ${proxy}: ztunnel does not capture its own traffic; exec into a client pod (deploy/sleep)\n`);
      return 1;
    }
    const socks = `${hostAddress(pod.cells.IP)}:${PORT_OUTBOUND_CAPTURE}`;
    const child = spawn(command, ['--socks5-hostname', socks, ...args], { stdio: 'inherit' });
    return await new Promise<number>((resolve) => {
      child.on('error', (err: NodeJS.ErrnoException) => {
        process.stderr.write(err.code === 'ENOENT' ? `${command} is not installed on this machine (apt-get install ${command})\n` : `${err.message}\n`);
        resolve(127);
      });
      child.on('exit', (code, signal) => resolve(code ?? (signal ? 128 + 15 : 1)));
    });
  },
};

/** A pod by name, or the first pod of deploy/NAME. */
function pickPod(pods: readonly ResourceRow[], target: string): ResourceRow | undefined {
  const name = pickPodName(
    pods.map((p) => p.cells.NAME),
    target,
  );
  return pods.find((p) => p.cells.NAME === name);
}

/** A waypoint or ingress gateway pod is a proxy: ztunnel does not capture its traffic, so there is no pod capture to use. */
function proxyKind(pod: ResourceRow): string | undefined {
  const containers = (pod.object as { spec?: { containers?: { name?: string }[] } }).spec?.containers ?? [];
  if (containers.some((c) => c.name === WAYPOINT_APP)) return 'a waypoint';
  if (containers.some((c) => c.name === GATEWAY_APP)) return 'an ingress gateway';
  return undefined;
}
