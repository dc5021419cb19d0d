// restartPolicy: Always, as the kubelet applies it to the mesh's children once the mesh is up:
// a child that exits is spawned again after its CrashLoopBackOff wait (backoff.ts) while the
// others keep running, and is watched until it reports ready again. A child that fails to start
// MAX_FAILED_STARTS times in a row is given up on (the kubelet never gives up; a runner on one
// machine should not spin forever on a port someone else holds). Every timer and readiness wait
// is the runner's: stop() cancels them all, so no child is started once the runner is stopping.
// The same policy serves the runner's processes (Supervisor) and the pods a node agent hosts
// (src/node/pod-host.ts): both are a Restartable. Events of children restarted elsewhere (a node
// agent's pods, reported over IPC) are relayed into the same log, status and summary.
import type { ChildHandle } from './supervisor';
import { BackOffTimings, CrashLoopBackOff, KUBELET_BACKOFF, kubeDuration } from './backoff';
import { RestartEvent, RestartEventKind, RestartLog, containerExitCode, restartMessage } from './restart-events';

/** Failed starts in a row after which the runner stops restarting a child. */
export const MAX_FAILED_STARTS = 5;
/** The container name when a child's spec names none. */
const DEFAULT_CONTAINER = 'main';

/** What `kubectl get pod` would show in STATUS for a child. */
export type ChildStatus = 'Running' | 'NotReady' | 'CrashLoopBackOff' | 'GaveUp';

/** The status a relayed event leaves its child in (FailedStart leaves it as it was). */
const RELAYED_STATUS: Partial<Record<RestartEventKind, ChildStatus>> = {
  Terminated: 'NotReady',
  BackOff: 'CrashLoopBackOff',
  Started: 'NotReady',
  Ready: 'Running',
  GaveUp: 'GaveUp',
};

/** What the restarter reads of one child: its names, when it started, its last stderr lines. */
export interface RestartableChild {
  readonly spec: { readonly name: string; readonly container?: string };
  /** When it was started (performance.now()). */
  readonly startedAt: number;
  readonly tail: readonly string[];
}

/** Whatever runs the children: the runner's Supervisor (processes) or a node agent's PodHost (pods). */
export interface Restartable<H extends RestartableChild> {
  readonly children: readonly H[];
  /** The current handle of a child by name; undefined once it is gone for good (a deleted pod). */
  child(name: string): H | undefined;
  /** Starts the child again in place of its handle, which must have exited; throws when stopping. */
  restart(name: string): H;
  hasExited(h: H): boolean;
  /** Resolves once `h` is ready; rejects if it exits first, after timeoutMs, or once `cancelled()`. */
  whenReady(h: H, timeoutMs: number, cancelled: () => boolean): Promise<void>;
  /** Kills `h` at once (SIGKILL for a process): its exit then comes as any other. */
  forceStop(h: H): void;
}

export interface RestarterOptions {
  readonly timings?: BackOffTimings;
  /** How long a restarted child has to report ready before it counts as a failed start. */
  readonly readyTimeoutMs: number;
  readonly onEvent?: (e: RestartEvent) => void;
  readonly log?: RestartLog;
}

interface ChildState<H> {
  readonly backOff: CrashLoopBackOff;
  restarts: number;
  failedStarts: number;
  /** The current process reported ready. */
  ready: boolean;
  status: ChildStatus;
  timer?: NodeJS.Timeout;
  /** Processes the restarter killed because they were not ready in time. */
  killedNotReady?: H;
}

/** A child restarted by someone else (a node agent's pod), as its relayed events tell. */
interface RelayedState {
  restarts: number;
  status: ChildStatus;
}

export class Restarter<H extends RestartableChild = ChildHandle> {
  readonly log: RestartLog;
  private readonly states = new Map<string, ChildState<H>>();
  private readonly relayed = new Map<string, RelayedState>();
  private armed = false;
  private stopped = false;

  constructor(
    private readonly target: Restartable<H>,
    private readonly options: RestarterOptions,
  ) {
    this.log = options.log ?? new RestartLog();
  }

  /**
   * From now on an exit is restarted (before, the runner treats it as a failed start-up). Every
   * child counts as ready but those `isReady` says are not (a pod whose first start failed).
   */
  arm(isReady: (h: H) => boolean = () => true): void {
    if (this.stopped) return;
    this.armed = true;
    for (const c of this.target.children) {
      const ready = isReady(c);
      const backOff = new CrashLoopBackOff(this.options.timings ?? KUBELET_BACKOFF);
      this.states.set(c.spec.name, { backOff, restarts: 0, failedStarts: 0, ready, status: ready ? 'Running' : 'NotReady' });
    }
  }

  /** A child started once the mesh was up (a waypoint for an applied Gateway), ready: restarted from now on like the rest. */
  watch(handle: H): void {
    if (!this.isArmed) return;
    const backOff = new CrashLoopBackOff(this.options.timings ?? KUBELET_BACKOFF);
    this.states.set(handle.spec.name, { backOff, restarts: 0, failedStarts: 0, ready: true, status: 'Running' });
  }

  /** A child gone for good (its Gateway deleted): no back-off timer of its may fire, no status is kept. */
  forget(name: string): void {
    const state = this.states.get(name);
    if (state?.timer) clearTimeout(state.timer);
    this.states.delete(name);
  }

  /**
   * An event about a child someone else restarts (a node agent restarts its pods and reports
   * over IPC): logged and told like the restarter's own, and counted in status() and summary().
   */
  relay(e: RestartEvent): void {
    const state = this.relayed.get(e.child) ?? { restarts: 0, status: 'Running' as ChildStatus };
    state.restarts = e.restarts;
    state.status = RELAYED_STATUS[e.kind] ?? state.status;
    this.relayed.set(e.child, state);
    this.log.add(e);
    this.options.onEvent?.(e);
  }

  get isArmed(): boolean {
    return this.armed && !this.stopped;
  }

  /** Cancels every back-off timer and readiness wait; nothing is started after this. */
  stop(): void {
    this.stopped = true;
    for (const s of this.states.values()) {
      if (s.timer) clearTimeout(s.timer);
      s.timer = undefined;
    }
  }

  status(name: string): ChildStatus | undefined {
    return this.states.get(name)?.status ?? this.relayed.get(name)?.status;
  }

  restarts(name: string): number {
    return this.states.get(name)?.restarts ?? this.relayed.get(name)?.restarts ?? 0;
  }

  /** Children that were restarted at least once, with their RESTARTS, and those given up on. */
  summary(): { restarts: Record<string, number>; gaveUp: string[] } {
    const restarts: Record<string, number> = {};
    const gaveUp: string[] = [];
    for (const [name, s] of [...this.states, ...this.relayed]) {
      if (s.restarts > 0) restarts[name] = s.restarts;
      if (s.status === 'GaveUp') gaveUp.push(name);
    }
    return { restarts, gaveUp };
  }

  /** A child exited while the mesh was up (the supervisor's crash handler). */
  exited(handle: H, code: number | null, signal: NodeJS.Signals | null): void {
    const name = handle.spec.name;
    const state = this.states.get(name);
    if (!this.isArmed || !state || this.target.child(name) !== handle) return;
    const exitAt = performance.now();
    const wasReady = state.ready;
    const notReadyInTime = state.killedNotReady === handle;
    state.ready = false;
    state.killedNotReady = undefined;
    const exitCode = containerExitCode(code, signal);
    this.emit(handle, state, 'Terminated', {
      exitCode,
      signal: signal ?? undefined,
      reason: exitCode === 0 ? 'Completed' : 'Error',
      ranMs: exitAt - handle.startedAt,
      wasReady,
    });
    if (!wasReady) {
      state.failedStarts++;
      const why = notReadyInTime ? `not ready within ${kubeDuration(this.options.readyTimeoutMs)}` : handle.tail.slice(-1)[0];
      const detail = why ? `: ${why}` : '';
      if (state.failedStarts >= MAX_FAILED_STARTS) {
        state.status = 'GaveUp';
        this.emit(handle, state, 'GaveUp', { failedStarts: state.failedStarts }, detail);
        return;
      }
      this.emit(handle, state, 'FailedStart', { failedStarts: state.failedStarts }, detail);
    }
    const delay = state.backOff.delayAfterExit(exitAt);
    if (delay <= 0) {
      const why =
        state.restarts === 0
          ? ' at once (a first restart does not wait)'
          : ` at once (it ran over ${kubeDuration(this.resetAfterMs())} since its last restart: the back-off starts over)`;
      this.restartNow(name, state, exitAt, why);
      return;
    }
    state.status = 'CrashLoopBackOff';
    this.emit(handle, state, 'BackOff', { backOffMs: delay });
    state.timer = setTimeout(
      () => {
        state.timer = undefined;
        this.restartNow(name, state, exitAt, ` after a back-off of ${kubeDuration(delay)}`);
      },
      Math.max(0, delay - (performance.now() - exitAt)),
    );
  }

  private restartNow(name: string, state: ChildState<H>, exitAt: number, why: string): void {
    if (this.stopped) return;
    // A child gone for good meanwhile (a deleted pod) is not started again.
    if (this.target.child(name) === undefined) return;
    state.backOff.restarted(exitAt, performance.now());
    state.restarts++;
    state.status = 'NotReady';
    let handle: H;
    try {
      handle = this.target.restart(name);
    } catch {
      return; // the supervisor is stopping
    }
    this.emit(handle, state, 'Started', {}, why);
    this.target
      .whenReady(handle, this.options.readyTimeoutMs, () => this.stopped)
      .then(
        () => {
          if (this.stopped || this.target.child(name) !== handle || this.target.hasExited(handle)) return;
          state.ready = true;
          state.failedStarts = 0;
          state.status = 'Running';
          this.emit(handle, state, 'Ready', { readyAfterMs: performance.now() - exitAt });
        },
        () => {
          // Exited before ready: its exit is a failed start, reported by exited(). Not ready in
          // time: kill it, and its exit counts the same way.
          if (this.stopped || this.target.hasExited(handle)) return;
          state.killedNotReady = handle;
          this.target.forceStop(handle);
        },
      );
  }

  private resetAfterMs(): number {
    return (this.options.timings ?? KUBELET_BACKOFF).resetAfterMs;
  }

  private emit(handle: H, state: ChildState<H>, kind: RestartEventKind, fields: Partial<RestartEvent>, detail = ''): void {
    const base = {
      kind,
      child: handle.spec.name,
      container: handle.spec.container ?? DEFAULT_CONTAINER,
      at: performance.now(),
      time: new Date().toISOString(),
      restarts: state.restarts,
      ...fields,
    };
    const event: RestartEvent = { ...base, message: restartMessage(base, detail) };
    this.log.add(event);
    this.options.onEvent?.(event);
  }
}
