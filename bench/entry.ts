// What every bench command does around its run: --help, usage errors (exit 2), progress lines
// on stderr, and a synchronous cleanup on exit, Ctrl-C (130) and SIGTERM (143), so no server or
// mesh process outlives the bench.
import { UsageError } from '../src/cli/args';

/** Progress goes to stderr, so stdout holds only the tables. */
export function progress(line: string): void {
  process.stderr.write(`  ${line}\n`);
}

export interface Entry<O, C extends { now(): void }> {
  /** e.g. "bench", "bench:core": the prefix of every message. */
  readonly name: string;
  readonly usage: string;
  /** Throws UsageError for bad flags. */
  parse(argv: string[]): O;
  /** Undoes whatever run() started; now() must be synchronous. */
  readonly cleanup: C;
  /** Resolves with the exit code. */
  run(options: O, cleanup: C): Promise<number>;
}

export function runEntry<O, C extends { now(): void }>(e: Entry<O, C>): void {
  let opts: O;
  try {
    if (process.argv.includes('--help')) {
      process.stdout.write(e.usage + '\n');
      return;
    }
    opts = e.parse(process.argv.slice(2));
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`${e.name}: ${err.message}\n${e.usage}\n`);
    process.exitCode = 2;
    return;
  }
  process.once('exit', () => e.cleanup.now());
  for (const [sig, code] of [
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const) {
    process.once(sig, () => {
      // Cleanup first: it also takes a terminal's status line away, which the message would follow.
      e.cleanup.now();
      process.stderr.write(`${e.name}: ${sig}, stopping\n`);
      process.exit(code);
    });
  }
  e.run(opts, e.cleanup).then(
    (code) => process.exit(code),
    (err: Error) => {
      process.stderr.write(`${e.name}: ${err.stack ?? err.message}\n`);
      process.exit(1);
    },
  );
}
