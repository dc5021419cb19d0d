// A comparison's figures and its "behind" text: the pure parts of the peers jobs, unit-tested.
import type { Better, PeerFigure } from './types';
import { peerRatio } from './types';

export function figure(metric: string, better: Better, ours: number, theirs: number): PeerFigure {
  return { metric, better, ours, theirs, ratio: peerRatio(better, ours, theirs) };
}

/** Where we are behind: the explanation of each figure whose ratio is under 1, in figure order; undefined when none. */
export function behindText(figures: readonly PeerFigure[], why: Readonly<Record<string, string>>): string | undefined {
  const parts = figures.filter((f) => f.ratio < 1 && why[f.metric] !== undefined).map((f) => `${f.metric} (${f.ratio.toFixed(2)}x): ${why[f.metric]}`);
  return parts.length > 0 ? parts.join('. ') : undefined;
}
