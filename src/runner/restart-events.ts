// What the runner says about a child it restarts, in the words `kubectl describe pod` and
// `kubectl get events` use: the container's last state (Terminated, its Reason and Exit Code),
// RESTARTS, BackOff ("Back-off restarting failed container"), CrashLoopBackOff. The runner keeps
// the most recent events only (a ring), so a child killed in a loop for hours costs nothing more.
import { kubeDuration } from './backoff';

/** Events kept for the trace and the final summary; older ones are dropped. */
export const RESTART_EVENTS_KEPT = 256;

export type RestartEventKind =
  /** The process exited (the container's Last State: Terminated). */
  | 'Terminated'
  /** Waiting before the restart: CrashLoopBackOff. */
  | 'BackOff'
  /** A new process was spawned in its place. */
  | 'Started'
  /** The new process answered on its readiness endpoint. */
  | 'Ready'
  /** The new process did not get to ready (exited first, or not ready in time). */
  | 'FailedStart'
  /** Too many failed starts in a row: the runner stops restarting it. */
  | 'GaveUp';

export interface RestartEvent {
  readonly kind: RestartEventKind;
  /** The runner's name for the child: ztunnel-node-b, the pod's name. */
  readonly child: string;
  /** The container in the pod: istio-proxy for ztunnel and the waypoint, the app otherwise. */
  readonly container: string;
  /** performance.now() of the runner, the clock access records are stamped with. */
  readonly at: number;
  /** Wall-clock time, ISO 8601. */
  readonly time: string;
  /** The pod's RESTARTS column after this event. */
  readonly restarts: number;
  /** Terminated: 128 + the signal number when killed by a signal, as the kubelet reports it. */
  readonly exitCode?: number;
  readonly signal?: string;
  /** Terminated: Completed (exit 0) or Error, the kubelet's reasons. */
  readonly reason?: 'Completed' | 'Error';
  /** Terminated: how long that process ran. */
  readonly ranMs?: number;
  /** Terminated: whether it had been ready (an exit before ready is a failed start). */
  readonly wasReady?: boolean;
  /** BackOff: the wait before the restart. */
  readonly backOffMs?: number;
  /** Ready: time from the exit to ready again. */
  readonly readyAfterMs?: number;
  /** FailedStart, GaveUp: failed starts in a row. */
  readonly failedStarts?: number;
  /** The human line the runner prints. */
  readonly message: string;
}

const SIGNAL_NUMBERS: Readonly<Record<string, number>> = { SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGABRT: 6, SIGKILL: 9, SIGSEGV: 11, SIGPIPE: 13, SIGTERM: 15 };

/** The exit code a container runtime reports: the process's own, or 128 + the signal's number. */
export function containerExitCode(code: number | null, signal: string | null): number {
  if (signal) return 128 + (SIGNAL_NUMBERS[signal] ?? 0);
  return code ?? 0;
}

/** "Reason: Error, Exit Code: 137 (SIGKILL)". */
export function describeExit(e: Pick<RestartEvent, 'reason' | 'exitCode' | 'signal'>): string {
  return `Reason: ${e.reason}, Exit Code: ${e.exitCode}${e.signal ? ` (${e.signal})` : ''}`;
}

export function restartMessage(e: Omit<RestartEvent, 'message'>, detail = ''): string {
  const count = `RESTARTS ${e.restarts}`;
  switch (e.kind) {
    case 'Terminated':
      return `${e.child}: container ${e.container} Terminated (${describeExit(e)}) after running ${kubeDuration(e.ranMs ?? 0)}${
        e.wasReady ? '; connections through it were reset' : ', before it was ready'
      }${detail}`;
    case 'BackOff':
      return `${e.child}: CrashLoopBackOff: Back-off ${kubeDuration(e.backOffMs ?? 0)} restarting failed container ${e.container} in pod ${e.child}, ${count}`;
    case 'Started':
      return `${e.child}: Started container ${e.container} again${detail}, ${count}`;
    case 'Ready':
      return `${e.child}: Ready again ${kubeDuration(e.readyAfterMs ?? 0)} after it exited, ${count}; new connections through it work`;
    case 'FailedStart':
      return `${e.child}: failed to start (${e.failedStarts} in a row)${detail}`;
    case 'GaveUp':
      return `${e.child}: failed to start ${e.failedStarts} times in a row${detail ? ` (last${detail})` : ''}; giving up on it, ${count}. The rest of the mesh keeps running`;
  }
}

/** The most recent restart events, at most `capacity`. */
export class RestartLog {
  private readonly ring: RestartEvent[] = [];
  /** Events ever recorded, including those dropped from the ring. */
  total = 0;

  constructor(private readonly capacity = RESTART_EVENTS_KEPT) {}

  add(e: RestartEvent): void {
    this.ring.push(e);
    this.total++;
    if (this.ring.length > this.capacity) this.ring.shift();
  }

  /** Kept events, oldest first. */
  all(): readonly RestartEvent[] {
    return this.ring;
  }

  /** Kept events at or after `t` (performance.now()). */
  since(t: number): RestartEvent[] {
    return this.ring.filter((e) => e.at >= t);
  }

  get size(): number {
    return this.ring.length;
  }
}
