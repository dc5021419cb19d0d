// `hbone-sim waypoint --scenario <s> --pod <waypoint pod>`: one waypoint (src/waypoint) as a
// process, as the runner starts it. `hbone-sim waypoint apply|list|delete|generate` is istioctl
// waypoint against the running mesh (waypoint-admin.ts).
import { loadScenario } from '../mesh/load';
import { defaultCaDir } from '../identity/ca-store';
import { startWaypoint } from '../waypoint/start';
import { runService } from './lifecycle';
import { requireString, stringFlag, UsageError } from './args';
import { Command, KEEPS_RUNNING, CA_DIR_FLAG, ISTIOD_FLAG, LIVE_CONFIG_FLAG, scenarioFlag } from './command';
import { readLiveConfig } from '../mesh/control-plane';
import { istiodLink } from './istiod-link';
import { MESH_FLAG } from './api-client';
import { WAYPOINT_VERBS, waypointAdmin } from './waypoint-admin';
import { startWaypointPrimary, startWaypointWorker } from '../waypoint/workers';
import { isProxyWorker, workerId } from '../workers/worker';
import { logAsWorker } from '../telemetry/log';
import { WORKERS_FLAG, workerCount } from './workers-flag';

export const waypointCommand: Command = {
  name: 'waypoint',
  summary: 'istioctl waypoint apply|list|delete|generate against the running mesh; with --pod, one waypoint process (the runner starts these)',
  description: [
    'waypoint apply [-n NS] [--name N] [--for service|workload|all|none] [--enroll-namespace] [--wait]: applies the',
    'Gateway istioctl writes (class istio-waypoint), which deploys the waypoint; --enroll-namespace labels the namespace',
    'istio.io/use-waypoint=N. waypoint list [-n NS|-A], waypoint delete [NAME...], waypoint generate (prints the Gateway).',
    "With --scenario and --pod instead: runs one waypoint pod's process (HBONE on :15008, Envoy's stages,",
    '/config_dump on :15000, metrics on :15020), as the runner does.',
  ].join('\n'),
  operands: { usage: '[apply|list|delete|generate] [NAME...]', min: 0, max: 20 },
  flags: {
    namespace: { kind: 'string', short: 'n', value: 'ns', help: 'apply, list, delete: the namespace (default: default)' },
    name: { kind: 'string', value: 'name', help: 'apply, generate: the waypoint (default: waypoint)' },
    for: { kind: 'string', value: 'service|workload|all|none', help: 'apply, generate: the traffic it is for (istio.io/waypoint-for; default service)' },
    'enroll-namespace': { kind: 'boolean', help: 'apply: label the namespace istio.io/use-waypoint=<name>' },
    wait: { kind: 'boolean', help: 'apply: return once every proxy has ACKed it' },
    'all-namespaces': { kind: 'boolean', short: 'A', help: 'list: every namespace' },
    mesh: MESH_FLAG,
    scenario: { ...scenarioFlag('waypoint'), required: false },
    pod: { kind: 'string', value: 'waypoint pod', help: "the process: the waypoint pod's name" },
    'live-config': LIVE_CONFIG_FLAG,
    'ca-dir': CA_DIR_FLAG,
    istiod: ISTIOD_FLAG,
    workers: WORKERS_FLAG,
  },
  run: async ({ flags, operands }) => {
    if (operands.length > 0) {
      if (!(WAYPOINT_VERBS as readonly string[]).includes(operands[0]))
        throw new UsageError(`unknown waypoint command ${JSON.stringify(operands[0])} (${WAYPOINT_VERBS.join(', ')})`);
      return waypointAdmin(operands[0], operands.slice(1), flags);
    }
    const file = loadScenario(requireString(flags, 'scenario', 'waypoint'));
    // A waypoint deployed for an applied Gateway has its pod in the live configuration only.
    const live = stringFlag(flags, 'live-config');
    const scenario = (live && readLiveConfig(live)) || file;
    const podName = requireString(flags, 'pod', 'waypoint');
    const pod = scenario.workloads.find((w) => w.name === podName && w.app.kind === 'waypoint');
    if (!pod) throw new UsageError(`no waypoint pod ${podName} in scenario ${scenario.name}`);
    const caDir = stringFlag(flags, 'ca-dir') ?? defaultCaDir();
    const istiod = istiodLink(flags);
    const workers = workerCount(flags);
    const options = { scenario, pod, caDir, istiod };
    if (isProxyWorker()) {
      // Every line names its worker, as Envoy's log lines name their thread.
      logAsWorker(workerId());
      await runService(`waypoint::${pod.name}`, () => startWaypointWorker(options));
    } else if (workers > 1) {
      await runService(`waypoint::${pod.name}`, (fail) => startWaypointPrimary(options, workers, fail));
    } else {
      await runService(`waypoint::${pod.name}`, () => startWaypoint(options));
    }
    return KEEPS_RUNNING;
  },
};
