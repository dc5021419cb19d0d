// ztunnel's ConnectionReporter: istio_tcp_* metrics (reporter source for outbound, destination
// for inbound) and one access-log line per connection, from the same record.
import { TcpMetrics, TcpConnectionMetrics, TcpLabelInput, RESPONSE_FLAGS, ResponseFlag } from '../telemetry/tcp-metrics';
import { AccessLog } from './access-log';
import { sourceLabels, destinationLabels, serviceLabels } from '../telemetry/workload-labels';
import { serviceHost } from '../mesh/model';
import type { ConnectionOutcome, ConnectionRecord, ConnectionReporter } from './connection';

const KNOWN_FLAGS: readonly string[] = Object.values(RESPONSE_FLAGS);

export class ZtunnelReporter implements ConnectionReporter {
  private readonly live = new WeakMap<ConnectionRecord, TcpConnectionMetrics>();

  constructor(
    readonly metrics: TcpMetrics,
    private readonly accessLog: AccessLog,
    private readonly trustDomain: string,
  ) {}

  opened(conn: ConnectionRecord): void {
    this.live.set(conn, this.metrics.open(this.labelsOf(conn)));
  }

  closed(conn: ConnectionRecord, outcome: ConnectionOutcome): void {
    const flag = (
      KNOWN_FLAGS.includes(outcome.responseFlags ?? '') ? outcome.responseFlags : outcome.responseFlags ? RESPONSE_FLAGS.connectFailed : undefined
    ) as ResponseFlag | undefined;
    const m = this.live.get(conn) ?? this.metrics.open(this.labelsOf(conn));
    m.received(outcome.bytesFromClient);
    m.sent(outcome.bytesFromServer);
    m.close(flag ?? RESPONSE_FLAGS.none);
    const refused = !this.live.has(conn);
    this.live.delete(conn);
    this.accessLog.write({
      src: { addr: conn.srcAddr, workload: conn.source?.name, namespace: conn.source?.namespace, identity: conn.mtls ? conn.sourceIdentity : undefined },
      dst: {
        // As ztunnel logs it: dst.addr is where the connection went (pod:15008 for HBONE),
        // dst.hbone_addr the CONNECT :authority.
        addr: conn.hboneAddr ?? conn.dstAddr,
        hboneAddr: conn.hboneAddr ? conn.dstAddr : undefined,
        service: conn.service ? serviceHost(conn.service) : undefined,
        workload: conn.destination?.name,
        namespace: conn.destination?.namespace,
        identity: conn.mtls ? conn.destinationIdentity : undefined,
      },
      direction: conn.direction,
      requestBytes: outcome.bytesFromClient,
      responseBytes: outcome.bytesFromServer,
      durationMs: outcome.durationMs,
      error: outcome.error,
      failed: refused && outcome.error !== undefined,
      reason: outcome.error && outcome.responseFlags === RESPONSE_FLAGS.policyDenied ? outcome.error : undefined,
      policy: outcome.policy,
      traceId: conn.traceId,
    });
  }

  private labelsOf(conn: ConnectionRecord): TcpLabelInput {
    const opts = { trustDomain: this.trustDomain };
    return {
      reporter: conn.direction === 'outbound' ? 'source' : 'destination',
      ...(conn.source ? sourceLabels(conn.source, opts) : {}),
      // The authenticated peer is the source principal, whatever pod it claims to be; a plaintext
      // peer has none, whichever pod its address belongs to (ztunnel's metrics say "unknown").
      ...(conn.mtls && conn.sourceIdentity ? { source_principal: conn.sourceIdentity } : {}),
      ...(!conn.mtls && conn.direction === 'inbound' ? { source_principal: '' } : {}),
      ...(conn.destination ? destinationLabels(conn.destination, opts) : {}),
      ...(conn.service ? serviceLabels(conn.service) : conn.destination ? {} : { destination_service: conn.dstAddr.split(':')[0] }),
      connection_security_policy: conn.mtls ? 'mutual_tls' : 'unknown',
    };
  }
}
