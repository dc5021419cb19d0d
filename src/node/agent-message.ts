// What a node agent and the runner that started it tell each other on the IPC channel: the
// agent reports each restart event of a pod it hosts, with the pod's last error lines (shown
// when the mesh cannot come up); the runner tells it of pods applied to or deleted from its node
// while the mesh runs (the kubelet's watch of its node's pods).
import type { RestartEvent } from '../runner/restart-events';
import type { Workload } from '../mesh/model';

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

/** From the runner: host this pod, or stop hosting it. */
export type PodCommand = { readonly kind: 'hbone-sim/pod-add'; readonly pod: Workload } | { readonly kind: 'hbone-sim/pod-delete'; readonly name: string };

export function isPodCommand(m: unknown): m is PodCommand {
  const kind = (m as { kind?: unknown } | null)?.kind;
  return kind === 'hbone-sim/pod-add' || kind === 'hbone-sim/pod-delete';
}
