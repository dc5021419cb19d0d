// The kubelet's container restart back-off (CrashLoopBackOff), for one child of the runner.
// Facts from kubernetes/kubernetes (pkg/kubelet: backOffPeriod, MaxContainerBackOff, and
// client-go's flowcontrol.Backoff used by kuberuntime_manager's doBackOff):
//  - the first restart after a clean record does not wait: the kubelet finds no back-off entry,
//    restarts the container at once and only then sets the back-off to 10 s;
//  - a later exit waits the current back-off, counted from the container's exit (FinishedAt),
//    while the pod shows CrashLoopBackOff ("Back-off restarting failed container");
//  - each restart after a wait doubles the back-off, capped at 300 s (5 min);
//  - an exit more than 2 x the cap (10 min) after the last restart means the container ran fine:
//    the entry has expired, the restart is immediate again and the back-off is back to 10 s.
// (Kubernetes 1.33 added gates that shorten the curve, ReduceDefaultCrashLoopBackOffDecay and
// KubeletCrashLoopBackOffMax; both are off by default, so these stay the default timings.)

export interface BackOffTimings {
  /** The back-off set by the first restart (kubelet's backOffPeriod). */
  readonly initialMs: number;
  /** The cap (kubelet's MaxContainerBackOff). */
  readonly maxMs: number;
  /** Running this long since the last restart resets the back-off (2 x the cap in flowcontrol). */
  readonly resetAfterMs: number;
}

export const KUBELET_BACKOFF: BackOffTimings = { initialMs: 10_000, maxMs: 300_000, resetAfterMs: 600_000 };

/** The kubelet's timings multiplied by `scale` (0.01 runs the whole schedule 100 times faster). */
export function scaledBackOff(scale: number, base: BackOffTimings = KUBELET_BACKOFF): BackOffTimings {
  if (!Number.isFinite(scale) || scale <= 0) throw new RangeError(`back-off scale must be a positive number, not ${scale}`);
  return { initialMs: base.initialMs * scale, maxMs: base.maxMs * scale, resetAfterMs: base.resetAfterMs * scale };
}

/** One container's back-off entry: what flowcontrol.Backoff keeps per key. */
export class CrashLoopBackOff {
  /** The current back-off; undefined until the first restart (no entry yet). */
  private backOffMs: number | undefined;
  private lastRestartAt = 0;

  constructor(private readonly timings: BackOffTimings = KUBELET_BACKOFF) {}

  /**
   * How long to wait, from the exit at `exitAt`, before restarting: 0 for a first restart or
   * after the container ran fine for resetAfterMs, else the current back-off.
   */
  delayAfterExit(exitAt: number): number {
    if (this.backOffMs === undefined || this.expired(exitAt)) return 0;
    return this.backOffMs;
  }

  /** Records a restart at `at` (the exit that caused it was at `exitAt`): moves to the next step. */
  restarted(exitAt: number, at: number): void {
    if (this.backOffMs === undefined || this.expired(exitAt)) this.backOffMs = this.timings.initialMs;
    else this.backOffMs = Math.min(this.backOffMs * 2, this.timings.maxMs);
    this.lastRestartAt = at;
  }

  /** The back-off the next quick exit would wait (0 before any restart). */
  get current(): number {
    return this.backOffMs ?? 0;
  }

  private expired(exitAt: number): boolean {
    return exitAt - this.lastRestartAt > this.timings.resetAfterMs;
  }
}

/** A duration as kubectl prints one: 10s, 2m40s, 5m0s; milliseconds below a second. */
export function kubeDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  const s = ms / 1000;
  if (s < 60) return `${Number.isInteger(s) ? s : s.toFixed(1)}s`;
  const m = Math.floor(s / 60);
  const rest = Math.round(s - m * 60);
  return `${m}m${rest}s`;
}
