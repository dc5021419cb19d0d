// `hbone-sim waypoint --scenario <s> --pod <waypoint pod>`: one waypoint as a process.
import { loadScenario } from '../mesh/load';
import { loadOrCreateCa, defaultCaDir } from '../identity/ca-store';
import { runService } from '../cli/lifecycle';
import { requireString } from '../cli/commands';
import { UsageError } from '../cli/args';
import { Waypoint } from './waypoint';

export async function waypointCommand(flags: Record<string, string | boolean>): Promise<number> {
  const scenario = loadScenario(requireString(flags, 'scenario', 'waypoint'));
  const podName = requireString(flags, 'pod', 'waypoint');
  const pod = scenario.workloads.find((w) => w.name === podName && w.app.kind === 'waypoint');
  if (!pod) throw new UsageError(`no waypoint pod ${podName} in scenario ${scenario.name}`);
  const caDir = typeof flags['ca-dir'] === 'string' ? flags['ca-dir'] : defaultCaDir();
  await runService(`waypoint::${pod.name}`, async () => {
    const waypoint = new Waypoint({ scenario, pod, ca: await loadOrCreateCa(caDir, scenario.trustDomain) });
    await waypoint.start();
    return waypoint;
  });
  return -1;
}
