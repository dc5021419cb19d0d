// What an hbone-sim command is: a name, its operands and flags (which make its usage line and
// help), and run(). Each command lives in its own file in src/cli and starts a role whose code
// lives in that role's folder; src/cli/commands.ts lists them.
import { Flags, FlagSpec, UsageError, parseFlags } from './args';

export const PROGRAM = 'hbone-sim';

/** What run() resolves with for a process that keeps running until a signal (lifecycle.ts stops it). */
export const KEEPS_RUNNING = -1;

export interface Flag {
  /** 'strings' may be given more than once (kubectl's -f a.yaml -f b.yaml). */
  readonly kind: 'string' | 'strings' | 'boolean';
  /** The value's placeholder in the usage line, e.g. "dir" for `--ca-dir <dir>`. */
  readonly value?: string;
  /** A command cannot run without it (shown without brackets). */
  readonly required?: boolean;
  readonly help: string;
  /** kubectl's one-letter form, for the commands that mirror kubectl (-f, -n, -A, -o). */
  readonly short?: string;
}

/** --ca-dir, which every command that needs the mesh CA takes alike. */
export const CA_DIR_FLAG: Flag = { kind: 'string', value: 'dir', help: "the mesh CA's directory (default certs/)" };

/** --istiod of a proxy the runner starts: where istiod's :15012 is; the token comes in HBONE_SA_TOKEN. */
export const ISTIOD_FLAG: Flag = {
  kind: 'string',
  value: 'host:port',
  help: "istiod's xDS and CA address (the runner passes it, with the service account token in HBONE_SA_TOKEN); without it, config from --scenario and certificates from --ca-dir",
};

/** --live-config of a process the runner starts under --hold: what the API server holds now wins over --scenario. */
export const LIVE_CONFIG_FLAG: Flag = {
  kind: 'string',
  value: 'file',
  help: "the API server's live configuration (JSON), read at start when it exists (the runner passes it)",
};

/** --scenario of a process the runner starts: which scenario `role` belongs to. */
export function scenarioFlag(role: string): Flag {
  return { kind: 'string', value: 'name|file', required: true, help: `the scenario the ${role} belongs to` };
}

/** Words after the command name that are not flags, e.g. the scenario of `scenario bookinfo`. */
export interface Operands {
  /** As the usage line shows them, e.g. "<name|file.yaml>". */
  readonly usage: string;
  readonly min: number;
  readonly max: number;
}

export interface Args {
  readonly flags: Flags;
  readonly operands: readonly string[];
}

export interface Command {
  readonly name: string;
  /** One line in `hbone-sim --help`. */
  readonly summary: string;
  /** The rest of `hbone-sim help <name>`: what it does, beyond the flags. */
  readonly description: string;
  readonly operands?: Operands;
  readonly flags: Readonly<Record<string, Flag>>;
  /** Resolves with the exit code, or KEEPS_RUNNING. Throws UsageError for bad input (exit 2). */
  run(args: Args): Promise<number>;
}

function flagUsage(name: string, f: Flag): string {
  const flag = f.short ? `-${f.short}` : `--${name}`;
  const text = f.kind !== 'boolean' ? `${flag} <${f.value ?? 'value'}>` : flag;
  return f.required ? text : `[${text}]`;
}

export function usageLine(c: Command): string {
  const flags = Object.entries(c.flags)
    .sort(([, a], [, b]) => Number(b.required ?? false) - Number(a.required ?? false))
    .map(([name, f]) => flagUsage(name, f));
  return [`${PROGRAM} ${c.name}`, ...(c.operands ? [c.operands.usage] : []), ...flags].join(' ');
}

/** `hbone-sim help <name>` and `hbone-sim <name> --help`. */
export function commandHelp(c: Command): string {
  const rows = Object.entries(c.flags).map(([name, f]) => {
    const flag = f.short ? `-${f.short}, --${name}` : `--${name}`;
    return [f.kind !== 'boolean' ? `${flag} <${f.value ?? 'value'}>` : flag, f.help];
  });
  rows.push(['-h, --help', 'show this help']);
  const width = Math.max(...rows.map(([left]) => left.length));
  return [`usage: ${usageLine(c)}`, '', c.description, '', 'flags:', ...rows.map(([left, help]) => `  ${left.padEnd(width)}  ${help}`), ''].join('\n');
}

/** Flags, then the operand count and the required flags; every problem is a UsageError. */
export function parseArgs(c: Command, argv: string[]): Args {
  const spec: Record<string, Flag['kind']> = {};
  const shorts: Record<string, string> = {};
  for (const [name, f] of Object.entries(c.flags)) {
    spec[name] = f.kind;
    if (f.short) shorts[f.short] = name;
  }
  const { flags, positional } = parseFlags(argv, spec as FlagSpec, shorts);
  const min = c.operands?.min ?? 0;
  const max = c.operands?.max ?? 0;
  if (positional.length < min) throw new UsageError(`missing ${c.operands!.usage}`);
  if (positional.length > max) throw new UsageError(`unexpected argument ${JSON.stringify(positional[max])}`);
  for (const [name, f] of Object.entries(c.flags)) {
    if (f.required && flags[name] === undefined) throw new UsageError(`missing --${name} <${f.value ?? 'value'}>`);
  }
  return { flags, operands: positional };
}
