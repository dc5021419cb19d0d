// The runner owns its children: it spawns them with an IPC channel (a child whose runner dies
// sees 'disconnect' and exits; a node agent reports its pods' restarts on it), waits for each to
// report ready on :15021 (a node agent: its own endpoint and each of its pods'), notices an exit,
// spawns a child again in place of one that exited (the restart policy is in restarter.ts), and
// stops everything on exit and on Ctrl-C.
import { spawn, ChildProcess } from 'node:child_process';
import * as http from 'node:http';
import { createInterface } from 'node:readline';
import type { Restartable } from './restarter';

const READY_POLL_MS = 50;
/** Longer than a child's own shutdown deadline (5 s), so a child gets to finish by itself. */
const STOP_GRACE_MS = 6000;
const TAIL_LINES = 40;

export interface ChildSpec {
  /** e.g. ztunnel-node-a, productpage-v1 */
  readonly name: string;
  readonly args: string[];
  /** host:port of the readiness endpoint (GET /healthz/ready). */
  readonly ready: string;
  /** More endpoints that must answer ready too: the pods a node agent hosts, each on its podIP:15021. */
  readonly alsoReady?: readonly string[];
  /** The container's name in Kubernetes terms (istio-proxy, productpage...), for restart events. */
  readonly container?: string;
  /** Environment of this child alone (a proxy's service account token), over the runner's. */
  readonly env?: Readonly<Record<string, string>>;
}

export interface ChildHandle {
  readonly spec: ChildSpec;
  readonly process: ChildProcess;
  /** The last lines the child wrote to stderr, for crash reports. */
  readonly tail: string[];
  /** When it was spawned (performance.now()). */
  readonly startedAt: number;
}

export type LineHandler = (child: string, line: string) => void;

export class Supervisor implements Restartable<ChildHandle> {
  readonly children: ChildHandle[] = [];
  private stopping = false;
  private crashHandlers: Array<(child: ChildHandle, code: number | null, signal: NodeJS.Signals | null) => void> = [];
  private messageHandlers: Array<(child: ChildHandle, message: unknown) => void> = [];

  constructor(
    private readonly entry: string,
    private env: NodeJS.ProcessEnv,
    private readonly onStdout: LineHandler,
    private readonly onStderr: LineHandler = () => undefined,
    /** Flags for node itself, before the entry script (the bench's --cpu-prof). */
    private readonly nodeArgs: readonly string[] = [],
  ) {}

  /** An environment variable for children spawned from now on (a restart included). */
  setEnv(name: string, value: string): void {
    this.env = { ...this.env, [name]: value };
  }

  /** Sends `message` on the IPC channel of every running child that `which` picks. */
  broadcast(message: object, which: (c: ChildHandle) => boolean): void {
    for (const c of this.children) {
      if (!which(c) || !c.process.connected) continue;
      // A child that exits meanwhile is the restarter's business; its new process gets setEnv's value.
      c.process.send(message, (err) => void err);
    }
  }

  onCrash(handler: (child: ChildHandle, code: number | null, signal: NodeJS.Signals | null) => void): void {
    this.crashHandlers.push(handler);
  }

  /** A message a child sent on its IPC channel (a node agent's pod restart events). */
  onMessage(handler: (child: ChildHandle, message: unknown) => void): void {
    this.messageHandlers.push(handler);
  }

  start(spec: ChildSpec): ChildHandle {
    const handle = this.spawn(spec);
    this.children.push(handle);
    return handle;
  }

  /**
   * Spawns `name` again in place of its handle (the previous process must have exited): the
   * children list keeps one entry per child, however often it restarts.
   */
  restart(name: string): ChildHandle {
    const i = this.children.findIndex((c) => c.spec.name === name);
    if (i < 0) throw new Error(`no child named ${name}`);
    if (!exited(this.children[i])) throw new Error(`${name} is still running (pid ${this.children[i].process.pid})`);
    const handle = this.spawn(this.children[i].spec);
    this.children[i] = handle;
    return handle;
  }

  /** The current handle of a child by name. */
  child(name: string): ChildHandle | undefined {
    return this.children.find((c) => c.spec.name === name);
  }

  hasExited(c: ChildHandle): boolean {
    return exited(c);
  }

  whenReady(c: ChildHandle, timeoutMs: number, cancelled: () => boolean): Promise<void> {
    return waitChildReady(c, timeoutMs, cancelled);
  }

  forceStop(c: ChildHandle): void {
    c.process.kill('SIGKILL');
  }

  private spawn(spec: ChildSpec): ChildHandle {
    // Nothing is started once stopAll began: a restart timer that fired late must not leave a child behind.
    if (this.stopping) throw new Error(`not starting ${spec.name}: the runner is stopping`);
    const child = spawn(process.execPath, [...this.nodeArgs, this.entry, ...spec.args], {
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      env: spec.env ? { ...this.env, ...spec.env } : this.env,
      // A process group of its own: Ctrl-C in a terminal reaches the whole foreground group, and
      // a child still loading its modules (no SIGINT handler yet) would die of it, which the
      // runner would report as a crash. The runner alone gets it and stops the children in order;
      // if the runner dies, the IPC channel closes and they stop themselves.
      detached: true,
    });
    const handle: ChildHandle = { spec, process: child, tail: [], startedAt: performance.now() };
    createInterface({ input: child.stdout! }).on('line', (line) => this.onStdout(spec.name, line));
    createInterface({ input: child.stderr! }).on('line', (line) => {
      handle.tail.push(line);
      if (handle.tail.length > TAIL_LINES) handle.tail.shift();
      this.onStderr(spec.name, line);
    });
    child.on('exit', (code, signal) => {
      if (!this.stopping) for (const h of this.crashHandlers) h(handle, code, signal);
    });
    child.on('message', (message) => {
      if (!this.stopping) for (const h of this.messageHandlers) h(handle, message);
    });
    // The IPC channel tells the child of our death; only node agents send on it (their pods' events).
    // A spawn failure emits 'error' and no 'exit': count it as an exit so nobody waits for it.
    child.on('error', (err) => {
      handle.tail.push(`spawn failed: ${err.message}`);
      if (child.exitCode === null && child.pid === undefined) child.emit('exit', 1, null);
    });
    return handle;
  }

  /**
   * Stops one child for good (a waypoint whose Gateway was deleted): it leaves the children
   * list first, so its exit is nobody's crash and nothing restarts it; SIGTERM, then SIGKILL
   * after the grace period.
   */
  async stop(name: string, graceMs = STOP_GRACE_MS): Promise<void> {
    const i = this.children.findIndex((c) => c.spec.name === name);
    if (i < 0) return;
    const [c] = this.children.splice(i, 1);
    await terminate(c, graceMs);
  }

  /** Resolves once every child answers 200 on its readiness endpoint; rejects on timeout or exit. */
  async waitReady(timeoutMs: number): Promise<void> {
    await Promise.all(this.children.map((c) => waitChildReady(c, timeoutMs)));
  }

  /** SIGTERM to everyone, SIGKILL to whoever is still there after the grace period. */
  async stopAll(graceMs = STOP_GRACE_MS): Promise<void> {
    this.stopping = true;
    await Promise.all(this.children.map((c) => terminate(c, graceMs)));
  }
}

/** SIGTERM, then SIGKILL if it is still there after `graceMs`; resolves once it exited. */
function terminate(c: ChildHandle, graceMs: number): Promise<void> {
  if (exited(c)) return Promise.resolve();
  return new Promise<void>((resolve) => {
    const timer = setTimeout(() => c.process.kill('SIGKILL'), graceMs);
    c.process.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    c.process.kill('SIGTERM');
  });
}

/** Whether a child's process has exited. */
export function exited(c: ChildHandle): boolean {
  return c.process.exitCode !== null || c.process.signalCode !== null;
}

/**
 * Resolves once the child answers 200 on its readiness endpoint; rejects if it exits first,
 * after timeoutMs, or as soon as `cancelled()` says so (the runner is stopping).
 */
export async function waitChildReady(c: ChildHandle, timeoutMs: number, cancelled: () => boolean = () => false): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let waiting = [c.spec.ready];
  let also = c.spec.alsoReady ?? [];
  for (;;) {
    if (exited(c)) throw new Error(`${c.spec.name} exited before it was ready:\n  ${c.tail.slice(-5).join('\n  ')}`);
    if (cancelled()) throw new Error(`stopped waiting for ${c.spec.name}: the runner is stopping`);
    // Every endpoint is probed until it answered once: a node agent's pods come up one by one.
    const answered = await Promise.all(waiting.map((hostPort) => probe(hostPort)));
    waiting = waiting.filter((_, i) => !answered[i]);
    // A node agent's pods are probed once the agent itself answers: it is ready after its pods
    // started, so probing a thousand pods every 50 ms before that only costs the machine CPU.
    if (waiting.length === 0 && also.length > 0) {
      waiting = [...also];
      also = [];
      continue;
    }
    if (waiting.length === 0) return;
    if (Date.now() > deadline) {
      const where =
        waiting
          .slice(0, 3)
          .map((w) => `${w}/healthz/ready`)
          .join(', ') + (waiting.length > 3 ? ` and ${waiting.length - 3} more` : '');
      throw new Error(`${c.spec.name} was not ready on ${where} after ${timeoutMs} ms`);
    }
    await new Promise((r) => setTimeout(r, READY_POLL_MS));
  }
}

/** Whether host:port answers 200 on /healthz/ready now. */
export function answersReady(hostPort: string): Promise<boolean> {
  return probe(hostPort);
}

function probe(hostPort: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = http.get(`http://${hostPort}/healthz/ready`, { timeout: 500 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('error', () => resolve(false));
    req.on('timeout', () => {
      req.destroy();
      resolve(false);
    });
  });
}
