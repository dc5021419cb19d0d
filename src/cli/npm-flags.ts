// `npm run scenario bookinfo --hold` hands hbone-sim no --hold: npm takes every flag before `--`
// as its own config (warning "Unknown cli config" and passing it on only as npm_config_hold), so
// the mesh would run without it. Those flags are found in the environment, and the user is told.
import type { Command } from './command';

export interface KeptFlags {
  /** The command's flags npm kept, by name. */
  readonly names: string[];
  /** All of them booleans: the line that works can be given whole. */
  readonly allBoolean: boolean;
}

export function flagsNpmKept(c: Command, env: NodeJS.ProcessEnv): KeptFlags {
  // Only under `npm run`/`npm test`: elsewhere npm_config_* comes from a user's own environment.
  if (env.npm_lifecycle_event === undefined) return { names: [], allBoolean: true };
  const names = Object.keys(c.flags).filter((name) => (env[`npm_config_${name.replace(/-/g, '_')}`] ?? '') !== '');
  return { names, allBoolean: names.every((n) => c.flags[n].kind === 'boolean') };
}

/**
 * The warning, with the line that works. npm reads an unknown `--out /tmp/x` as a boolean and
 * passes `/tmp/x` on as an argument, so with a value flag among them the line cannot be rebuilt.
 */
export function npmKeptWarning(kept: KeptFlags, argv: readonly string[], script: string | undefined): string {
  const flags = kept.names.map((n) => `--${n}`);
  const head = `hbone-sim: npm kept ${flags.join(', ')} for itself and ran without ${flags.length > 1 ? 'them' : 'it'}: npm passes on only what follows --.`;
  if (kept.allBoolean) return `${head} Run: npx hbone-sim ${[...argv, ...flags].join(' ')}`;
  return `${head} Run: npx hbone-sim ${argv[0]} <flags>, or npm run ${script ?? '<script>'} -- <arguments>`;
}
