// When one HTTP/2 connection's resets amount to an attack (CVE-2023-44487, "rapid reset"): a
// client that opens streams and resets them at once never has a stream open for long, so
// SETTINGS_MAX_CONCURRENT_STREAMS never stops it, and each stream still costs the server its
// setup. Two rules, each from the proxy it guards, both answered with GOAWAY ENHANCE_YOUR_CALM:
//
// 1. Envoy's premature-reset rule (source/common/http/conn_manager_impl.cc,
//    isPrematureRstStream and maybeDrainDueToPrematureResets, Envoy 1.27.1 and later). A stream
//    is premature when it ends before any response was sent and its lifetime in whole seconds
//    is not above overload.premature_reset_min_stream_lifetime_seconds (1). Once the connection
//    has closed overload.premature_reset_total_stream_count (500) streams, it is dropped when at
//    least half were premature; before that, as soon as the premature ones reach half of 500,
//    since no later stream could bring the ratio back. Envoy counts it as
//    downstream_rq_too_many_premature_resets.
//
// 2. The h2 crate's bound on streams reset while waiting to be accepted (h2 >= 0.3.17,
//    Builder::max_pending_accept_reset_streams, default DEFAULT_REMOTE_RESET_STREAM_MAX = 20),
//    which is what ztunnel's server (h2 0.4, built with h2's defaults) enforces: a stream the
//    peer resets before the application took it from the accept queue counts until it is popped;
//    a 21st such stream is a connection error, GOAWAY ENHANCE_YOUR_CALM "too_many_resets".
//    Here a stream waits in the accept queue until the next turn of the event loop (see the
//    server: handlers run then, so a reset that arrives with its HEADERS costs no handler work).
//
// node:http2's own brake sits far above both: nghttp2 >= 1.57 (Node 20.8.1 and later) keeps a
// token bucket of 1,000 RST_STREAMs refilled at 33 per second and then sends GOAWAY
// INTERNAL_ERROR (Node 20 has no option to change it). Measured here, that allowed about 1,000
// resets per connection with a fresh bucket on every reconnect, and the victim then kept the
// connection open without reading it. Our limits trip far earlier and close the connection.

/** overload.premature_reset_total_stream_count, Envoy's default. */
export const PREMATURE_RESET_TOTAL_STREAM_COUNT = 500;
/** overload.premature_reset_min_stream_lifetime_seconds, Envoy's default. */
export const PREMATURE_RESET_MIN_STREAM_LIFETIME_S = 1;
/** h2's DEFAULT_REMOTE_RESET_STREAM_MAX, what ztunnel runs with. */
export const MAX_PENDING_ACCEPT_RESET_STREAMS = 20;

/** GOAWAY debug data and log reason, in the words Envoy and h2 use. */
export type AbuseReason = 'too_many_premature_resets' | 'too_many_resets';

export interface ResetLimits {
  readonly totalStreamCount: number;
  readonly minStreamLifetimeS: number;
  readonly maxPendingAcceptResets: number;
}

export const DEFAULT_RESET_LIMITS: ResetLimits = {
  totalStreamCount: PREMATURE_RESET_TOTAL_STREAM_COUNT,
  minStreamLifetimeS: PREMATURE_RESET_MIN_STREAM_LIFETIME_S,
  maxPendingAcceptResets: MAX_PENDING_ACCEPT_RESET_STREAMS,
};

/** One connection's reset accounting. */
export class ResetGuard {
  private closedStreams = 0;
  private prematureResets = 0;
  private pendingAcceptResets = 0;

  constructor(private readonly limits: ResetLimits = DEFAULT_RESET_LIMITS) {}

  get closed(): number {
    return this.closedStreams;
  }

  get premature(): number {
    return this.prematureResets;
  }

  /** Envoy's isPrematureRstStream: no response sent and a lifetime of at most the minimum, in whole seconds. */
  isPremature(lifetimeMs: number, answered: boolean): boolean {
    return !answered && Math.floor(lifetimeMs / 1000) <= this.limits.minStreamLifetimeS;
  }

  /** A stream of this connection closed (not by our own refusal); the abuse it reveals, if any. */
  streamClosed(lifetimeMs: number, answered: boolean): AbuseReason | undefined {
    this.closedStreams++;
    if (this.isPremature(lifetimeMs, answered)) this.prematureResets++;
    return this.tooManyPremature() ? 'too_many_premature_resets' : undefined;
  }

  /** The peer reset a stream that was still waiting in the accept queue. */
  resetWhilePending(): AbuseReason | undefined {
    if (this.pendingAcceptResets >= this.limits.maxPendingAcceptResets) return 'too_many_resets';
    this.pendingAcceptResets++;
    return undefined;
  }

  /** The accept queue was drained: reset streams in it were popped (and dropped). */
  acceptQueueDrained(): void {
    this.pendingAcceptResets = 0;
  }

  /** Envoy's maybeDrainDueToPrematureResets. */
  private tooManyPremature(): boolean {
    const limit = this.limits.totalStreamCount;
    if (this.closedStreams < limit) return this.prematureResets * 2 >= limit;
    return this.prematureResets * 2 >= this.closedStreams;
  }
}
