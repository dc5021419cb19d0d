// Streams one peer may hold on one HBONE server, across all its connections: open ones, and
// pending ones (accepted, not yet answered: ztunnel is still dialling the app). Per connection,
// SETTINGS_MAX_CONCURRENT_STREAMS (200, as ztunnel and hyper) already bounds what is open, but a
// peer may open as many connections as it likes; these bound what one identity can make a
// server hold, however many connections it spreads them over. A stream over a limit is refused
// with RST_STREAM(REFUSED_STREAM), which tells the client nothing was done and it may retry.
//
// Peers are keyed by SPIFFE identity: it is what mutual TLS proves, and what ztunnel logs.
// All of one identity's traffic shares the limits: through a waypoint, every request reaches
// the pod's ztunnel as the waypoint's identity, so the limits sit well above honest peaks
// (the scale bench holds 10,000 idle tunnels from one client identity to one pod).

/** Open streams per peer identity on one server: above 10,000 idle tunnels, below runaway. */
export const MAX_OPEN_STREAMS_PER_PEER = 16_384;
/**
 * Streams per peer identity that the handler has not answered yet. Honest bursts stay far
 * below: the scale bench opens 256 at once; a peer that keeps 1,024 dials waiting (an app that
 * does not answer, for up to CONNECT_TIMEOUT_MS) is refused new ones until some finish.
 */
export const MAX_PENDING_STREAMS_PER_PEER = 1024;

export interface PeerStreamLimits {
  readonly maxOpen: number;
  readonly maxPending: number;
}

export const DEFAULT_PEER_LIMITS: PeerStreamLimits = { maxOpen: MAX_OPEN_STREAMS_PER_PEER, maxPending: MAX_PENDING_STREAMS_PER_PEER };

interface Counts {
  open: number;
  pending: number;
}

export class PeerStreams {
  private readonly byPeer = new Map<string, Counts>();

  constructor(readonly limits: PeerStreamLimits = DEFAULT_PEER_LIMITS) {}

  /** Counts a new stream as open, unless the peer is at its limit. */
  tryOpen(peer: string): boolean {
    const c = this.byPeer.get(peer) ?? { open: 0, pending: 0 };
    if (c.open >= this.limits.maxOpen) return false;
    c.open++;
    this.byPeer.set(peer, c);
    return true;
  }

  closed(peer: string): void {
    const c = this.byPeer.get(peer);
    if (!c) return;
    c.open--;
    if (c.open <= 0 && c.pending <= 0) this.byPeer.delete(peer);
  }

  /** Counts a stream as pending (handed to the handler), unless the peer is at its limit. */
  tryPend(peer: string): boolean {
    const c = this.byPeer.get(peer);
    if (!c || c.pending >= this.limits.maxPending) return false;
    c.pending++;
    return true;
  }

  answered(peer: string): void {
    const c = this.byPeer.get(peer);
    if (c) c.pending--;
  }

  of(peer: string): { open: number; pending: number } {
    const c = this.byPeer.get(peer);
    return { open: c?.open ?? 0, pending: c?.pending ?? 0 };
  }

  /** Peers holding anything: bounded by the peers actually connected. */
  get size(): number {
    return this.byPeer.size;
  }
}
