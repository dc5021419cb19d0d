// How every hbone-sim process lives and dies: start, report ready, stop cleanly on SIGTERM or
// SIGINT, and also when the runner that spawned it goes away (its IPC channel closes), so no
// process outlives its scenario.
import { logger } from '../telemetry/log';
import { stdoutDrained } from '../telemetry/stdout-lines';
import { errorMessage } from '../error-message';

const STOP_DEADLINE_MS = 5000;
/** How long a stopping process waits for its last log lines to leave through the stdout pipe. */
const STDOUT_DRAIN_MS = 1000;

export interface Service {
  stop(): Promise<void>;
}

export interface ServiceOptions {
  /**
   * An exception nothing caught: true when it was contained (a node agent charges it to the pod
   * whose code threw, and that pod alone crashes); otherwise the process stops, exit code 1.
   */
  readonly contain?: (err: unknown) => boolean;
}

/**
 * Runs a service until a signal, its runner's going away, or an uncaught exception stops it; the
 * service may also stop itself with `fail` (exit code 1).
 */
export async function runService(name: string, start: (fail: (why: string) => void) => Promise<Service>, options: ServiceOptions = {}): Promise<void> {
  const log = logger(name);
  let service: Service | undefined;
  let stopping = false;
  const stop = (why: string, code: number): void => {
    if (stopping) return;
    stopping = true;
    log.info('shutting down', { reason: why });
    const deadline = setTimeout(() => {
      log.error('shutdown deadline passed; exiting');
      process.exit(code || 1);
    }, STOP_DEADLINE_MS);
    deadline.unref();
    Promise.resolve(service?.stop())
      .catch((err: Error) => log.error('shutdown failed', { error: err.message }))
      .then(() => stdoutDrained(STDOUT_DRAIN_MS))
      .finally(() => process.exit(code));
  };
  process.on('SIGTERM', () => stop('SIGTERM', 0));
  process.on('SIGINT', () => {
    // A child of the runner leaves Ctrl-C to the runner, which tears the mesh down in order
    // (SIGTERM); racing it would look like a crash. (The runner also spawns its children in
    // their own process group, so a terminal's SIGINT does not reach them at all.)
    if (process.connected) log.debug('SIGINT left to the runner');
    else stop('SIGINT', 0);
  });
  process.on('disconnect', () => stop('the runner went away', 0));
  // A runner that went away before this code ran (a --import in NODE_OPTIONS runs the event loop
  // before the main module: tap's coverage hook does) emitted 'disconnect' to no one.
  if (process.send !== undefined && !process.connected) stop('the runner went away', 0);
  process.on('uncaughtException', (err) => {
    if (options.contain?.(err)) return;
    log.error('uncaught exception', { error: err.stack ?? err.message });
    stop('uncaught exception', 1);
  });
  try {
    service = await start((why) => stop(why, 1));
  } catch (err) {
    process.stderr.write(`${name}: ${errorMessage(err)}\n`);
    process.exit(1);
  }
}
