// `hbone-sim waypoint --scenario <s> --pod <waypoint pod>`: one waypoint (src/waypoint) as a process.
import { loadScenario } from '../mesh/load';
import { defaultCaDir } from '../identity/ca-store';
import { startWaypoint } from '../waypoint/start';
import { runService } from './lifecycle';
import { requireString, stringFlag, UsageError } from './args';
import { Command, KEEPS_RUNNING, CA_DIR_FLAG, ISTIOD_FLAG, LIVE_CONFIG_FLAG, scenarioFlag } from './command';
import { readLiveConfig } from '../mesh/control-plane';
import { istiodLink } from './istiod-link';

export const waypointCommand: Command = {
  name: 'waypoint',
  summary: 'one waypoint (the runner starts these)',
  description: "Runs one waypoint pod: HBONE on :15008, Envoy's stages, /config_dump on :15000, metrics on :15020.",
  flags: {
    scenario: scenarioFlag('waypoint'),
    pod: { kind: 'string', value: 'waypoint pod', required: true, help: "the waypoint pod's name" },
    'live-config': LIVE_CONFIG_FLAG,
    'ca-dir': CA_DIR_FLAG,
    istiod: ISTIOD_FLAG,
  },
  run: async ({ flags }) => {
    const file = loadScenario(requireString(flags, 'scenario', 'waypoint'));
    // A waypoint deployed for an applied Gateway has its pod in the live configuration only.
    const live = stringFlag(flags, 'live-config');
    const scenario = (live && readLiveConfig(live)) || file;
    const podName = requireString(flags, 'pod', 'waypoint');
    const pod = scenario.workloads.find((w) => w.name === podName && w.app.kind === 'waypoint');
    if (!pod) throw new UsageError(`no waypoint pod ${podName} in scenario ${scenario.name}`);
    const caDir = stringFlag(flags, 'ca-dir') ?? defaultCaDir();
    const istiod = istiodLink(flags);
    await runService(`waypoint::${pod.name}`, () => startWaypoint({ scenario, pod, caDir, istiod }));
    return KEEPS_RUNNING;
  },
};
