// Log lines to stdout, written together: a busy proxy writes an access-log line (and a trace
// line) per request, and one write(2) per line costs more than the request's own routing.
// Lines wait at most until the event loop's check phase; whatever is queued when the process
// exits is written synchronously, so a line is never lost and the order never changes.
import * as fs from 'node:fs';

const STDOUT_FD = 1;
let queued: string[] = [];
let scheduled = false;
let exitHooked = false;

function flush(): void {
  scheduled = false;
  if (queued.length === 0) return;
  const text = queued.join('');
  queued = [];
  process.stdout.write(text);
}

function flushSync(): void {
  if (queued.length === 0) return;
  const text = queued.join('');
  queued = [];
  try {
    fs.writeSync(STDOUT_FD, text);
  } catch {
    // stdout already gone (the reader exited first): nothing left to tell.
  }
}

/** Queues one line (without its newline) for stdout. */
export function writeStdoutLine(line: string): void {
  queued.push(line + '\n');
  if (!exitHooked) {
    exitHooked = true;
    process.once('exit', flushSync);
  }
  if (!scheduled) {
    scheduled = true;
    setImmediate(flush);
  }
}
