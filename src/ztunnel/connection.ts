// One proxied connection as ztunnel reports it: the same facts feed the access log and the
// istio_tcp_* metrics, for the source reporter (outbound) and the destination one (inbound).
import type { Workload, Service } from '../mesh/model';

export type Direction = 'outbound' | 'inbound';

export interface ConnectionRecord {
  readonly direction: Direction;
  /** Cluster addresses, ip:port. */
  readonly srcAddr: string;
  readonly dstAddr: string;
  /** The HBONE address dialled (pod ip:15008), absent for passthrough. */
  readonly hboneAddr?: string;
  readonly source?: Workload;
  readonly sourceIdentity?: string;
  readonly destination?: Workload;
  readonly destinationIdentity?: string;
  readonly service?: Service;
  /** mutual_tls for HBONE, unknown for passthrough. */
  readonly mtls: boolean;
  /** Trace id of the CONNECT's traceparent. */
  readonly traceId?: string;
}

export interface ConnectionOutcome {
  /** Bytes from the client towards the server (Istio: received), and back (Istio: sent). */
  readonly bytesFromClient: number;
  readonly bytesFromServer: number;
  readonly durationMs: number;
  readonly error?: string;
  /** Envoy/Istio response flag: DENY for policy, CONNECT for a failed upstream connect. */
  readonly responseFlags?: string;
  /** The policy decision, when one was made. */
  readonly policy?: string;
}

/** Where ztunnel reports connections: metrics and access log behind one small interface. */
export interface ConnectionReporter {
  opened(conn: ConnectionRecord): void;
  closed(conn: ConnectionRecord, outcome: ConnectionOutcome): void;
}
