// The pods of one node, hosted in the node agent's process as the kubelet hosts containers. Each
// pod keeps what its own process gave it: its address, its app's servers, readiness on
// podIP:15021, its mesh agent through the SOCKS5 capture its ztunnel serves, and a lifecycle of
// its own. Each incarnation of a pod runs in a pod scope (src/apps/pod-scope.ts), so an error its
// code leaves uncaught crashes that pod alone: its servers close and its connections drop, as
// when a container's process dies, and it then counts as exited (exit code 1, like Node's own).
// The restart policy is not here: the agent's Restarter (src/runner/restarter.ts) drives this
// host through the Restartable interface, exactly as the runner drives its processes.
import type { Workload } from '../mesh/model';
import { runApp, AppHandle } from '../apps/main';
import { PodScope, outsidePodScope, runInPodScope } from '../apps/pod-scope';
import type { Restartable } from '../runner/restarter';
import type { Logger } from '../telemetry/log';
import { errorMessage } from '../error-message';

/** Error lines kept per pod, for restart events ("failed to start: ..."). */
const TAIL_LINES = 40;
/** How long a stopping pod's app gets to close before the pod counts as gone anyway. */
const CLOSE_DEADLINE_MS = 5000;

export interface PodExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/** One incarnation of a pod: a restart makes a new handle. */
export interface PodHandle {
  readonly spec: { readonly name: string; readonly container: string };
  readonly pod: Workload;
  readonly startedAt: number;
  readonly tail: string[];
  /** Set once the pod stopped and everything it held is released. */
  exit?: PodExit;
  /** The running app, once its start resolved. */
  app?: AppHandle;
}

/** How a pod's app is started: runApp on its address by default (tests may stand in). */
export type StartPod = (pod: Workload) => Promise<AppHandle>;

interface Incarnation {
  readonly handle: PodHandle;
  readonly scope: PodScope;
  /** The start: resolves with the app, or rejects. */
  readonly starting: Promise<AppHandle>;
  /** Set once the pod began to stop (crash, kill, delete): later errors of its code are ignored. */
  stopping?: Promise<void>;
}

export class PodHost implements Restartable<PodHandle> {
  readonly children: PodHandle[] = [];
  private readonly incarnations = new Map<PodHandle, Incarnation>();
  private readonly exitHandlers: Array<(h: PodHandle, code: number | null, signal: NodeJS.Signals | null) => void> = [];
  private stoppingAll = false;

  constructor(
    private readonly log: Logger,
    private readonly startPod: StartPod = (pod) => runApp(pod),
  ) {}

  /** A pod stopped by itself (its code crashed, its start failed) or was killed: not when deleted or at stopAll. */
  onExit(handler: (h: PodHandle, code: number | null, signal: NodeJS.Signals | null) => void): void {
    this.exitHandlers.push(handler);
  }

  start(pod: Workload): PodHandle {
    const handle = this.spawn(pod);
    this.children.push(handle);
    return handle;
  }

  restart(name: string): PodHandle {
    const i = this.children.findIndex((c) => c.spec.name === name);
    if (i < 0) throw new Error(`no pod named ${name}`);
    if (!this.hasExited(this.children[i])) throw new Error(`pod ${name} is still running`);
    const handle = this.spawn(this.children[i].pod);
    this.children[i] = handle;
    return handle;
  }

  child(name: string): PodHandle | undefined {
    return this.children.find((c) => c.spec.name === name);
  }

  hasExited(h: PodHandle): boolean {
    return h.exit !== undefined;
  }

  /** The pod is ready once its app listens (runApp then answers 200 on podIP:15021). */
  whenReady(h: PodHandle, timeoutMs: number, cancelled: () => boolean): Promise<void> {
    const inc = this.incarnations.get(h);
    if (!inc || h.exit) return Promise.reject(new Error(`pod ${h.spec.name} exited before it was ready`));
    return new Promise<void>((resolve, reject) => {
      const poll = setInterval(() => {
        if (h.exit) done(new Error(`pod ${h.spec.name} exited before it was ready`));
        else if (cancelled()) done(new Error(`stopped waiting for pod ${h.spec.name}`));
      }, 50);
      const timer = setTimeout(() => done(new Error(`pod ${h.spec.name} was not ready after ${timeoutMs} ms`)), timeoutMs);
      const done = (err?: Error): void => {
        clearInterval(poll);
        clearTimeout(timer);
        if (err) reject(err);
        else resolve();
      };
      // A failed start is told once the pod counts as exited, as a process's exit is: the
      // restarter then reads it as a failed start, not as a pod that was not ready in time.
      const exitedThen = (err: Error): void => void Promise.resolve(inc.stopping).then(() => done(err));
      inc.starting.then(
        () => (inc.stopping ? exitedThen(new Error(`pod ${h.spec.name} exited before it was ready`)) : done()),
        (err: unknown) => exitedThen(new Error(`pod ${h.spec.name} failed to start: ${errorMessage(err)}`)),
      );
    });
  }

  /** Kills a pod at once, as SIGKILL kills a process: its exit is then reported as any other. */
  forceStop(h: PodHandle): void {
    this.terminate(h, { code: null, signal: 'SIGKILL' }, true);
  }

  /** Deletes a pod: stops it and forgets it (nothing restarts it); its neighbours keep running. */
  async delete(name: string): Promise<void> {
    const h = this.child(name);
    if (!h) return;
    this.children.splice(this.children.indexOf(h), 1);
    await this.terminate(h, { code: 0, signal: null }, false);
  }

  /** Stops every pod (the agent's SIGTERM): no exit is reported, nothing restarts. */
  async stopAll(): Promise<void> {
    this.stoppingAll = true;
    await Promise.all(this.children.map((h) => this.terminate(h, { code: 0, signal: null }, false)));
  }

  private spawn(pod: Workload): PodHandle {
    if (this.stoppingAll) throw new Error(`not starting pod ${pod.name}: the node agent is stopping`);
    const handle: PodHandle = { spec: { name: pod.name, container: pod.app.kind }, pod, startedAt: performance.now(), tail: [] };
    const scope: PodScope = { pod: pod.name, crash: (err) => this.crashed(handle, err) };
    const starting = runInPodScope(scope, () => this.startPod(pod));
    const inc: Incarnation = { handle, scope, starting };
    this.incarnations.set(handle, inc);
    starting.then(
      (app) => {
        handle.app = app;
      },
      (err: unknown) => {
        // The same line a pod process writes before it exits 1 (src/cli/lifecycle.ts).
        this.remember(handle, `app::${pod.name}: ${errorMessage(err)}`);
        this.terminate(handle, { code: 1, signal: null }, true);
      },
    );
    return handle;
  }

  /** An error the pod's code left uncaught: that pod crashes, as its process would have. */
  private crashed(h: PodHandle, err: unknown): void {
    const inc = this.incarnations.get(h);
    if (!inc || inc.stopping) {
      // Code of a pod that is already stopping (a socket it left behind): nothing more to stop.
      this.log.debug('error from a stopped pod', { pod: h.spec.name, error: errorMessage(err) });
      return;
    }
    const text = err instanceof Error ? (err.stack ?? err.message) : String(err);
    this.log.error('uncaught exception in pod; the pod crashes, its neighbours keep running', { pod: h.spec.name, error: text });
    for (const line of text.split('\n').slice(0, 8)) this.remember(h, line);
    this.terminate(h, { code: 1, signal: null }, true);
  }

  /**
   * Stops a pod's incarnation: its app closes (listeners, connections, mesh agent) once its start
   * settled; then it counts as exited, and, when `report`, its exit goes to the onExit handlers.
   * The exit comes only once the app's addresses are free, so a restart at once can bind them.
   */
  private terminate(h: PodHandle, exit: PodExit, report: boolean): Promise<void> {
    const inc = this.incarnations.get(h);
    if (!inc) return Promise.resolve();
    // Outside the pod's scope: what the exit starts (a restart, a back-off timer) is the agent's.
    inc.stopping ??= outsidePodScope(async () => {
      const app = await inc.starting.catch(() => undefined);
      if (app) await withDeadline(app.close(), CLOSE_DEADLINE_MS);
      h.exit = exit;
      this.incarnations.delete(h);
      if (report && !this.stoppingAll) for (const handler of this.exitHandlers) handler(h, exit.code, exit.signal);
    });
    return inc.stopping;
  }

  private remember(h: PodHandle, line: string): void {
    h.tail.push(line);
    if (h.tail.length > TAIL_LINES) h.tail.shift();
  }
}

function withDeadline(p: Promise<void>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)));
  return Promise.race([p.catch(() => undefined), deadline]).finally(() => clearTimeout(timer));
}
