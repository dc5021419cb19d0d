// Rates for the live page's edges, as Kiali reads rate(...[window]) from Prometheus: each edge's
// totals now against its totals one window ago. A proxy that restarted starts its counters from
// zero again; a total that went down is read as a reset, as Prometheus' rate() does.
import { EdgeIdentity, EdgeTotals, newTotals, Totals } from './edge-totals';

/** Rates are over this much of the past: long enough that one curl shows, short enough to follow a change. */
export const RATE_WINDOW_MS = 10_000;
/** An edge no scrape has reported for this long is dropped from the page. */
export const FORGET_AFTER_MS = 3 * RATE_WINDOW_MS;
/** Scrapes kept per edge: one a second over the window, plus the one that closes it. */
const MAX_HISTORY = 12;

/** How the page colours an edge: denied by policy, failing, carrying traffic, or quiet now. */
export type EdgeState = 'denied' | 'error' | 'ok' | 'idle';

export interface LiveEdge extends EdgeIdentity {
  readonly id: string;
  /** Requests (HTTP edges) and connections opened, a second, over the window. */
  readonly rps: number;
  readonly cps: number;
  readonly bytesPerSec: number;
  /** Of the window's requests (or connections), the share denied (403, or ztunnel's DENY) and failed (5xx, or not connected). */
  readonly denyRate: number;
  readonly errorRate: number;
  /** The window's responses by status code. */
  readonly codes: Readonly<Record<string, number>>;
  /** Since the proxies started. */
  readonly requests: number;
  readonly connections: number;
  readonly state: EdgeState;
}

interface Point {
  readonly at: number;
  readonly totals: Totals;
}

const delta = (now: number, then: number): number => (now >= then ? now - then : now);

export class EdgeRates {
  private readonly history = new Map<string, { edge: EdgeTotals; points: Point[] }>();
  /** When the last scrape was taken: an edge first seen after it counted from zero since then. */
  private lastAt?: number;

  /**
   * Takes one scrape's totals, taken at `at` (ms). An edge missing from a scrape (its proxy did
   * not answer in time) keeps its history; one no proxy has reported for FORGET_AFTER_MS (its
   * proxy restarted, or its pods are gone) is forgotten.
   */
  add(at: number, edges: ReadonlyMap<string, EdgeTotals>): void {
    for (const [id, h] of this.history) if (!edges.has(id) && h.points[h.points.length - 1].at < at - FORGET_AFTER_MS) this.history.delete(id);
    for (const [id, edge] of edges) {
      let h = this.history.get(id);
      if (!h) {
        // New since the last scrape: its counts were zero then (its proxies had not seen it).
        const zero: Point[] = this.lastAt === undefined ? [] : [{ at: this.lastAt, totals: newTotals() }];
        this.history.set(id, (h = { edge, points: zero }));
      }
      h.edge = edge;
      h.points.push({ at, totals: edge.totals });
      // Keep one point at or before the window's start, and everything after it.
      while (h.points.length > MAX_HISTORY || (h.points.length > 2 && h.points[1].at <= at - RATE_WINDOW_MS)) h.points.shift();
    }
    this.lastAt = at;
  }

  /** Every edge with its rates now. The ztunnel legs into and out of a waypoint are folded into the edges drawn through it. */
  edges(): LiveEdge[] {
    const all = [...this.history.values()].map(({ edge, points }) => rated(edge, points));
    // (An edge missing from the last scrape is rated on the points it has.)
    const via = all.filter((e) => e.via);
    const isLeg = (e: LiveEdge): boolean => !e.via && via.some((v) => (v.from === e.from && v.via === e.to) || (v.via === e.from && v.to === e.to));
    return all.filter((e) => !isLeg(e));
  }
}

function rated(edge: EdgeTotals, points: readonly Point[]): LiveEdge {
  const last = points[points.length - 1];
  // With one scrape only, the rate is what it has counted since the proxies started: nothing to
  // compare yet, so none.
  const first = points.length > 1 ? points[0] : last;
  const seconds = Math.max((last.at - first.at) / 1000, 0.001);
  const now = last.totals;
  const then = first.totals;
  const requests = delta(now.requests, then.requests);
  const connections = delta(now.connections, then.connections);
  const codes: Record<string, number> = {};
  for (const [code, n] of now.codes) {
    const d = delta(n, then.codes.get(code) ?? 0);
    if (d > 0) codes[code] = d;
  }
  const denied = edge.protocol === 'http' ? (codes['403'] ?? 0) : delta(now.connectionsDenied, then.connectionsDenied);
  const failed =
    edge.protocol === 'http'
      ? Object.entries(codes).reduce((n, [c, k]) => n + (c.startsWith('5') || c === '0' ? k : 0), 0)
      : delta(now.connectionsFailed, then.connectionsFailed);
  const base = edge.protocol === 'http' ? requests : connections;
  const state: EdgeState = denied > 0 ? 'denied' : failed > 0 ? 'error' : base > 0 ? 'ok' : 'idle';
  const { totals: _t, ...identity } = edge;
  return {
    ...identity,
    rps: points.length > 1 ? requests / seconds : 0,
    cps: points.length > 1 ? connections / seconds : 0,
    bytesPerSec: points.length > 1 ? delta(now.bytes, then.bytes) / seconds : 0,
    denyRate: base > 0 ? denied / base : 0,
    errorRate: base > 0 ? failed / base : 0,
    codes,
    requests: now.requests,
    connections: now.connections,
    state,
  };
}
