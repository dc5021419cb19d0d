// Which pod the running code belongs to, when a node agent hosts many pods in one process
// (src/node/). A pod's app is started inside its scope, and Node carries the scope along every
// callback that app's code schedules (AsyncLocalStorage): so an exception no handler caught is
// charged to the pod whose code threw, and that pod alone crashes, as one container would.
//
// Node loses the scope in one place the apps use: a raw TCP server's accepted sockets (their
// 'data', 'end' and 'error' callbacks run with no scope), so listenTcp keeps it by hand. With
// one pod per process (`--pod-processes`, the apps' tests) no scope is set and all of this is a
// no-op: an uncaught exception ends the process, as it always did.
import { AsyncLocalStorage } from 'node:async_hooks';
import type { EventEmitter } from 'node:events';

/** One incarnation of a pod (a restart gets a new scope): what its code's errors are charged to. */
export interface PodScope {
  readonly pod: string;
  /** The pod's code threw and nothing caught it: the pod crashes (its neighbours do not). */
  crash(err: unknown): void;
}

const scopes = new AsyncLocalStorage<PodScope>();

/** Runs `fn` (a pod's start) in `scope`: everything it schedules stays in the scope. */
export function runInPodScope<T>(scope: PodScope, fn: () => T): T {
  return scopes.run(scope, fn);
}

/** Runs `fn` in no pod's scope: the host's own work, even when a pod's error started it. */
export function outsidePodScope<T>(fn: () => T): T {
  return scopes.exit(fn);
}

/** The scope of the code running now, if any. */
export function currentPodScope(): PodScope | undefined {
  return scopes.getStore();
}

/**
 * Runs every event of `emitter` in the scope that is current now, and charges an exception
 * thrown by a listener to it: for emitters whose events Node runs with no scope.
 */
export function keepPodScope(emitter: EventEmitter): void {
  const scope = scopes.getStore();
  if (!scope) return;
  const emit = emitter.emit;
  emitter.emit = function (this: EventEmitter, ...args: Parameters<EventEmitter['emit']>): boolean {
    return scopes.run(scope, () => {
      try {
        return emit.apply(this, args);
      } catch (err) {
        // Caught here, the error never reaches the process's handler (which would see no scope).
        scope.crash(err);
        return false;
      }
    });
  };
}
