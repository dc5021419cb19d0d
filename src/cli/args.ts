// A small flag parser with the conventions of getopt_long: --name value, --name=value, boolean
// --flag, and `--` ending the flags. Unknown flags are errors that name the closest known one.
import { closest } from './suggest';

export class UsageError extends Error {
  override name = 'UsageError';
}

export interface FlagSpec {
  /** 'strings': a string flag that may be given again, each value kept (kubectl's -f a -f b). */
  readonly [name: string]: 'string' | 'strings' | 'boolean';
}

export type Flags = Record<string, string | boolean | readonly string[]>;

/** Everything after this argument is an operand, even when it starts with a dash. */
const END_OF_FLAGS = '--';

/**
 * `shorts` maps kubectl's one-letter flags to their long names (-f to --filename): the commands
 * that mirror kubectl take them as kubectl does (`-f x`, `-f=x`).
 */
export function parseFlags(argv: string[], spec: FlagSpec, shorts: Readonly<Record<string, string>> = {}): { flags: Flags; positional: string[] } {
  const flags: Flags = {};
  const positional: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const short = /^-([a-zA-Z])(=.*)?$/.exec(argv[i]);
    const arg = short && Object.hasOwn(shorts, short[1]) ? `--${shorts[short[1]]}${short[2] ?? ''}` : argv[i];
    if (arg === END_OF_FLAGS) {
      positional.push(...argv.slice(i + 1));
      break;
    }
    // Short flags are only kubectl's (above); -h is answered before parsing; no negative numbers.
    if (/^-[^-]/.test(arg)) throw unknownFlag(arg, arg.slice(1), spec);
    if (!arg.startsWith('--')) {
      positional.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = arg.slice(2, eq < 0 ? undefined : eq);
    const kind = Object.hasOwn(spec, name) ? spec[name] : undefined;
    if (!kind) throw unknownFlag(`--${name}`, name, spec);
    if (kind === 'boolean') {
      if (eq >= 0) throw new UsageError(`--${name} takes no value`);
      flags[name] = true;
    } else {
      const value = eq >= 0 ? arg.slice(eq + 1) : argv[++i];
      if (eq < 0 && (value === undefined || value.startsWith('--'))) throw new UsageError(`--${name} needs a value`);
      const before = flags[name];
      flags[name] = kind === 'strings' ? [...(Array.isArray(before) ? (before as readonly string[]) : []), value] : value;
    }
  }
  return { flags, positional };
}

function unknownFlag(typed: string, name: string, spec: FlagSpec): UsageError {
  const known = Object.keys(spec);
  const guess = closest(name, known);
  if (guess) return new UsageError(`unknown flag ${typed}; did you mean --${guess}?`);
  return new UsageError(`unknown flag ${typed}${known.length > 0 ? ` (flags: ${known.map((k) => `--${k}`).join(', ')})` : ''}`);
}

/** A string flag's value, or undefined when it was not given. */
export function stringFlag(flags: Flags, name: string): string | undefined {
  const v = flags[name];
  return typeof v === 'string' ? v : undefined;
}

/** Every value of a repeatable string flag, in the order given. */
export function stringsFlag(flags: Flags, name: string): readonly string[] {
  const v = flags[name];
  return Array.isArray(v) ? (v as readonly string[]) : typeof v === 'string' ? [v] : [];
}

export function requireString(flags: Flags, name: string, command: string): string {
  const v = stringFlag(flags, name);
  if (v === undefined) throw new UsageError(`${command} needs --${name} <value>`);
  return v;
}

/** "90s", "10m", "24h", "500ms" or plain milliseconds. */
export function parseDuration(text: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text);
  if (!m) throw new UsageError(`bad duration ${JSON.stringify(text)}: use e.g. 500ms, 90s, 10m, 24h`);
  const n = Number(m[1]);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[(m[2] ?? 'ms') as 'ms' | 's' | 'm' | 'h'];
  return Math.round(n * unit);
}
