// `hbone-sim ztunnel --scenario <s> --node <n>`: one node's ztunnel (src/ztunnel) as a process.
import { loadScenario } from '../mesh/load';
import { defaultCaDir } from '../identity/ca-store';
import { startZtunnel } from '../ztunnel/start';
import { runService } from './lifecycle';
import { requireString, stringFlag } from './args';
import { Command, KEEPS_RUNNING, CA_DIR_FLAG, ISTIOD_FLAG, scenarioFlag } from './command';
import { istiodLink } from './istiod-link';
import { startZtunnelPrimary, startZtunnelWorker } from '../ztunnel/workers';
import { isProxyWorker, workerId } from '../workers/worker';
import { logAsWorker } from '../telemetry/log';
import { WORKERS_FLAG, workerCount } from './workers-flag';

export const ztunnelCommand: Command = {
  name: 'ztunnel',
  summary: "one node's ztunnel (the runner starts these)",
  description: "Runs one node's ztunnel: every pod's HBONE inbound and SOCKS5 capture, /config_dump on :15000, metrics on :15020.",
  flags: {
    scenario: scenarioFlag('node'),
    node: { kind: 'string', value: 'node', required: true, help: "the node's name" },
    'ca-dir': CA_DIR_FLAG,
    istiod: ISTIOD_FLAG,
    'no-pool': { kind: 'boolean', help: 'give every outbound CONNECT its own TLS connection (the connections bench compares it with the pool)' },
    workers: WORKERS_FLAG,
  },
  run: async ({ flags }) => {
    const scenario = loadScenario(requireString(flags, 'scenario', 'ztunnel'));
    const node = requireString(flags, 'node', 'ztunnel');
    const caDir = stringFlag(flags, 'ca-dir') ?? defaultCaDir();
    const workers = workerCount(flags);
    const options = { scenario, node, caDir, istiod: istiodLink(flags), disablePooling: flags['no-pool'] === true };
    if (isProxyWorker()) {
      // Every line names its worker, as Envoy's log lines name their thread.
      logAsWorker(workerId());
      await runService(`ztunnel::${node}`, () => startZtunnelWorker(options));
    } else if (workers > 1) {
      await runService(`ztunnel::${node}`, (fail) => startZtunnelPrimary(options, workers, fail));
    } else {
      await runService(`ztunnel::${node}`, () => startZtunnel(options));
    }
    return KEEPS_RUNNING;
  },
};
