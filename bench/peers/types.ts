// The peers suite's shape: our component beside another implementation of the same job, on the
// same machine, in the same run, with the same client, certificates and sink. Every ratio reads
// the same way: above 1 means we do better (the peer's cost ÷ ours; our rate ÷ the peer's).

/** The job both implementations do: ztunnel A's encapsulation, ztunnel B's termination, a waypoint's L7 hop. */
export type PeerJob = 'outbound' | 'inbound' | 'l7';

/** Whether a larger figure is better (MB/s, tunnels/s) or worse (CPU, latency). */
export type Better = 'higher' | 'lower';

export interface PeerFigure {
  /** What is measured, with its unit: "CPU s/GiB", "MB/s", "tunnels/s", "vCPU per 1,000 rps", "p90 added ms". */
  readonly metric: string;
  readonly better: Better;
  /** Medians over the repetitions. */
  readonly ours: number;
  readonly theirs: number;
  /** Above 1 = we do better: theirs ÷ ours when lower is better, ours ÷ theirs when higher is. */
  readonly ratio: number;
}

export interface PeerComparison {
  readonly job: PeerJob;
  /** Our process doing the job, as the report names it: "ztunnel-node-a", "waypoint". */
  readonly oursName: string;
  /** The peer and its version, as it reports itself: "nghttpx 1.52.0", "HAProxy 2.6.12". */
  readonly peer: string;
  readonly figures: readonly PeerFigure[];
  /** How the two setups differ (what the peer does not do that we do, or the reverse). */
  readonly differences: readonly string[];
  /** Where we are behind, what stands between us and the peer (from a profile), when known. */
  readonly behind?: string;
  /** Bytes each timed transfer moved (every one acknowledged by the sink), and the repetitions. */
  readonly bytesPerRep?: number;
  readonly reps?: number;
  /** Tunnels that did not cross within their time, per side (counted, not in the rates). */
  readonly failures?: { readonly ours: number; readonly theirs: number };
}

/** A peer that is not installed or would not start: the suite says so and goes on. */
export interface PeerSkipped {
  readonly job: PeerJob;
  readonly peer: string;
  readonly reason: string;
}

export interface PeersResult {
  readonly comparisons: readonly PeerComparison[];
  readonly skipped: readonly PeerSkipped[];
}

/** The ratio of a figure: above 1 means ours is better. */
export function peerRatio(better: Better, ours: number, theirs: number): number {
  if (ours <= 0 || theirs <= 0) return Number.NaN;
  return better === 'lower' ? theirs / ours : ours / theirs;
}
