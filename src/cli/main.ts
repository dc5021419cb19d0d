#!/usr/bin/env node
// The hbone-sim command: argv to a command (dispatch.ts), then an exit that loses no output.
import { dispatch, Io } from './dispatch';
import { KEEPS_RUNNING } from './command';

const FLUSH_TIMEOUT_MS = 5000;

const io: Io = {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
  env: process.env,
};

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

dispatch(process.argv.slice(2), io).then(
  (code) => {
    if (code !== KEEPS_RUNNING) exitFlushed(code);
  },
  (err: Error) => {
    process.stderr.write(`hbone-sim: ${err.stack ?? err.message}\n`);
    exitFlushed(1);
  },
);
