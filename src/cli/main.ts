#!/usr/bin/env node
// The hbone-sim command.
import { parseFlags, parseDuration, UsageError } from './args';
import { writeWorkloadCert } from './cert';
import { SpiffeIdError } from '../identity/spiffe';
import { ScenarioError } from '../mesh/load';
import { appCommand, scenarioCommand } from './commands';
import { ztunnelCommand } from '../ztunnel/main';
import { waypointCommand } from '../waypoint/main';
import { nodeCommand } from './node';

const FLUSH_TIMEOUT_MS = 5000;

const USAGE = `usage: hbone-sim <command> [flags]

commands:
  scenario <name|file.yaml> [--hold] [--json] [--verbose] [--ca-dir <dir>] [--backoff-scale <x>] [--pod-processes]
      Start the scenario's mesh (one ztunnel per node, one process per waypoint, one node agent
      per node hosting its pods), check its expectations hop by hop, and tear it down; --hold
      keeps it up until Ctrl-C. A process or pod that exits once the mesh is up is restarted
      with the kubelet's CrashLoopBackOff (first restart at once, then 10s doubling to 5m0s);
      --backoff-scale 0.01 runs that 100x faster. --pod-processes runs each pod as a process
      of its own instead (to kill -9 one pod).
  ztunnel --scenario <name|file> --node <node> [--ca-dir <dir>] [--no-pool]
      One node's ztunnel (the runner starts these). --no-pool gives every outbound CONNECT
      its own TLS connection (the connections bench compares it with the pool).
  waypoint --scenario <name|file> --pod <waypoint pod> [--ca-dir <dir>]
      One waypoint (the runner starts these).
  node --scenario <name|file> --node <node> [--pods <pod,...>] [--backoff-scale <x>]
      One node's agent, hosting the node's pods as the kubelet does (the runner starts these).
  app --scenario <name|file> --pod <pod>
      One pod's application as a process of its own (the runner starts these under --pod-processes).
  cert --spiffe <spiffe://td/ns/NS/sa/SA> --out <dir> [--ca-dir <dir>] [--lifetime 24h]
      Issue a mesh certificate for a third-party client: cert-chain.pem, key.pem, root-cert.pem.
`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'cert': {
      const { flags } = parseFlags(rest, { spiffe: 'string', out: 'string', 'ca-dir': 'string', lifetime: 'string' });
      if (typeof flags.spiffe !== 'string') throw new UsageError('cert needs --spiffe <id>');
      if (typeof flags.out !== 'string') throw new UsageError('cert needs --out <dir>');
      const written = await writeWorkloadCert({
        spiffe: flags.spiffe,
        out: flags.out,
        caDir: typeof flags['ca-dir'] === 'string' ? flags['ca-dir'] : undefined,
        lifetimeMs: typeof flags.lifetime === 'string' ? parseDuration(flags.lifetime) : undefined,
      });
      process.stdout.write(`issued ${flags.spiffe} (serial ${written.serial})\n  ${written.chain}\n  ${written.key}\n  ${written.root}\n`);
      return 0;
    }
    case 'scenario': {
      const { flags, positional } = parseFlags(rest, { hold: 'boolean', json: 'boolean', verbose: 'boolean', 'ca-dir': 'string', 'backoff-scale': 'string', 'pod-processes': 'boolean' });
      return scenarioCommand(positional, flags);
    }
    case 'ztunnel': {
      const { flags } = parseFlags(rest, { scenario: 'string', node: 'string', 'ca-dir': 'string', 'no-pool': 'boolean' });
      return ztunnelCommand(flags);
    }
    case 'waypoint': {
      const { flags } = parseFlags(rest, { scenario: 'string', pod: 'string', 'ca-dir': 'string' });
      return waypointCommand(flags);
    }
    case 'node': {
      const { flags } = parseFlags(rest, { scenario: 'string', node: 'string', pods: 'string', 'backoff-scale': 'string' });
      return nodeCommand(flags);
    }
    case 'app': {
      const { flags } = parseFlags(rest, { scenario: 'string', pod: 'string' });
      return appCommand(flags);
    }
    case undefined:
    case 'help':
    case '--help':
      process.stdout.write(USAGE);
      return command === undefined ? 2 : 0;
    default:
      throw new UsageError(`unknown command ${JSON.stringify(command)}`);
  }
}

/**
 * process.exit() once stdout and stderr have handed everything to the OS: exit() alone drops
 * what a pipe has not taken yet (a long list of problems read by a slow reader was cut at the
 * pipe's 64 KiB). A reader that never reads gets FLUSH_TIMEOUT_MS.
 */
function exitFlushed(code: number): void {
  let pending = 2;
  const flushed = (): void => {
    if (--pending === 0) process.exit(code);
  };
  process.stdout.write('', flushed);
  process.stderr.write('', flushed);
  setTimeout(() => process.exit(code), FLUSH_TIMEOUT_MS);
}

main(process.argv.slice(2)).then(
  // A negative code means a service that keeps running until a signal.
  (code) => {
    if (code >= 0) exitFlushed(code);
  },
  (err: Error) => {
    if (err instanceof ScenarioError) {
      process.stderr.write(`${err.message}\n`);
      return exitFlushed(2);
    }
    if (err instanceof UsageError || err instanceof SpiffeIdError) {
      process.stderr.write(`hbone-sim: ${err.message}\n`);
      if (err instanceof UsageError) process.stderr.write(USAGE);
      return exitFlushed(2);
    }
    process.stderr.write(`hbone-sim: ${err.stack ?? err.message}\n`);
    exitFlushed(1);
  },
);
