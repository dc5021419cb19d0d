// A waypoint with worker threads (`hbone-sim waypoint --workers N`, Envoy's --concurrency): the
// primary joins istiod and serves the pod's admin ports (src/workers/primary.ts, admin.ts); each
// worker is the waypoint of start.ts without admin ports, on the configuration the primary hands
// it, terminating HBONE on the pod's :15008 (node:cluster shares the listener among the workers).
import { MeshState } from '../mesh/state';
import { hostAddress } from '../mesh/model';
import { loadOrCreateCa } from '../identity/ca-store';
import { IstiodCaClient } from '../xds/ca-client';
import { ProxyWorkers } from '../workers/primary';
import { PrimaryLink } from '../workers/worker';
import { startPrimaryAdmin } from '../workers/admin';
import { logger } from '../telemetry/log';
import { processRequestLines } from '../telemetry/request-lines';
import { joinAsProxy, newestVersion, proxyHandlers, WaypointProcess, WaypointProcessOptions } from './start';
import { Waypoint } from './waypoint';

/** How long the primary gives its workers to drain before SIGKILL (the process's own deadline is 5 s). */
const WORKER_GRACE_MS = 3000;

export interface WaypointPrimary {
  stop(): Promise<void>;
}

/** The primary: istiod's link, the admin ports, and `count` workers; `onGiveUp` when workers keep dying. */
export async function startWaypointPrimary(o: WaypointProcessOptions, count: number, onGiveUp: (why: string) => void): Promise<WaypointPrimary> {
  const { scenario, pod } = o;
  const state = new MeshState(scenario);
  const workers = new ProxyWorkers({ count, log: logger('waypoint'), onGiveUp });
  const joined = o.istiod ? await joinAsProxy(scenario, pod, state, o.caDir, o.istiod, (h) => workers.relay(h)) : undefined;
  // Each worker's own certificate, for the waypoint's identity: not impersonated, as the primary's own.
  const signer = joined ? new IstiodCaClient(joined.link.endpoint) : undefined;
  const stopLink = () => {
    signer?.close();
    joined?.link.stop();
  };
  let admin;
  try {
    admin = await startPrimaryAdmin(hostAddress(pod.ip), workers);
  } catch (err) {
    stopLink();
    throw err;
  }
  workers.start(signer);
  return {
    stop: async () => {
      await admin.close();
      await workers.stop(WORKER_GRACE_MS);
      stopLink();
    },
  };
}

/** A worker: the waypoint of start.ts on its primary's configuration, its admin left to the primary. */
export async function startWaypointWorker(o: WaypointProcessOptions): Promise<WaypointProcess> {
  // Listening for who reads the request lines before saying hello: the primary replays the
  // runner's last word on it right after, and this worker's environment may be older than that.
  processRequestLines();
  const state = new MeshState(o.scenario);
  const primary = new PrimaryLink(o.istiod ? proxyHandlers(state) : []);
  await primary.waitConfigured();
  const ca = o.istiod ? primary.signer : await loadOrCreateCa(o.caDir, o.scenario.trustDomain);
  const waypoint = new Waypoint({
    scenario: o.scenario,
    pod: o.pod,
    state,
    ca,
    configVersion: () => newestVersion((t) => primary.versionOf(t)),
    serveAdmin: false,
  });
  primary.answer = (q) => (q === 'config_dump' ? waypoint.configDump() : waypoint.metricsText());
  try {
    await waypoint.start();
  } catch (err) {
    await waypoint.stop();
    throw err;
  }
  primary.ready();
  return { waypoint, stop: () => waypoint.stop() };
}
