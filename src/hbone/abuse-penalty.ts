// After a connection is cut off for rapid reset, the same source may not simply reconnect: its
// new TCP connections are closed at accept, before any TLS work, for a while that doubles with
// each offence. This goes beyond ztunnel and Envoy, which close the abusive connection and
// accept the next one: measured here, an attacker that reconnects at once made the victim spend
// its time in TLS handshakes and in parsing what each new connection carried before the rule
// tripped again (the hostile bench suite shows both). Keyed by source IP: that is all there is
// before TLS, and in the mesh it is the client pod's own address (ztunnel dials from it), so
// other pods are not touched. A shared proxy (the waypoint, towards a pod's ztunnel) would take
// the penalty for all its clients if it tripped a rule; its pooled CONNECTs are answered before
// any reset, which Envoy's rule does not count, but it is a limit to know (docs/security.md).

/** First penalty, doubled per offence while offences keep coming. */
export const PENALTY_BASE_MS = 1000;
export const PENALTY_MAX_MS = 30_000;
/** A source that stays out of trouble this long after its penalty starts over. */
export const PENALTY_FORGET_MS = 60_000;
/** Sources remembered at most; the oldest is forgotten first. */
export const PENALTY_MAX_SOURCES = 4096;

interface Record {
  strikes: number;
  until: number;
}

export class AbusePenalty {
  private readonly bySource = new Map<string, Record>();

  /** One more offence from `source`; returns how long its connections are refused from now. */
  strike(source: string, now = Date.now()): number {
    const known = this.current(source, now);
    const strikes = (known?.strikes ?? 0) + 1;
    const ms = Math.min(PENALTY_BASE_MS * 2 ** (strikes - 1), PENALTY_MAX_MS);
    this.bySource.delete(source);
    this.bySource.set(source, { strikes, until: now + ms });
    if (this.bySource.size > PENALTY_MAX_SOURCES) this.bySource.delete(this.bySource.keys().next().value as string);
    return ms;
  }

  /** Whether a new connection from `source` is refused now. */
  refuses(source: string | undefined, now = Date.now()): boolean {
    if (source === undefined) return false;
    const r = this.current(source, now);
    return r !== undefined && now < r.until;
  }

  get size(): number {
    return this.bySource.size;
  }

  /** The record of `source`, unless it has been forgiven. */
  private current(source: string, now: number): Record | undefined {
    const r = this.bySource.get(source);
    if (r && now >= r.until + PENALTY_FORGET_MS) {
      this.bySource.delete(source);
      return undefined;
    }
    return r;
  }
}
