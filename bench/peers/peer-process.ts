// A process the peers suite starts beside the mesh (HAProxy, the pod's TLS endpoint). It runs
// under setpriv --pdeathsig (util-linux) when there is one, so the kernel kills it if the bench
// dies without running its cleanup; it is killed on the bench's exit too, and stopped with
// SIGTERM, then SIGKILL. setpriv execs the command, so the pid is the peer's own, for /proc.
import * as net from 'node:net';
import { findExecutable } from './executable';
import { spawn, ChildProcess } from 'node:child_process';
import type { Endpoint } from '../mesh';

const READY_POLL_MS = 50;
const READY_TIMEOUT_MS = 10_000;
/** Before SIGKILL: HAProxy's hard stop and node's exit are far quicker. */
const STOP_GRACE_MS = 1000;
const TAIL_LINES = 20;

const SETPRIV = findExecutable('setpriv');

function canConnect({ host, port }: Endpoint): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host, port });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

export class PeerProcess {
  private readonly tail: string[] = [];
  private readonly killOnExit = (): void => this.killNow();

  private constructor(
    /** How the report and errors name it: "haproxy", "pod-tls". */
    readonly name: string,
    private readonly child: ChildProcess,
  ) {
    const keep = (s: string): void => {
      this.tail.push(...s.split('\n').filter((l) => l.trim() !== ''));
      this.tail.splice(0, Math.max(0, this.tail.length - TAIL_LINES));
    };
    child.stdout?.setEncoding('utf8').on('data', keep);
    child.stderr?.setEncoding('utf8').on('data', keep);
    process.once('exit', this.killOnExit);
  }

  /** Starts `command args` and resolves once `readyAt` accepts a TCP connection; rejects with its output if it exits or never does. */
  static async start(name: string, command: string, args: readonly string[], readyAt: Endpoint): Promise<PeerProcess> {
    const [file, argv] = SETPRIV ? [SETPRIV, ['--pdeathsig', 'KILL', '--', command, ...args]] : [command, [...args]];
    // stdin a pipe the bench holds: a peer of ours (pod-tls) exits when it closes, so even a
    // SIGKILLed bench on a machine without setpriv leaves none behind.
    const peer = new PeerProcess(name, spawn(file, argv, { stdio: ['pipe', 'pipe', 'pipe'] }));
    const spawned = await new Promise<Error | undefined>((resolve) => {
      peer.child.once('spawn', () => resolve(undefined));
      peer.child.once('error', resolve);
    });
    if (spawned) {
      peer.forget();
      throw new Error(`${name} did not start: ${spawned.message}`);
    }
    const deadline = Date.now() + READY_TIMEOUT_MS;
    while (!(await canConnect(readyAt))) {
      if (peer.exited || Date.now() > deadline) {
        const why = peer.exited
          ? `exited (${peer.child.exitCode ?? peer.child.signalCode})`
          : `not listening on ${readyAt.host}:${readyAt.port} after ${READY_TIMEOUT_MS} ms`;
        await peer.stop();
        throw new Error(`${name} ${why}: ${peer.output || '(no output)'}`);
      }
      await new Promise((r) => setTimeout(r, READY_POLL_MS));
    }
    return peer;
  }

  get pid(): number {
    return this.child.pid!;
  }

  get exited(): boolean {
    return this.child.exitCode !== null || this.child.signalCode !== null;
  }

  /** Its last lines of output, for error messages. */
  get output(): string {
    return this.tail.join(' | ');
  }

  async stop(): Promise<void> {
    if (!this.exited) {
      const gone = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
      this.child.kill('SIGTERM');
      const timer = setTimeout(() => this.child.kill('SIGKILL'), STOP_GRACE_MS);
      await gone;
      clearTimeout(timer);
    }
    this.forget();
  }

  /** Synchronous, for 'exit' handlers. */
  killNow(): void {
    if (!this.exited) this.child.kill('SIGKILL');
  }

  private forget(): void {
    process.off('exit', this.killOnExit);
  }
}
