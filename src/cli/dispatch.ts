// From argv to a command, with the conventions of a Unix command line: --help, -h, `help
// <command>` and `<command> --help` print usage to stdout and exit 0; --version prints the
// version; a usage error exits 2 naming the closest known command or flag.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { UsageError } from './args';
import { Command, PROGRAM, commandHelp, parseArgs, usageLine } from './command';
import { COMMANDS } from './commands';
import { closest } from './suggest';
import { flagsNpmKept, npmKeptWarning } from './npm-flags';
import { ScenarioError } from '../mesh/load';
import { SpiffeIdError } from '../identity/spiffe';

/** Exit codes: a usage error is 2, as getopt-based tools and ztunnel's clap return. */
export const EXIT_USAGE = 2;

export interface Io {
  out(text: string): void;
  err(text: string): void;
  readonly env: NodeJS.ProcessEnv;
}

const HELP_FLAGS = ['--help', '-h'];
const VERSION_FLAG = '--version';
const TOP_FLAGS = ['help', 'version'];

export function topUsage(commands: readonly Command[] = COMMANDS): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  return [
    `usage: ${PROGRAM} <command> [flags]`,
    `       ${PROGRAM} help <command>`,
    `       ${PROGRAM} --version`,
    '',
    "A userspace simulator of Istio ambient mode's data plane: ztunnel, waypoint and HBONE on one machine.",
    '',
    'commands:',
    ...commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    `Run '${PROGRAM} help <command>' for a command's flags. HBONE_LOG sets log levels like ztunnel's RUST_LOG:`,
    'a default level and target=level pairs, e.g. HBONE_LOG=hbone::pool=debug,waypoint=info,warn.',
    '',
  ].join('\n');
}

/** The version in package.json, found above this file (dist/src/cli or src/cli). */
export function packageVersion(): string {
  for (let dir = __dirname, i = 0; i < 4; dir = path.dirname(dir), i++) {
    const file = path.join(dir, 'package.json');
    if (!fs.existsSync(file)) continue;
    const pkg = JSON.parse(fs.readFileSync(file, 'utf8')) as { name?: string; version?: string };
    if (pkg.name === PROGRAM && pkg.version) return pkg.version;
  }
  throw new Error(`no package.json of ${PROGRAM} above ${__dirname}`);
}

/** Help asked for anywhere among a command's arguments, before a `--` that ends the flags. */
function wantsHelp(argv: readonly string[]): boolean {
  const end = argv.indexOf('--');
  return (end < 0 ? argv : argv.slice(0, end)).some((a) => HELP_FLAGS.includes(a));
}

function unknownCommand(name: string, commands: readonly Command[]): string {
  const names = commands.map((c) => c.name);
  const guess = closest(name, names);
  const hint = guess ? `; did you mean ${guess}?` : ` (commands: ${names.join(', ')})`;
  return `${PROGRAM}: unknown command ${JSON.stringify(name)}${hint}\nRun '${PROGRAM} --help' for usage.\n`;
}

/** Runs argv's command; resolves with the exit code (KEEPS_RUNNING for a process that stays up). */
export async function dispatch(argv: readonly string[], io: Io, commands: readonly Command[] = COMMANDS): Promise<number> {
  const [first, ...rest] = argv;
  if (first === undefined) {
    io.err(topUsage(commands));
    return EXIT_USAGE;
  }
  if (HELP_FLAGS.includes(first)) {
    io.out(topUsage(commands));
    return 0;
  }
  if (first === VERSION_FLAG) {
    io.out(`${PROGRAM} ${packageVersion()}\n`);
    return 0;
  }
  if (first === 'help') {
    if (rest.length === 0) {
      io.out(topUsage(commands));
      return 0;
    }
    const c = commands.find((x) => x.name === rest[0]);
    if (!c || rest.length > 1) {
      io.err(c ? `${PROGRAM} help: unexpected argument ${JSON.stringify(rest[1])}\nusage: ${PROGRAM} help <command>\n` : unknownCommand(rest[0], commands));
      return EXIT_USAGE;
    }
    io.out(commandHelp(c));
    return 0;
  }
  if (first.startsWith('-')) {
    const name = first.replace(/^-+/, '').split('=')[0];
    const guess = closest(name, TOP_FLAGS);
    io.err(
      `${PROGRAM}: unknown flag ${first}${guess ? `; did you mean --${guess}?` : '; a command comes first'}\n` +
        `usage: ${PROGRAM} <command> [flags]\nRun '${PROGRAM} --help' for usage.\n`,
    );
    return EXIT_USAGE;
  }
  const command = commands.find((c) => c.name === first);
  if (!command) {
    io.err(unknownCommand(first, commands));
    return EXIT_USAGE;
  }
  if (wantsHelp(rest)) {
    io.out(commandHelp(command));
    return 0;
  }
  const kept = flagsNpmKept(command, io.env);
  if (kept.names.length > 0) io.err(npmKeptWarning(kept, argv, io.env.npm_lifecycle_event) + '\n');
  try {
    return await command.run(parseArgs(command, [...rest]));
  } catch (err) {
    if (err instanceof ScenarioError) {
      io.err(`${err.message}\n`);
      return EXIT_USAGE;
    }
    if (err instanceof SpiffeIdError) {
      io.err(`${PROGRAM} ${command.name}: ${err.message}\n`);
      return EXIT_USAGE;
    }
    if (err instanceof UsageError) {
      io.err(`${PROGRAM} ${command.name}: ${err.message}\nusage: ${usageLine(command)}\nRun '${PROGRAM} help ${command.name}' for what each flag does.\n`);
      return EXIT_USAGE;
    }
    throw err;
  }
}
