// The restart side of a request's hop-by-hop trace: when a process on the request's path exited
// during the request, was down when it was sent, or had just been restarted, the trace says so,
// because that is what the client saw: connections through the dead process were reset, new
// ones fail until the restarted process is ready, and work again after that.
import type { RestartEvent } from './restart-events';
import { describeExit } from './restart-events';
import { kubeDuration } from './backoff';
import type { ChildStatus } from './restarter';

/** A restart this long before a request is still worth a line in its trace. */
export const RECENT_RESTART_MS = 30_000;

export interface RequestWindow {
  /** performance.now() when the request was sent and when its answer (or failure) came back. */
  readonly started: number;
  readonly finished: number;
}

/**
 * One line per process on the path (`onPath`) that exited in or shortly before the request,
 * from the restarter's events (oldest first).
 */
export function restartNotes(events: readonly RestartEvent[], w: RequestWindow, onPath: (child: string) => boolean): string[] {
  const notes: string[] = [];
  const relevant = eventsAround(events, w, onPath);
  const children = [...new Set(relevant.map((e) => e.child))];
  for (const child of children) {
    const mine = relevant.filter((e) => e.child === child);
    const exits = mine.filter((e) => e.kind === 'Terminated');
    const during = exits.filter((e) => e.at >= w.started);
    const before = exits.filter((e) => e.at < w.started).pop();
    const gaveUp = mine.find((e) => e.kind === 'GaveUp');
    for (const e of during) notes.push(`⚠ ${child} exited during this request (${describeExit(e)}): connections through it were reset`);
    if (before) {
      const readyAgain = mine.find((e) => e.kind === 'Ready' && e.at > before.at);
      if (readyAgain && readyAgain.at <= w.started) {
        notes.push(
          `${child} was restarted ${kubeDuration(w.started - before.at)} before this request (RESTARTS ${readyAgain.restarts}, ready again ${kubeDuration(readyAgain.readyAfterMs ?? 0)} after it exited): connections through the old process were reset, this one went through the new process`,
        );
      } else {
        const state = gaveUp ? 'given up on' : mine.some((e) => e.kind === 'BackOff' && e.at > before.at) ? 'in CrashLoopBackOff' : 'restarting, not ready yet';
        notes.push(
          `⚠ ${child} was down when this request was sent (${state}, exited ${kubeDuration(w.started - before.at)} before): new connections through it fail until it is ready again${
            readyAgain ? `; it was ready again ${kubeDuration(readyAgain.at - w.started)} into the request` : ''
          }`,
        );
      }
    }
  }
  return notes;
}

/**
 * Every line for a request: restartNotes(), plus, for a process on the path that is down
 * without a recent exit (given up on, or in a long back-off), its status.
 */
export function traceNotes(
  events: readonly RestartEvent[],
  w: RequestWindow,
  children: readonly string[],
  onPath: (child: string) => boolean,
  status: (child: string) => ChildStatus | undefined,
): string[] {
  const notes = restartNotes(events, w, onPath);
  const noted = new Set(eventsAround(events, w, onPath).map((e) => e.child));
  for (const child of children) {
    if (!onPath(child) || noted.has(child)) continue;
    const note = downNote(child, status(child));
    if (note) notes.push(note);
  }
  return notes;
}

function eventsAround(events: readonly RestartEvent[], w: RequestWindow, onPath: (child: string) => boolean): RestartEvent[] {
  return events.filter((e) => e.at >= w.started - RECENT_RESTART_MS && e.at <= w.finished && onPath(e.child));
}

/** The status a child had, for a trace line about a process that is down without a recent exit. */
export function downNote(child: string, status: ChildStatus | undefined): string | undefined {
  if (status === undefined || status === 'Running') return undefined;
  return `⚠ ${child} is ${status === 'GaveUp' ? 'down for good (the runner gave up on it)' : status === 'CrashLoopBackOff' ? 'in CrashLoopBackOff' : 'restarting, not ready yet'}: connections through it fail`;
}
