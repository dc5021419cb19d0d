// The long-running hbone-sim commands: one ambient process each (ztunnel, app) and the runner.
import { loadScenario } from '../mesh/load';
import { runApp } from '../apps/main';
import { runService } from './lifecycle';
import { runScenario } from '../runner/run';
import { UsageError } from './args';
import { scaledBackOff } from '../runner/backoff';
import { MAX_POD_PROCESSES } from '../mesh/limits';

export async function appCommand(flags: Record<string, string | boolean>): Promise<number> {
  const scenarioArg = requireString(flags, 'scenario', 'app');
  const podName = requireString(flags, 'pod', 'app');
  const scenario = loadScenario(scenarioArg);
  const pod = scenario.workloads.find((w) => w.name === podName);
  if (!pod) throw new UsageError(`pod ${podName} is not in scenario ${scenario.name}`);
  await runService(`app::${pod.name}`, () => runApp(pod));
  return -1; // keeps running; exits on a signal
}

export async function scenarioCommand(positional: string[], flags: Record<string, string | boolean>): Promise<number> {
  const name = positional[0];
  if (!name) throw new UsageError('scenario needs a name (e.g. bookinfo) or a .yaml file');
  const scenario = loadScenario(name);
  const podProcesses = flags['pod-processes'] === true;
  if (podProcesses && scenario.workloads.length > MAX_POD_PROCESSES) {
    const cap = `at most ${MAX_POD_PROCESSES} pods (MAX_POD_PROCESSES in src/mesh/limits.ts)`;
    throw new UsageError(`--pod-processes starts a process per pod: ${cap}; ${scenario.name} has ${scenario.workloads.length}`);
  }
  return runScenario(scenario, {
    hold: flags.hold === true,
    json: flags.json === true,
    verbose: flags.verbose === true,
    caDir: typeof flags['ca-dir'] === 'string' ? flags['ca-dir'] : undefined,
    backOff: typeof flags['backoff-scale'] === 'string' ? scaledBackOff(backOffScale(flags['backoff-scale'])) : undefined,
    podProcesses,
  });
}

/** --backoff-scale: a positive factor on the kubelet's restart back-off timings. */
export function backOffScale(text: string): number {
  const scale = Number(text);
  if (text.trim() === '' || !Number.isFinite(scale) || scale <= 0) throw new UsageError(`--backoff-scale needs a positive number (0.01 runs the kubelet's back-off 100 times faster), not ${JSON.stringify(text)}`);
  return scale;
}

export function requireString(flags: Record<string, string | boolean>, name: string, command: string): string {
  const v = flags[name];
  if (typeof v !== 'string') throw new UsageError(`${command} needs --${name} <value>`);
  return v;
}
