// Log lines to stdout, written together: a busy proxy writes an access-log line (and a trace
// line) per request, and one write(2) per line costs more than the request's own routing.
// Lines wait at most until the event loop's check phase; whatever is queued when the process
// exits is written synchronously, so the order never changes.
//
// Bounded: stdout is a pipe to whoever reads the logs (the runner, a shell), and Node writes to
// a pipe without blocking, keeping in memory whatever the reader has not taken yet. A reader
// slower than the proxy would grow the proxy's memory without limit, so past MAX_PENDING_BYTES
// new lines are dropped and counted, as ztunnel's non-blocking log writer drops lines rather
// than stall the data path; the count is reported on stderr.
import * as fs from 'node:fs';

const STDOUT_FD = 1;
/** Bytes that may wait for the reader: queued here plus Node's own stdout buffer. */
export const MAX_PENDING_BYTES = 4 * 1024 * 1024;
/** Dropped lines are reported at most this often. */
const DROP_REPORT_MS = 10_000;

let queued: string[] = [];
let queuedBytes = 0;
let scheduled = false;
let exitHooked = false;
let dropped = 0;
let dropReport: NodeJS.Timeout | undefined;

function flush(): void {
  scheduled = false;
  if (queued.length === 0) return;
  const text = queued.join('');
  queued = [];
  queuedBytes = 0;
  process.stdout.write(text);
}

function flushSync(): void {
  reportDrops();
  if (queued.length === 0) return;
  const text = queued.join('');
  queued = [];
  queuedBytes = 0;
  try {
    fs.writeSync(STDOUT_FD, text);
  } catch {
    // stdout already gone (the reader exited first): nothing left to tell.
  }
}

function reportDrops(): void {
  dropReport = undefined;
  if (dropped === 0) return;
  process.stderr.write(`${new Date().toISOString()}\twarn\taccess\tdropped ${dropped} log lines: stdout is not read as fast as they are written\n`);
  dropped = 0;
}

/** Where a log writes its lines: writeStdoutLine by default, a test's array otherwise. */
export type Sink = (line: string) => void;

/** Queues one line (without its newline) for stdout; drops it when the reader is too far behind. */
export function writeStdoutLine(line: string): void {
  if (queuedBytes + process.stdout.writableLength > MAX_PENDING_BYTES) {
    dropped++;
    dropReport ??= setTimeout(reportDrops, DROP_REPORT_MS).unref();
    return;
  }
  queued.push(line + '\n');
  queuedBytes += line.length + 1;
  if (!exitHooked) {
    exitHooked = true;
    process.once('exit', flushSync);
  }
  if (!scheduled) {
    scheduled = true;
    setImmediate(flush);
  }
}

/**
 * Resolves once every line written so far has left the process (or after timeoutMs): a process
 * about to exit waits for it, since process.exit() discards what a pipe has not taken yet.
 */
export function stdoutDrained(timeoutMs: number): Promise<void> {
  flush();
  if (process.stdout.writableLength === 0) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, timeoutMs);
    timer.unref();
    process.stdout.once('drain', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/** Lines dropped since the last report (for tests). */
export function droppedLines(): number {
  return dropped;
}
