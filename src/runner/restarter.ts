// restartPolicy: Always, as the kubelet applies it to the mesh's children once the mesh is up:
// a child that exits is spawned again after its CrashLoopBackOff wait (backoff.ts) while the
// others keep running, and is watched until it reports ready again. A child that fails to start
// MAX_FAILED_STARTS times in a row is given up on (the kubelet never gives up; a runner on one
// machine should not spin forever on a port someone else holds). Every timer and readiness wait
// is the runner's: stop() cancels them all, so no child is started once the runner is stopping.
import type { ChildHandle, Supervisor } from './supervisor';
import { exited, waitChildReady } from './supervisor';
import { BackOffTimings, CrashLoopBackOff, KUBELET_BACKOFF, kubeDuration } from './backoff';
import { RestartEvent, RestartEventKind, RestartLog, containerExitCode, restartMessage } from './restart-events';

/** Failed starts in a row after which the runner stops restarting a child. */
export const MAX_FAILED_STARTS = 5;
/** The container name when a child's spec names none. */
const DEFAULT_CONTAINER = 'main';

/** What `kubectl get pod` would show in STATUS for a child. */
export type ChildStatus = 'Running' | 'NotReady' | 'CrashLoopBackOff' | 'GaveUp';

export interface RestarterOptions {
  readonly timings?: BackOffTimings;
  /** How long a restarted child has to report ready before it counts as a failed start. */
  readonly readyTimeoutMs: number;
  readonly onEvent?: (e: RestartEvent) => void;
  readonly log?: RestartLog;
}

interface ChildState {
  readonly backOff: CrashLoopBackOff;
  restarts: number;
  failedStarts: number;
  /** The current process reported ready. */
  ready: boolean;
  status: ChildStatus;
  timer?: NodeJS.Timeout;
  /** Processes the restarter killed because they were not ready in time. */
  killedNotReady?: ChildHandle;
}

export class Restarter {
  readonly log: RestartLog;
  private readonly states = new Map<string, ChildState>();
  private armed = false;
  private stopped = false;

  constructor(
    private readonly supervisor: Supervisor,
    private readonly options: RestarterOptions,
  ) {
    this.log = options.log ?? new RestartLog();
  }

  /** From now on an exit is restarted (before, the runner treats it as a failed start-up). */
  arm(): void {
    if (this.stopped) return;
    this.armed = true;
    for (const c of this.supervisor.children) {
      this.states.set(c.spec.name, { backOff: new CrashLoopBackOff(this.options.timings ?? KUBELET_BACKOFF), restarts: 0, failedStarts: 0, ready: true, status: 'Running' });
    }
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
    return this.states.get(name)?.status;
  }

  restarts(name: string): number {
    return this.states.get(name)?.restarts ?? 0;
  }

  /** Children that were restarted at least once, with their RESTARTS, and those given up on. */
  summary(): { restarts: Record<string, number>; gaveUp: string[] } {
    const restarts: Record<string, number> = {};
    const gaveUp: string[] = [];
    for (const [name, s] of this.states) {
      if (s.restarts > 0) restarts[name] = s.restarts;
      if (s.status === 'GaveUp') gaveUp.push(name);
    }
    return { restarts, gaveUp };
  }

  /** A child exited while the mesh was up (the supervisor's crash handler). */
  exited(handle: ChildHandle, code: number | null, signal: NodeJS.Signals | null): void {
    const name = handle.spec.name;
    const state = this.states.get(name);
    if (!this.isArmed || !state || this.supervisor.child(name) !== handle) return;
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
      const why = state.restarts === 0 ? ' at once (a first restart does not wait)' : ` at once (it ran over ${kubeDuration(this.resetAfterMs())} since its last restart: the back-off starts over)`;
      this.restartNow(name, state, exitAt, why);
      return;
    }
    state.status = 'CrashLoopBackOff';
    this.emit(handle, state, 'BackOff', { backOffMs: delay });
    state.timer = setTimeout(() => {
      state.timer = undefined;
      this.restartNow(name, state, exitAt, ` after a back-off of ${kubeDuration(delay)}`);
    }, Math.max(0, delay - (performance.now() - exitAt)));
  }

  private restartNow(name: string, state: ChildState, exitAt: number, why: string): void {
    if (this.stopped) return;
    state.backOff.restarted(exitAt, performance.now());
    state.restarts++;
    state.status = 'NotReady';
    let handle: ChildHandle;
    try {
      handle = this.supervisor.restart(name);
    } catch {
      return; // the supervisor is stopping
    }
    this.emit(handle, state, 'Started', {}, why);
    waitChildReady(handle, this.options.readyTimeoutMs, () => this.stopped).then(
      () => {
        if (this.stopped || this.supervisor.child(name) !== handle || exited(handle)) return;
        state.ready = true;
        state.failedStarts = 0;
        state.status = 'Running';
        this.emit(handle, state, 'Ready', { readyAfterMs: performance.now() - exitAt });
      },
      () => {
        // Exited before ready: its exit is a failed start, reported by exited(). Not ready in
        // time: kill it, and its exit counts the same way.
        if (this.stopped || exited(handle)) return;
        state.killedNotReady = handle;
        handle.process.kill('SIGKILL');
      },
    );
  }

  private resetAfterMs(): number {
    return (this.options.timings ?? KUBELET_BACKOFF).resetAfterMs;
  }

  private emit(handle: ChildHandle, state: ChildState, kind: RestartEventKind, fields: Partial<RestartEvent>, detail = ''): void {
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
