// ztunnel's access log in its JSON shape: one line per connection with ztunnel's dotted keys
// (src.addr, dst.hbone_addr...), so jq filters and log pipelines written for ztunnel work.
//
//   {"level":"info","time":"...","scope":"access","message":"connection complete",
//    "src.addr":"10.4.0.9:41234","src.workload":"sleep-...","src.namespace":"default",
//    "src.identity":"spiffe://cluster.local/ns/default/sa/sleep","dst.addr":"10.4.0.5:15008",
//    "dst.hbone_addr":"10.4.0.5:9080","dst.service":"productpage.default.svc.cluster.local",
//    ..., "direction":"outbound","bytes_sent":80,"bytes_recv":1480,"duration":"12ms"}
import { writeStdoutLine, Sink } from '../telemetry/stdout-lines';

export const ACCESS_SCOPE = 'access';
export const MESSAGE_COMPLETE = 'connection complete';
/** ztunnel's line for connections refused before they were set up (too early for full details). */
export const MESSAGE_FAILED = 'connection failed';

export type Direction = 'inbound' | 'outbound';

export interface AccessLogPeer {
  /** ip:port as cluster addresses. */
  readonly addr: string;
  /** The pod name (metrics use the Deployment-level workload name instead). */
  readonly workload?: string;
  readonly namespace?: string;
  /** spiffe://... ; ztunnel only logs identities of mTLS connections. */
  readonly identity?: string;
}

export interface AccessLogDestination extends AccessLogPeer {
  /** The CONNECT :authority when the connection went over HBONE (dst.addr is then the :15008 side). */
  readonly hboneAddr?: string;
  /** Service FQDN, e.g. productpage.default.svc.cluster.local. */
  readonly service?: string;
}

export interface AccessLogEntry {
  readonly src: AccessLogPeer;
  readonly dst: AccessLogDestination;
  /** 'outbound' at the source's ztunnel, 'inbound' at the destination's. */
  readonly direction: Direction;
  /** Bytes from source to destination (the request direction). */
  readonly requestBytes: number;
  /** Bytes from destination back to source (the response direction). */
  readonly responseBytes: number;
  readonly durationMs: number;
  /** Why the connection ended badly; logged at level error, as ztunnel does. */
  readonly error?: string;
  /** True for a connection refused before it was set up: ztunnel's warn-level "connection failed" line. */
  readonly failed?: boolean;
  /** Simulator additions for denials: the authorization decision's reason and deciding rule. */
  readonly reason?: string;
  readonly policy?: string;
  /** W3C trace id of the CONNECT's traceparent: what joins the hops of one request. */
  readonly traceId?: string;
}

export interface AccessLogOptions {
  /** Where lines go; process.stdout by default, as ztunnel writes its logs. */
  readonly sink?: Sink;
  /** Clock for the time field; tests pin it. */
  readonly now?: () => Date;
}

/** The JSON object for one entry, keys in ztunnel's order; absent fields are left out, as ztunnel does. */
export function accessLogRecord(entry: AccessLogEntry, time: Date): Record<string, string | number> {
  // ztunnel's counters are request/response; its log "unflips" them into the local workload's
  // view: outbound, the local workload is the client and sent the request; inbound, the server.
  const outbound = entry.direction === 'outbound';
  const level = entry.failed ? 'warn' : entry.error !== undefined ? 'error' : 'info';
  const fields: Array<[string, string | number | undefined]> = [
    ['level', level],
    ['time', time.toISOString()],
    ['scope', ACCESS_SCOPE],
    ['message', entry.failed ? MESSAGE_FAILED : MESSAGE_COMPLETE],
    ['src.addr', entry.src.addr],
    ['src.workload', entry.src.workload],
    ['src.namespace', entry.src.namespace],
    ['src.identity', entry.src.identity],
    ['dst.addr', entry.dst.addr],
    ['dst.hbone_addr', entry.dst.hboneAddr],
    ['dst.service', entry.dst.service],
    ['dst.workload', entry.dst.workload],
    ['dst.namespace', entry.dst.namespace],
    ['dst.identity', entry.dst.identity],
    ['direction', entry.direction],
    ['bytes_sent', outbound ? entry.requestBytes : entry.responseBytes],
    ['bytes_recv', outbound ? entry.responseBytes : entry.requestBytes],
    // ztunnel prints whole milliseconds, truncated.
    ['duration', `${Math.max(0, Math.floor(entry.durationMs))}ms`],
    ['error', entry.error],
    ['reason', entry.reason],
    ['policy', entry.policy],
    ['trace_id', entry.traceId],
  ];
  const record: Record<string, string | number> = {};
  for (const [k, v] of fields) if (v !== undefined && v !== '') record[k] = v;
  return record;
}

export class AccessLog {
  private readonly sink: Sink;
  private readonly now: () => Date;

  constructor(options: AccessLogOptions = {}) {
    this.sink = options.sink ?? writeStdoutLine;
    this.now = options.now ?? (() => new Date());
  }

  /** Writes one line and returns it (without the newline). */
  write(entry: AccessLogEntry): string {
    const line = JSON.stringify(accessLogRecord(entry, this.now()));
    this.sink(line);
    return line;
  }
}
