// `npm run scenario bookinfo --hold` hands hbone-sim no --hold: npm takes every flag before `--`
// as its own config (warning "Unknown cli config" and passing it on as npm_config_hold), so the
// mesh would run without it. Those flags are found in the environment, and the user is told.
import type { Command } from './command';

/** The command's flags npm kept, as they were typed (`--hold`, `--ca-dir /tmp/ca`). */
export function flagsNpmKept(c: Command, env: NodeJS.ProcessEnv): string[] {
  // Only under `npm run`/`npm test`: elsewhere npm_config_* comes from a user's own environment.
  if (env.npm_lifecycle_event === undefined) return [];
  const kept: string[] = [];
  for (const [name, f] of Object.entries(c.flags)) {
    const value = env[`npm_config_${name.replace(/-/g, '_')}`];
    if (value === undefined || value === '') continue;
    kept.push(f.kind === 'boolean' ? `--${name}` : `--${name} ${value}`);
  }
  return kept;
}

/** The warning for flags npm kept, with the command line that passes them on. */
export function npmKeptWarning(kept: readonly string[], argv: readonly string[]): string {
  return (
    `hbone-sim: npm kept ${kept.join(' ')} for itself and ran without ${kept.length > 1 ? 'them' : 'it'}: ` +
    `npm passes flags on only after --. Run: npx hbone-sim ${[...argv, ...kept].join(' ')}`
  );
}
