// `hbone-sim port-forward svc/NAME|deploy/NAME|pod/NAME|NAME [LOCAL:]REMOTE`: kubectl
// port-forward on the running mesh, for a browser. A Service port is taken to its targetPort on
// one running pod of the Service, as kubectl does; connections go straight to the pod's port,
// as the kubelet's do (inside the pod's network, so ztunnel does not capture them). Listens on
// 127.0.0.1 until Ctrl-C.
import * as net from 'node:net';
import { hostAddress, selects } from '../mesh/model';
import { pipeSockets } from '../hbone/tcp';
import { UsageError, stringFlag } from './args';
import type { Command } from './command';
import { ApiError, MESH_FLAG, callApi, meshAccess } from './api-client';
import type { MeshAccess } from '../runner/kubeconfig';
import type { ResourceRow } from '../runner/resources-view';

/** kubectl's default listen address. */
const LOCALHOST = '127.0.0.1';
const PORTS_RE = /^(\d{1,5})?(?::(\d{1,5}))?$/;

interface PodObject {
  readonly metadata: { readonly name: string; readonly labels?: Record<string, string> };
  readonly status: { readonly phase: string; readonly podIP: string };
}
interface ServiceObject {
  readonly spec: { readonly selector: Record<string, string>; readonly ports: readonly { port: number; targetPort: number }[] };
}
interface DeploymentObject {
  readonly spec: { readonly selector: { readonly matchLabels: Record<string, string> } };
}

/** LOCAL:REMOTE, :REMOTE (a free local port) or PORT (the same on both sides). */
function parsePorts(text: string): { local: number; remote: number } {
  const m = PORTS_RE.exec(text);
  const valid = (n: number) => Number.isInteger(n) && n >= 0 && n <= 65535;
  if (!m || (m[1] === undefined && m[2] === undefined)) throw new UsageError(`invalid port mapping ${JSON.stringify(text)}: use LOCAL:REMOTE, :REMOTE or PORT`);
  const local = m[1] === undefined ? 0 : Number(m[1]);
  const remote = Number(m[2] ?? m[1]);
  if (!valid(local) || !valid(remote) || remote === 0) throw new UsageError(`invalid port mapping ${JSON.stringify(text)}`);
  return { local, remote };
}

async function rows(access: MeshAccess, resource: string, namespace: string): Promise<ResourceRow[]> {
  const query = new URLSearchParams({ resource, namespace });
  return (await callApi<{ items: ResourceRow[] }>(access, 'GET', `/get?${query.toString()}`)).items;
}

/** The pod and its port that the target and remote port name. */
async function resolve(access: MeshAccess, target: string, namespace: string, remote: number): Promise<{ pod: PodObject; port: number }> {
  const slash = target.indexOf('/');
  const [kind, name] = slash >= 0 ? [target.slice(0, slash).toLowerCase(), target.slice(slash + 1)] : ['pod', target];
  const pods = (await rows(access, 'pods', namespace)).map((r) => r.object as PodObject);
  const running = (selector: Record<string, string>) => pods.filter((p) => p.status.phase === 'Running' && selects(selector, p.metadata.labels ?? {}));
  const notFound = (what: string) => new ApiError(`Error from server (NotFound): ${what} "${name}" not found`, 404);
  if (['pod', 'pods', 'po'].includes(kind)) {
    const pod = pods.find((p) => p.metadata.name === name);
    if (!pod) throw notFound('pods');
    return { pod, port: remote };
  }
  if (['svc', 'service', 'services'].includes(kind)) {
    const row = (await rows(access, 'services', namespace)).find((r) => r.cells.NAME === name);
    if (!row) throw notFound('services');
    const svc = row.object as ServiceObject;
    const port = svc.spec.ports.find((p) => p.port === remote);
    if (!port) throw new ApiError(`error: Service ${name} does not have a service port ${remote}`, 400);
    const [pod] = running(svc.spec.selector);
    if (!pod) throw new ApiError(`error: unable to forward port because no pod of service ${name} is running`, 400);
    return { pod, port: port.targetPort };
  }
  if (['deploy', 'deployment', 'deployments'].includes(kind)) {
    const row = (await rows(access, 'deployments', namespace)).find((r) => r.cells.NAME === name);
    if (!row) throw notFound('deployments.apps');
    const [pod] = running((row.object as DeploymentObject).spec.selector.matchLabels);
    if (!pod) throw new ApiError(`error: unable to forward port because no pod of deployment ${name} is running`, 400);
    return { pod, port: remote };
  }
  throw new UsageError(`port-forward takes pod/NAME, svc/NAME or deploy/NAME, not ${JSON.stringify(kind)}`);
}

export const portForwardCommand: Command = {
  name: 'port-forward',
  summary: "forward a local port to a pod or a Service's pod (kubectl port-forward), e.g. for a browser",
  description: [
    "kubectl port-forward for the running mesh: svc/NAME takes the Service's port to its targetPort on one",
    'running pod of the Service; deploy/NAME and pod/NAME (or a bare pod name) take the port as it is.',
    "LOCAL:REMOTE, :REMOTE (a free local port) or PORT. Connections go straight to the pod's port, as the",
    "kubelet's do. Listens on 127.0.0.1 until Ctrl-C.",
  ].join('\n'),
  operands: { usage: 'svc/NAME|deploy/NAME|pod/NAME [LOCAL:]REMOTE', min: 2, max: 2 },
  flags: {
    namespace: { kind: 'string', short: 'n', value: 'ns', help: 'the namespace (default: default)' },
    mesh: MESH_FLAG,
  },
  run: async ({ flags, operands }) => {
    const { local, remote } = parsePorts(operands[1]);
    const access = meshAccess(flags);
    let target: { pod: PodObject; port: number };
    try {
      target = await resolve(access, operands[0], stringFlag(flags, 'namespace') ?? 'default', remote);
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
      process.stderr.write(`${err.message}\n`);
      return 1;
    }
    const podHost = hostAddress(target.pod.status.podIP);
    const sockets = new Set<net.Socket>();
    let bound = local;
    const server = net.createServer({ allowHalfOpen: true, pauseOnConnect: true }, (client) => {
      process.stdout.write(`Handling connection for ${bound}\n`);
      sockets.add(client);
      client.on('error', () => undefined);
      client.once('close', () => sockets.delete(client));
      const upstream = net.connect({ host: podHost, port: target.port, allowHalfOpen: true });
      upstream.on('error', (err) => {
        process.stderr.write(`error forwarding port ${target.port} to pod ${target.pod.metadata.name}: ${err.message}\n`);
        client.destroy();
      });
      upstream.once('connect', () => void pipeSockets(client, upstream));
    });
    await new Promise<void>((resolveListen, reject) => {
      server.once('error', reject);
      server.listen(local, LOCALHOST, () => resolveListen());
    }).catch((err: NodeJS.ErrnoException) => {
      throw new UsageError(`unable to listen on ${LOCALHOST}:${local}: ${err.code === 'EADDRINUSE' ? 'address already in use' : err.message}`);
    });
    bound = (server.address() as net.AddressInfo).port;
    process.stdout.write(`Forwarding from ${LOCALHOST}:${bound} -> ${target.port}\n`);
    await new Promise<void>((done) => {
      const stop = () => done();
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
    for (const s of sockets) s.destroy();
    await new Promise<void>((r) => server.close(() => r()));
    return 0;
  },
};
