// `hbone-sim scenario <name|file.yaml>`: the runner (src/runner) builds a scenario's mesh as real
// processes, checks its expectations hop by hop and tears it down, or holds it up.
import { loadScenario } from '../mesh/load';
import { HeldAddOn, HeldMesh, runScenario } from '../runner/run';
import { DEFAULT_PAGE_PORT, startLivePage } from '../console/page-server';
import { logger } from '../telemetry/log';
import { scaledBackOff } from '../runner/backoff';
import { stringFlag, UsageError } from './args';
import { MAX_POD_PROCESSES } from '../mesh/limits';
import { Command, CA_DIR_FLAG } from './command';
import { WORKERS_FLAG, workerCount } from './workers-flag';

export const scenarioCommand: Command = {
  name: 'scenario',
  summary: "start a scenario's mesh, check its expectations hop by hop, tear it down (or --hold it)",
  description: [
    'Starts the mesh of a bundled scenario (bookinfo, bookinfo-l4, bookinfo-ambient, echo) or of a .yaml file: one ztunnel',
    "per node, one process per waypoint, and a node agent per node hosting the node's pods. It checks the",
    'expectations hop by hop and tears the mesh down; the',
    'exit code is 0 when every expectation held. A process that exits once the mesh is up is restarted',
    "with the kubelet's CrashLoopBackOff (first restart at once, then 10s doubling to 5m0s).",
    '',
    'HBONE_LOG sets the log levels of the processes (see the README), e.g.',
    'HBONE_LOG=hbone::pool=debug,warn; --verbose shows their logs.',
  ].join('\n'),
  operands: { usage: '<name|file.yaml>', min: 1, max: 1 },
  flags: {
    hold: { kind: 'boolean', help: 'keep the mesh up until Ctrl-C, and print its addresses and commands to try' },
    json: { kind: 'boolean', help: "print the results and every hop's raw records as JSON" },
    verbose: { kind: 'boolean', help: "show every process's logs" },
    'ca-dir': CA_DIR_FLAG,
    'backoff-scale': { kind: 'string', value: 'x', help: 'a factor on the restart back-off timings: 0.01 runs them 100 times faster' },
    'page-port': {
      kind: 'string',
      value: 'port',
      help: `with --hold: the loopback port of the live page (default ${DEFAULT_PAGE_PORT}, or one the kernel picks when taken; 0 for any)`,
    },
    'pod-processes': { kind: 'boolean', help: `one process per pod instead of a node agent per node (to kill -9 one pod; at most ${MAX_POD_PROCESSES} pods)` },
    workers: {
      ...WORKERS_FLAG,
      help: "worker threads of every ztunnel and waypoint it starts (their --workers), as Envoy's --concurrency and ztunnel's worker_threads (default 1: one process each)",
    },
  },
  run: async ({ flags, operands }) => {
    const scenario = loadScenario(operands[0]);
    const scale = stringFlag(flags, 'backoff-scale');
    const podProcesses = flags['pod-processes'] === true;
    if (podProcesses && scenario.workloads.length > MAX_POD_PROCESSES) {
      const cap = `at most ${MAX_POD_PROCESSES} pods (MAX_POD_PROCESSES in src/mesh/limits.ts)`;
      throw new UsageError(`--pod-processes starts a process per pod: ${cap}; ${scenario.name} has ${scenario.workloads.length}`);
    }
    const pagePort = pagePortOf(stringFlag(flags, 'page-port'));
    const workers = workerCount(flags);
    return runScenario(scenario, {
      podProcesses,
      workers,
      onHold: (mesh) => livePage(mesh, pagePort),
      hold: flags.hold === true,
      json: flags.json === true,
      verbose: flags.verbose === true,
      caDir: stringFlag(flags, 'ca-dir'),
      backOff: scale === undefined ? undefined : scaledBackOff(backOffScale(scale)),
    });
  },
};

/** --page-port: a TCP port, 0 for any. */
function pagePortOf(text: string | undefined): number {
  if (text === undefined) return DEFAULT_PAGE_PORT;
  const port = Number(text);
  if (!/^\d+$/.test(text) || port > 65535) throw new UsageError(`--page-port needs a port from 0 to 65535, not ${JSON.stringify(text)}`);
  return port;
}

/** The held mesh's live page: the topology, live edges and every request, on loopback with a token. */
async function livePage(mesh: HeldMesh, port: number): Promise<HeldAddOn> {
  const page = await startLivePage(
    {
      scenario: mesh.scenario,
      records: mesh.records,
      readTraces: mesh.readTraces,
      apply: (files) => mesh.api.apply({ files, wait: true }),
      status: () => mesh.api.status(),
      configDump: (proxy) => mesh.api.configDump(proxy),
      log: logger('live-page'),
    },
    port,
  );
  return {
    lines: [`live page: ${page.url} (the topology, live edges, every request hop by hop; loopback only, the token is its key)`],
    fields: { livePage: page.url },
    stop: page.stop,
  };
}

/** --backoff-scale: a positive factor on the kubelet's restart back-off timings. */
export function backOffScale(text: string): number {
  const scale = Number(text);
  if (text.trim() === '' || !Number.isFinite(scale) || scale <= 0) {
    throw new UsageError(`--backoff-scale needs a positive number (0.01 runs the kubelet's back-off 100 times faster), not ${JSON.stringify(text)}`);
  }
  return scale;
}
