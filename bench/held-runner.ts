// A mesh held by the runner itself, as a user holds one (`hbone-sim up` or `scenario --hold`):
// the suites that measure the runner's own behaviour (soak, push) start it as a child in its own
// process group, wait for it to say the mesh stays up, and stop it with Ctrl-C's signal.
import * as path from 'node:path';
import { spawn, ChildProcess } from 'node:child_process';

const CLI = path.resolve(__dirname, '..', 'src', 'cli', 'main.js');
const READY_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 15_000;
const HOLD_READY_RE = /The mesh stays up/;
/** What is kept of its output: enough for the start-up lines and an error's tail. */
const MAX_OUTPUT = 64 * 1024;

export interface HeldRunner {
  readonly child: ChildProcess;
  /** Its output up to the moment the mesh was up. */
  readonly output: string;
}

/** Runs `hbone-sim <args>`; resolves once it says the mesh stays up (a large mesh may be given longer). */
export function startHeldRunner(
  args: readonly string[],
  env: NodeJS.ProcessEnv = {},
  readyTimeoutMs = READY_TIMEOUT_MS,
  /** Flags for the runner's node itself (--cpu-prof). */
  nodeArgs: readonly string[] = [],
  /** Told of the runner as soon as it is spawned, so a Ctrl-C of the bench during its start takes it down. */
  onSpawn: (child: ChildProcess) => void = () => undefined,
): Promise<HeldRunner> {
  const child = spawn(process.execPath, [...nodeArgs, CLI, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, HBONE_LOG: 'warn', NODE_OPTIONS: '', ...env },
    detached: true,
  });
  onSpawn(child);
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`the runner was not holding the mesh after ${readyTimeoutMs} ms:\n${out.slice(-2000)}`)), readyTimeoutMs);
    // Read to the end, whatever it says: a pipe nobody reads would stall the runner.
    child.stdout!.on('data', (d: Buffer) => {
      if (out.length < MAX_OUTPUT) out += d.toString();
      if (HOLD_READY_RE.test(out)) {
        clearTimeout(timer);
        resolve({ child, output: out });
      }
    });
    child.stderr!.on('data', (d: Buffer) => {
      if (out.length < MAX_OUTPUT) out += d.toString();
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`the runner exited (${signal ?? code}) before holding the mesh:\n${out.slice(-2000)}`));
    });
  });
}

/** SIGINT, as Ctrl-C; SIGKILL to its process group if it is still there after STOP_TIMEOUT_MS. */
export function stopHeldRunner(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // gone
      }
    }, STOP_TIMEOUT_MS);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGINT');
  });
}
