// A ztunnel with worker threads (`hbone-sim ztunnel --workers N`, ztunnel's worker_threads): the
// primary joins istiod and serves the node's admin ports (src/workers/primary.ts, admin.ts);
// each worker is the ztunnel of start.ts without admin ports, on the configuration the primary
// hands it, listening on every pod's addresses as the single process does (node:cluster shares
// each listener among the workers).
import { MeshState } from '../mesh/state';
import { hostAddress } from '../mesh/model';
import { loadOrCreateCa } from '../identity/ca-store';
import type { ControlPlaneLink } from '../xds/bootstrap';
import { logger } from '../telemetry/log';
import { ProxyWorkers } from '../workers/primary';
import { PrimaryLink } from '../workers/worker';
import { startPrimaryAdmin } from '../workers/admin';
import { buildZtunnel, joinAsZtunnel, ztunnelHandlers, ZtunnelProcess, ZtunnelProcessOptions } from './start';

/** How long the primary gives its workers to drain before SIGKILL (the process's own deadline is 5 s). */
const WORKER_GRACE_MS = 3000;

export interface ZtunnelPrimary {
  stop(): Promise<void>;
}

/** The primary: istiod's link, the admin ports, and `count` workers; `onGiveUp` when workers keep dying. */
export async function startZtunnelPrimary(o: ZtunnelProcessOptions, count: number, onGiveUp: (why: string) => void): Promise<ZtunnelPrimary> {
  const { scenario } = o;
  const node = scenario.nodes.find((n) => n.name === o.node);
  if (!node) throw new Error(`node ${o.node} is not in scenario ${scenario.name}`);
  const state = new MeshState(scenario);
  const workers = new ProxyWorkers({ count, log: logger('ztunnel'), onGiveUp });
  let link: ControlPlaneLink | undefined;
  if (o.istiod) {
    link = await joinAsZtunnel(
      o,
      o.istiod,
      node.ip,
      ztunnelHandlers(state).map((h) => workers.relay(h)),
    );
  }
  let admin;
  try {
    admin = await startPrimaryAdmin(hostAddress(node.ip), workers);
  } catch (err) {
    link?.stop();
    throw err;
  }
  // Pods' certificates: istiod's CA, impersonating each pod as ztunnel does.
  workers.start(link?.ca);
  return {
    stop: async () => {
      await admin.close();
      await workers.stop(WORKER_GRACE_MS);
      link?.stop();
    },
  };
}

/** A worker: the ztunnel of start.ts on its primary's configuration, its admin left to the primary. */
export async function startZtunnelWorker(o: ZtunnelProcessOptions): Promise<ZtunnelProcess> {
  const state = new MeshState(o.scenario);
  const primary = new PrimaryLink(o.istiod ? ztunnelHandlers(state) : []);
  await primary.waitConfigured();
  const ca = o.istiod ? primary.signer : await loadOrCreateCa(o.caDir, o.scenario.trustDomain);
  const { ztunnel, metrics } = buildZtunnel(o, state, ca, false);
  primary.answer = (q) => (q === 'config_dump' ? ztunnel.configDump() : metrics.metrics());
  await ztunnel.start();
  primary.ready();
  return { ztunnel, stop: () => ztunnel.stop() };
}
