// The headers ztunnel puts on every CONNECT (DESIGN.md section 3), plus the waypoint's
// x-envoy-original-dst-host.
import { randomBytes } from 'node:crypto';
import type { OutgoingHttpHeaders } from 'node:http2';
import { HEADER_BAGGAGE, HEADER_FORWARDED, HEADER_ORIGINAL_DST, HEADER_TRACEPARENT } from './constants';
import { formatAuthority } from './authority';

export const DEFAULT_CLUSTER_NAME = 'Kubernetes';

/** Who the source workload is, for the baggage header. */
export interface SourceWorkload {
  readonly clusterName?: string;
  readonly namespace: string;
  readonly workloadKind?: string; // deployment, statefulset, pod ...
  readonly workloadName: string;
  readonly app?: string;
  readonly version?: string;
}

export interface ConnectMetadata {
  readonly source: SourceWorkload;
  /** The application's own address, as the capture saw it. */
  readonly client: { readonly address: string; readonly port: number };
  /** W3C trace context; a new trace starts when absent. */
  readonly traceparent?: string;
  /** The final pod ip:port, when it differs from :authority or for the waypoint's benefit. */
  readonly originalDst?: string;
}

export function baggageOf(w: SourceWorkload): string {
  const kind = w.workloadKind ?? 'deployment';
  const entries: [string, string | undefined][] = [
    ['k8s.cluster.name', w.clusterName ?? DEFAULT_CLUSTER_NAME],
    ['k8s.namespace.name', w.namespace],
    [`k8s.${kind}.name`, w.workloadName],
    ['service.name', w.app ?? w.workloadName],
    ['service.version', w.version ?? 'latest'],
  ];
  return entries
    .filter((e): e is [string, string] => e[1] !== undefined)
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
}

export function connectHeaders(m: ConnectMetadata): OutgoingHttpHeaders {
  const headers: OutgoingHttpHeaders = {
    [HEADER_BAGGAGE]: baggageOf(m.source),
    [HEADER_FORWARDED]: `for="${formatAuthority(m.client.address, m.client.port)}"`,
    [HEADER_TRACEPARENT]: m.traceparent ?? newTraceparent(),
  };
  if (m.originalDst) headers[HEADER_ORIGINAL_DST] = m.originalDst;
  return headers;
}

/** Random bytes are drawn this many at a time: one getrandom per request showed in profiles. */
const RANDOM_POOL_BYTES = 4096;
let randomPool = Buffer.alloc(0);
let randomAt = 0;

/** `n` random bytes as hex, from a pool refilled from the CSPRNG when spent. */
function randomHex(n: number): string {
  if (randomAt + n > randomPool.length) {
    randomPool = randomBytes(RANDOM_POOL_BYTES);
    randomAt = 0;
  }
  const hex = randomPool.toString('hex', randomAt, randomAt + n);
  randomAt += n;
  return hex;
}

/** A new sampled W3C traceparent: version 00, random trace and span ids. */
export function newTraceparent(): string {
  return `00-${randomHex(16)}-${randomHex(8)}-01`;
}

const TRACEPARENT_RE = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

/** The same trace with a new span id: what each hop forwards. */
export function childTraceparent(parent: string | undefined): string {
  const m = parent ? TRACEPARENT_RE.exec(parent) : null;
  if (!m || /^0+$/.test(m[1])) return newTraceparent();
  return `00-${m[1]}-${randomHex(8)}-${m[3]}`;
}

export function traceIdOf(traceparent: string | undefined): string | undefined {
  const m = traceparent ? TRACEPARENT_RE.exec(traceparent) : null;
  return m ? m[1] : undefined;
}

/** The first value of a header as node:http or node:http2 hands it over (string or list). */
export function headerValue(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}
