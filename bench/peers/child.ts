// A peer's process (nghttpx, the Go HBONE server, the peers' sink): started, waited for, and
// killed however the bench ends. Each gets a pipe on stdin (our own children exit when it closes)
// and, where util-linux's setpriv exists, a parent-death signal, so none outlives a killed bench.
import { findExecutable } from './executable';
import { spawn, ChildProcess } from 'node:child_process';

const STOP_GRACE_MS = 1000;
/** How much of a child's output is kept for an error message. */
const OUTPUT_TAIL_CHARS = 4000;
const POLL_MS = 50;

/** Every peer child still running: the bench's exit handler kills them synchronously. */
const running = new Set<ChildProcess>();

export function killPeerChildren(): void {
  for (const c of running) c.kill('SIGKILL');
}

const SETPRIV = findExecutable('setpriv');

export interface PeerChildSpec {
  /** For messages: "nghttpx", "go-hbone". */
  readonly name: string;
  readonly command: string;
  readonly args: readonly string[];
  readonly env?: NodeJS.ProcessEnv;
  /** Resolves true once the child serves; polled until timeoutMs. Sees the output so far. */
  readonly ready: (output: string) => boolean | Promise<boolean>;
  readonly timeoutMs: number;
}

export class PeerChild {
  private out = '';
  private readonly exited: Promise<void>;

  private constructor(
    readonly name: string,
    private readonly child: ChildProcess,
  ) {
    const keep = (d: Buffer): void => {
      this.out = (this.out + d.toString('utf8')).slice(-OUTPUT_TAIL_CHARS);
    };
    child.stdout!.on('data', keep);
    child.stderr!.on('data', keep);
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()));
    child.once('exit', () => running.delete(child));
  }

  /** Starts the child and waits until it is ready; on failure it is killed and the error says why. */
  static async start(spec: PeerChildSpec): Promise<PeerChild> {
    const [command, args] = SETPRIV ? [SETPRIV, ['--pdeathsig', 'KILL', '--', spec.command, ...spec.args]] : [spec.command, [...spec.args]];
    const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, ...spec.env } });
    running.add(child);
    const peer = new PeerChild(spec.name, child);
    const spawnError = new Promise<Error>((resolve) => child.once('error', resolve));
    let failure: Error | undefined;
    void spawnError.then((e) => (failure = e));
    const deadline = Date.now() + spec.timeoutMs;
    for (;;) {
      if (failure) break;
      if (!peer.alive) {
        failure = new Error(`${spec.name} exited (${child.exitCode ?? child.signalCode}) before it was ready`);
        break;
      }
      if (await spec.ready(peer.out)) return peer;
      if (Date.now() > deadline) {
        failure = new Error(`${spec.name} was not ready within ${spec.timeoutMs} ms`);
        break;
      }
      await new Promise((r) => setTimeout(r, POLL_MS));
    }
    await peer.stop();
    throw new Error(`${failure.message}${peer.out.trim() ? `: ${peer.out.trim().slice(-500)}` : ''}`);
  }

  get pid(): number {
    return this.child.pid!;
  }

  get alive(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** The child's last output, for error messages. */
  get output(): string {
    return this.out;
  }

  /** SIGTERM (and stdin closed), then SIGKILL after a grace period; resolves once it has exited. */
  async stop(): Promise<void> {
    if (!this.alive) return;
    this.child.stdin?.destroy();
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), STOP_GRACE_MS);
    await this.exited;
    clearTimeout(timer);
  }
}
