// One scrape of the mesh's proxies, folded into a running total per graph edge, as Kiali builds
// its graph from Istio's standard metrics: istio_requests_total where a waypoint (or the ingress
// gateway) saw HTTP, istio_tcp_* where ztunnel (or a waypoint relaying TCP) saw connections. An
// edge is a source workload → destination workload pair; one through a waypoint names it (via).
import type { Sample } from '../telemetry/prom-text';

/** The metric names the graph reads; every other line of a scrape is skipped before parsing. */
export const GRAPH_METRICS = [
  'istio_requests_total',
  'istio_request_bytes_sum',
  'istio_response_bytes_sum',
  'istio_tcp_connections_opened_total',
  'istio_tcp_connections_closed_total',
  'istio_tcp_sent_bytes_total',
  'istio_tcp_received_bytes_total',
] as const;

/** A scrape's proxy: its role decides how its samples are read. */
export type ProxyRole = 'ztunnel' | 'waypoint' | 'gateway';

export interface ProxySamples {
  /** The proxy's process name (ztunnel-node-a, the waypoint's pod). */
  readonly proxy: string;
  readonly role: ProxyRole;
  /** The waypoint's or gateway's workload, as its metrics name it (source_workload of its own hops). */
  readonly workload?: string;
  readonly namespace?: string;
  readonly samples: readonly Sample[];
}

/** What an edge has counted since its proxies started. */
export interface Totals {
  requests: number;
  /** Responses by status code. */
  readonly codes: Map<string, number>;
  connections: number;
  /** Connections closed by policy (ztunnel's DENY flag). */
  connectionsDenied: number;
  /** Connections that could not be made (CONNECT, UF). */
  connectionsFailed: number;
  bytes: number;
}

export interface EdgeIdentity {
  readonly from: string;
  readonly to: string;
  /** The waypoint the requests went through (namespace/workload), if any. */
  readonly via?: string;
  readonly protocol: 'http' | 'tcp';
  readonly mtls: boolean;
  readonly sourcePrincipal?: string;
  readonly destinationPrincipal?: string;
}

export interface EdgeTotals extends EdgeIdentity {
  readonly id: string;
  readonly totals: Totals;
}

/** More edges than workload pairs of any scenario the caps allow; past it, new pairs are dropped and said. */
export const MAX_EDGES = 4096;

const UNKNOWN = 'unknown';
export const newTotals = (): Totals => ({ requests: 0, codes: new Map(), connections: 0, connectionsDenied: 0, connectionsFailed: 0, bytes: 0 });

const workloadOf = (l: Readonly<Record<string, string>>, side: 'source' | 'destination'): string => {
  const name = l[`${side}_workload`] ?? UNKNOWN;
  const ns = l[`${side}_workload_namespace`] ?? UNKNOWN;
  return name === UNKNOWN ? UNKNOWN : `${ns}/${name}`;
};

const principal = (v: string | undefined): string | undefined => (v && v !== UNKNOWN ? v : undefined);

export function edgeId(e: Pick<EdgeIdentity, 'from' | 'to' | 'via' | 'protocol'>): string {
  return `${e.from}>${e.via ?? ''}>${e.to}>${e.protocol}`;
}

/** Whether a sample is one the graph takes from this proxy, and the edge it counts for. */
function edgeOf(p: ProxySamples, s: Sample): EdgeIdentity | undefined {
  const l = s.labels;
  const reporter = l.reporter;
  const from = workloadOf(l, 'source');
  const to = workloadOf(l, 'destination');
  const mtls = l.connection_security_policy === 'mutual_tls';
  const ids = { sourcePrincipal: principal(l.source_principal), destinationPrincipal: principal(l.destination_principal) };
  const http = s.name.startsWith('istio_request') || s.name.startsWith('istio_response');
  const via = p.role === 'waypoint' && p.workload ? `${p.namespace}/${p.workload}` : undefined;
  if (p.role === 'ztunnel') {
    if (http) return undefined;
    // Each connection is seen by both ztunnels: the source's report counts it; the destination's
    // only when no mesh source saw it (a client outside the mesh, on the inbound plaintext port).
    if (reporter === 'source' || (reporter === 'destination' && !mtls)) return { from, to, protocol: 'tcp', mtls, ...ids };
    return undefined;
  }
  if (http) {
    // A waypoint's request metrics: the requests it routed between two workloads. The ingress
    // gateway's: the requests it sent on, from itself.
    const source = p.role === 'gateway' && from === UNKNOWN && p.workload ? `${p.namespace}/${p.workload}` : from;
    return { from: source, to, ...(via ? { via } : {}), protocol: 'http', mtls, ...ids };
  }
  // A waypoint relaying TCP reports the connection end to end.
  if (p.role === 'waypoint' && reporter === 'waypoint') return { from, to, ...(via ? { via } : {}), protocol: 'tcp', mtls, ...ids };
  return undefined;
}

function add(t: Totals, s: Sample): void {
  const v = s.value;
  switch (s.name) {
    case 'istio_requests_total': {
      t.requests += v;
      const code = s.labels.response_code ?? '0';
      t.codes.set(code, (t.codes.get(code) ?? 0) + v);
      return;
    }
    case 'istio_request_bytes_sum':
    case 'istio_response_bytes_sum':
    case 'istio_tcp_sent_bytes_total':
    case 'istio_tcp_received_bytes_total':
      t.bytes += v;
      return;
    case 'istio_tcp_connections_opened_total':
      t.connections += v;
      return;
    case 'istio_tcp_connections_closed_total': {
      const flag = s.labels.response_flags;
      if (flag === 'DENY') t.connectionsDenied += v;
      else if (flag === 'CONNECT' || flag === 'UF') t.connectionsFailed += v;
      return;
    }
  }
}

/**
 * Every edge's totals in one scrape of all the proxies. Returns also how many edges were left
 * out past MAX_EDGES (said on the page, not hidden).
 */
export function foldScrape(proxies: readonly ProxySamples[]): { edges: Map<string, EdgeTotals>; dropped: number } {
  const edges = new Map<string, EdgeTotals>();
  let dropped = 0;
  for (const p of proxies) {
    for (const s of p.samples) {
      const e = edgeOf(p, s);
      if (!e || e.from === e.to) continue;
      const id = edgeId(e);
      let edge = edges.get(id);
      if (!edge) {
        if (edges.size >= MAX_EDGES) {
          dropped++;
          continue;
        }
        edge = { ...e, id, totals: newTotals() };
        edges.set(id, edge);
      }
      add(edge.totals, s);
    }
  }
  return { edges, dropped };
}
