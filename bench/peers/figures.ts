// A comparison's figures and its "behind" text: the pure parts of the peers jobs, unit-tested.
import type { Better, PeerFigure } from './types';
import { peerRatio } from './types';

export function figure(metric: string, better: Better, ours: number, theirs: number): PeerFigure {
  return { metric, better, ours, theirs, ratio: peerRatio(better, ours, theirs) };
}

/** Where we are behind: the explanation of each figure whose ratio is under 1, in figure order; undefined when none. */
/** Where the outbound and inbound jobs' reasons come from: one profile, named as such in the report. */
export const BEHIND_SOURCE = 'from a CPU profile and strace of one run on a 2-core machine (2026-12-01), not this run';

export function behindText(figures: readonly PeerFigure[], why: Readonly<Record<string, string>>, source?: string): string | undefined {
  const parts = figures.filter((f) => f.ratio < 1 && why[f.metric] !== undefined).map((f) => `${f.metric} (${f.ratio.toFixed(2)}x): ${why[f.metric]}`);
  if (parts.length === 0) return undefined;
  // The reasons come from a profile taken once, not from this run: the reader is told so.
  return (source ? `${source}: ` : '') + parts.join('. ');
}
