// `hbone-sim gateway --scenario <s> --pod <gateway pod>`: one ingress gateway (src/gateway) as a
// process, as the runner starts it for a Gateway of class istio applied to the running mesh.
import { loadScenario } from '../mesh/load';
import { defaultCaDir } from '../identity/ca-store';
import { GATEWAY_APP } from '../mesh/app-kinds';
import { readLiveConfig } from '../mesh/control-plane';
import { startGateway } from '../gateway/start';
import { runService } from './lifecycle';
import { requireString, stringFlag, UsageError } from './args';
import { Command, KEEPS_RUNNING, CA_DIR_FLAG, ISTIOD_FLAG, LIVE_CONFIG_FLAG, scenarioFlag } from './command';
import { istiodLink } from './istiod-link';

export const gatewayCommand: Command = {
  name: 'gateway',
  summary: 'one ingress gateway process (a Gateway of class istio; the runner starts these)',
  description: [
    "Runs one ingress gateway pod's process: plain HTTP on each listener port of its Gateway, the HTTPRoutes",
    'whose parentRef is the Gateway, HBONE to meshed backends as <gateway>-istio, /config_dump on :15000,',
    'metrics on :15020, readiness on :15021. `hbone-sim apply -f` of a Gateway of class istio starts one.',
  ].join('\n'),
  operands: { usage: '', min: 0, max: 0 },
  flags: {
    scenario: scenarioFlag('gateway'),
    pod: { kind: 'string', value: 'gateway pod', help: "the gateway pod's name" },
    'live-config': LIVE_CONFIG_FLAG,
    'ca-dir': CA_DIR_FLAG,
    istiod: ISTIOD_FLAG,
  },
  run: async ({ flags }) => {
    const file = loadScenario(requireString(flags, 'scenario', 'gateway'));
    // Its pod exists only in the live configuration: a Gateway applied to the running mesh made it.
    const live = stringFlag(flags, 'live-config');
    const scenario = (live && readLiveConfig(live)) || file;
    const podName = requireString(flags, 'pod', 'gateway');
    const pod = scenario.workloads.find((w) => w.name === podName && w.app.kind === GATEWAY_APP);
    if (!pod) throw new UsageError(`no ingress gateway pod ${podName} in scenario ${scenario.name}`);
    const caDir = stringFlag(flags, 'ca-dir') ?? defaultCaDir();
    await runService(`gateway::${pod.name}`, () => startGateway({ scenario, pod, caDir, istiod: istiodLink(flags) }));
    return KEEPS_RUNNING;
  },
};
