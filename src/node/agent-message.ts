// What a node agent tells the runner that started it, on the IPC channel: each restart event of
// a pod it hosts, with the pod's last error lines (shown when the mesh cannot come up).
import type { RestartEvent } from '../runner/restart-events';

export interface NodeAgentMessage {
  readonly restartEvent: RestartEvent;
  /** The pod's last error lines. */
  readonly tail: readonly string[];
}

export function isNodeAgentMessage(m: unknown): m is NodeAgentMessage {
  if (typeof m !== 'object' || m === null) return false;
  const { restartEvent, tail } = m as Partial<Record<keyof NodeAgentMessage, unknown>>;
  return typeof (restartEvent as { message?: unknown } | undefined)?.message === 'string' && Array.isArray(tail);
}
