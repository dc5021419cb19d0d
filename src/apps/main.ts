// Runs one pod's app: the mesh agent through the pod's SOCKS5 capture, the app itself, and a
// readiness server on <pod address>:15021 that answers "ready" once the app listens. A node agent
// runs one per pod it hosts (src/node/pod-host.ts); `app --pod` runs one in a process of its own.
import { PORT_READINESS, PORT_SOCKS5 } from '../mesh/ports';
import { Workload, hostAddress } from '../mesh/model';
import { AdminServer, readinessRoutes, startHttp } from '../admin/http';
import { Logger, logger } from '../telemetry/log';
import { apps } from './index';
import { Endpoint, MeshAgent } from './socks5';
import type { RunningApp } from './app';

export interface RunAppOptions {
  /** Where the pod's cluster address is served; default 10.a.b.c -> 127.a.b.c. */
  readonly hostIp?: string;
  /** The pod's SOCKS5 capture; default <hostIp>:15080, served by the node's ztunnel. */
  readonly socksProxy?: Endpoint;
  /** Default 15021; 0 picks a free port (tests). */
  readonly readinessPort?: number;
  readonly log?: Logger;
}

export interface AppHandle {
  readonly pod: Workload;
  readonly hostIp: string;
  readonly readiness: AdminServer;
  close(): Promise<void>;
  /** The same as close(), for process lifecycles that stop services (src/cli/lifecycle.ts). */
  stop(): Promise<void>;
}

export async function runApp(pod: Workload, options: RunAppOptions = {}): Promise<AppHandle> {
  const start = apps[pod.app.kind];
  if (!start) throw new Error(`pod ${pod.name}: unknown app kind '${pod.app.kind}' (known: ${Object.keys(apps).join(', ')})`);
  const hostIp = options.hostIp ?? hostAddress(pod.ip);
  const log = options.log ?? logger(`app::${pod.name}`);
  const socksProxy = options.socksProxy ?? { host: hostIp, port: PORT_SOCKS5 };
  const meshAgent = new MeshAgent({ proxy: socksProxy, localAddress: hostIp });

  // Readiness first and "not ready" until the app listens, as a kubelet would see it.
  let app: RunningApp | undefined;
  const readiness = await startHttp(
    hostIp,
    options.readinessPort ?? PORT_READINESS,
    readinessRoutes(() => app !== undefined),
  );
  try {
    app = await start({ pod, podHostIp: hostIp, meshAgent, socksProxy, log });
  } catch (err) {
    await readiness.close();
    meshAgent.destroy();
    throw err;
  }
  log.info('app ready', { pod: pod.name, kind: pod.app.kind, address: hostIp });

  const running = app;
  let closing: Promise<void> | undefined;
  const close = (): Promise<void> =>
    (closing ??= (async () => {
      app = undefined;
      await readiness.close();
      await running.close();
      meshAgent.destroy();
    })());
  return { pod, hostIp, readiness, close, stop: close };
}
