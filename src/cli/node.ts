// `hbone-sim node --scenario <s> --node <n>`: one node's agent as a process, hosting the node's
// pods (src/node/agent.ts). The runner starts one per node that has pods, unless
// `scenario --pod-processes` asks for one process per pod.
import { loadScenario } from '../mesh/load';
import { runService } from './lifecycle';
import { backOffScale, requireString } from './commands';
import { UsageError } from './args';
import { NodeAgent } from '../node/agent';
import { currentPodScope } from '../apps/pod-scope';
import { scaledBackOff } from '../runner/backoff';
import { READY_TIMEOUT_MS } from '../runner/run';
import type { NodeAgentMessage } from '../node/agent-message';
import { logger } from '../telemetry/log';

export async function nodeCommand(flags: Record<string, string | boolean>): Promise<number> {
  const scenario = loadScenario(requireString(flags, 'scenario', 'node'));
  const node = requireString(flags, 'node', 'node');
  if (!scenario.nodes.some((n) => n.name === node)) throw new UsageError(`node ${node} is not in scenario ${scenario.name}`);
  const pods = typeof flags.pods === 'string' ? flags.pods.split(',').filter((p) => p !== '') : undefined;
  const scale = typeof flags['backoff-scale'] === 'string' ? backOffScale(flags['backoff-scale']) : undefined;
  const log = logger(`kubelet::${node}`);
  await runService(
    `kubelet::${node}`,
    async () => {
      const agent = new NodeAgent({
        scenario,
        node,
        pods,
        timings: scale === undefined ? undefined : scaledBackOff(scale),
        readyTimeoutMs: READY_TIMEOUT_MS,
        log,
        report: (e, tail) => {
          log.info(e.message);
          if (process.connected) process.send?.({ restartEvent: e, tail } satisfies NodeAgentMessage);
        },
      });
      await agent.start();
      return agent;
    },
    {
      // An exception a pod's code left uncaught crashes that pod; anything else is the agent's.
      contain: (err) => {
        const scope = currentPodScope();
        if (!scope) return false;
        scope.crash(err);
        return true;
      },
    },
  );
  return -1;
}
