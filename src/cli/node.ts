// `hbone-sim node --scenario <s> --node <n>`: one node's agent (src/node) as a process, hosting
// the node's pods as the kubelet does. The runner starts one per node that has pods, unless
// `scenario --pod-processes` asks for one process per pod.
import { loadScenario } from '../mesh/load';
import { NodeAgent } from '../node/agent';
import { isPodCommand, NodeAgentMessage } from '../node/agent-message';
import { currentPodScope } from '../apps/pod-scope';
import { scaledBackOff } from '../runner/backoff';
import { READY_TIMEOUT_MS } from '../runner/run';
import { logger } from '../telemetry/log';
import { runService } from './lifecycle';
import { requireString, stringFlag, UsageError } from './args';
import { Command, KEEPS_RUNNING, scenarioFlag } from './command';
import { backOffScale } from './scenario';

export const nodeCommand: Command = {
  name: 'node',
  summary: "one node's agent, hosting the node's pods as the kubelet does (the runner starts these)",
  description: [
    "Runs one node's agent: every pod of the node but waypoints, each with its own address, app",
    'servers, readiness on :15021 and mesh agent; a pod whose app crashes is restarted alone with the',
    "kubelet's back-off. The agent's own health is GET /healthz on the node's address, port 10248.",
  ].join('\n'),
  flags: {
    scenario: scenarioFlag('node'),
    node: { kind: 'string', value: 'node', required: true, help: "the node's name" },
    pods: { kind: 'string', value: 'pod,...', help: 'host only these pods of the node (a test stands in for the others)' },
    'backoff-scale': { kind: 'string', value: 'x', help: 'a factor on the restart back-off timings: 0.01 runs them 100 times faster' },
  },
  run: async ({ flags }) => {
    const scenario = loadScenario(requireString(flags, 'scenario', 'node'));
    const node = requireString(flags, 'node', 'node');
    if (!scenario.nodes.some((n) => n.name === node)) throw new UsageError(`node ${node} is not in scenario ${scenario.name}`);
    const pods = stringFlag(flags, 'pods')
      ?.split(',')
      .filter((p) => p !== '');
    const scale = stringFlag(flags, 'backoff-scale');
    const log = logger(`kubelet::${node}`);
    await runService(
      `kubelet::${node}`,
      async () => {
        const agent = new NodeAgent({
          scenario,
          node,
          pods,
          timings: scale === undefined ? undefined : scaledBackOff(backOffScale(scale)),
          readyTimeoutMs: READY_TIMEOUT_MS,
          log,
          report: (e, tail) => {
            log.info(e.message);
            if (process.connected) process.send?.({ restartEvent: e, tail } satisfies NodeAgentMessage);
          },
        });
        await agent.start();
        // Pods applied to the node, or deleted from it, while the mesh runs (the runner tells).
        process.on('message', (m) => {
          if (!isPodCommand(m)) return;
          if (m.kind === 'hbone-sim/pod-add') agent.add(m.pod);
          else void agent.delete(m.name);
        });
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
    return KEEPS_RUNNING;
  },
};
