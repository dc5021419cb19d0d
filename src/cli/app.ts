// `hbone-sim app --scenario <s> --pod <pod>`: one pod's application (src/apps) as a process.
import { loadScenario } from '../mesh/load';
import { runApp } from '../apps/main';
import { runService } from './lifecycle';
import { requireString, UsageError } from './args';
import { Command, KEEPS_RUNNING, scenarioFlag } from './command';

export const appCommand: Command = {
  name: 'app',
  summary: "one pod's application (the runner starts these)",
  description: "Runs one pod's application, its mesh agent on the pod's SOCKS5 capture and its readiness on :15021.",
  flags: {
    scenario: scenarioFlag('pod'),
    pod: { kind: 'string', value: 'pod', required: true, help: "the pod's name" },
  },
  run: async ({ flags }) => {
    const scenario = loadScenario(requireString(flags, 'scenario', 'app'));
    const podName = requireString(flags, 'pod', 'app');
    const pod = scenario.workloads.find((w) => w.name === podName);
    if (!pod) throw new UsageError(`pod ${podName} is not in scenario ${scenario.name}`);
    await runService(`app::${pod.name}`, () => runApp(pod));
    return KEEPS_RUNNING;
  },
};
