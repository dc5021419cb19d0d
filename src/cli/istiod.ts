// `hbone-sim istiod --scenario <s>`: the control plane (src/istiod) as a process. The only
// process that reads the mesh root's private key.
import { loadScenario } from '../mesh/load';
import { loadOrCreateCa, defaultCaDir } from '../identity/ca-store';
import { ENV_TOKEN_KEY } from '../identity/sa-token';
import { Istiod } from '../istiod/istiod';
import { isConfigMessage, PushedMessage, readLiveConfig, SyncedMessage } from '../mesh/control-plane';
import { runService } from './lifecycle';
import { requireString, stringFlag, UsageError } from './args';
import { Command, LIVE_CONFIG_FLAG, KEEPS_RUNNING, CA_DIR_FLAG, scenarioFlag } from './command';

export const istiodCommand: Command = {
  name: 'istiod',
  summary: 'the control plane: xDS push and the CA (the runner starts it)',
  description: `Runs istiod: delta ADS and the CA on :15012 (TLS), /debug/syncz, /debug/config_dump and /metrics on :15014, readiness on :15021. Service account tokens are verified with the key in ${ENV_TOKEN_KEY}.`,
  flags: {
    scenario: scenarioFlag('istiod'),
    'ca-dir': CA_DIR_FLAG,
    'live-config': LIVE_CONFIG_FLAG,
  },
  run: async ({ flags }) => {
    const file = loadScenario(requireString(flags, 'scenario', 'istiod'));
    // What the API server applied since the mesh started wins over the file.
    const live = stringFlag(flags, 'live-config');
    const scenario = (live && readLiveConfig(live)) || file;
    const caDir = stringFlag(flags, 'ca-dir') ?? defaultCaDir();
    const tokenKey = process.env[ENV_TOKEN_KEY];
    if (!tokenKey) throw new UsageError(`istiod needs the service account token key in ${ENV_TOKEN_KEY} (the runner sets it)`);
    await runService('istiod', async () => {
      const istiod = new Istiod({ scenario, ca: await loadOrCreateCa(caDir, scenario.trustDomain), tokenKey });
      await istiod.start();
      // The API server's changes (hbone-sim apply) arrive on the runner's IPC channel.
      process.on('message', (m) => {
        if (!isConfigMessage(m)) return;
        const { version, synced } = istiod.pushAndWait(m.scenario);
        process.send?.({ kind: 'hbone-sim/pushed', id: m.id, version } satisfies PushedMessage);
        void synced.then((o) => process.send?.({ kind: 'hbone-sim/synced', id: m.id, ...o } satisfies SyncedMessage));
      });
      return istiod;
    });
    return KEEPS_RUNNING;
  },
};
