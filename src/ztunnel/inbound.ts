// Inbound: a CONNECT arriving on a local pod's :15008. In order: the authority must be this
// pod (400), the port must not be ztunnel's own and the workload must be known (503), L4
// AuthorizationPolicy (401), then the app (503 when it refuses or times out).
import type { Workload } from '../mesh/model';
import { clusterAddress, hostAddress, spiffeIdOf } from '../mesh/model';
import { ILLEGAL_INBOUND_PORTS, PORT_HBONE } from '../mesh/ports';
import type { ConnectHandler, InboundConnect } from '../hbone/server';
import { deliverToTcp } from '../hbone/deliver';
import { formatAuthority } from '../hbone/authority';
import {
  STATUS_BAD_REQUEST,
  STATUS_SERVICE_UNAVAILABLE,
  STATUS_UNAUTHORIZED,
  HEADER_FORWARDED,
  HEADER_TRACEPARENT,
  RST_CONNECT_ERROR,
} from '../hbone/constants';
import { headerValue, traceIdOf } from '../hbone/headers';
import { principalOf } from '../identity/spiffe';
import type { Logger } from '../telemetry/log';
import type { Decision, L4Connection } from '../policy/authz';
import type { MeshState } from '../mesh/state';
import type { ConnectionRecord, ConnectionReporter } from './connection';
import type { OpenConnection, OpenConnections } from './open-connections';

/** L4 AuthorizationPolicy for a connection to `destination` (policy/authz, with ztunnel's logging around it). */
export type Authorizer = (destination: Workload, connection: L4Connection) => Decision;

export interface InboundContext {
  readonly state: MeshState;
  readonly reporter: ConnectionReporter;
  readonly authorize: Authorizer;
  readonly log: Logger;
  readonly appConnectTimeoutMs?: number;
  /** Delivered connections still open, checked again when the policies change. */
  readonly open?: OpenConnections;
}

const FORWARDED_FOR_RE = /for="?\[?([0-9a-fA-F.:]+?)\]?(?::(\d+))?"?(?:;|,|$)/;

export function inboundHandler(ctx: InboundContext, pod: Workload): ConnectHandler {
  return (conn) => {
    handle(ctx, pod, conn).catch((err: Error) => {
      // A bug here must not take the node down with it; the stream is reset.
      ctx.log.error('inbound handler failed', { error: err.stack ?? err.message });
      conn.stream.close(RST_CONNECT_ERROR);
    });
  };
}

async function handle(ctx: InboundContext, pod: Workload, conn: InboundConnect): Promise<void> {
  const started = performance.now();
  const { host, port } = conn.authority;
  const dialled = clusterAddress(conn.local.address);
  const sourceIp = clusterAddress(conn.remote.address);
  const source = ctx.state.podByIp(sourceIp);
  const record: ConnectionRecord = {
    direction: 'inbound',
    srcAddr: forwardedFor(conn.headers[HEADER_FORWARDED]) ?? formatAuthority(sourceIp, conn.remote.port),
    dstAddr: formatAuthority(host, port),
    hboneAddr: formatAuthority(dialled, PORT_HBONE),
    source,
    sourceIdentity: conn.peerSpiffeId,
    destination: pod,
    destinationIdentity: spiffeIdOf(pod, ctx.state.trustDomain),
    service: ctx.state.servicesOf(pod).find((s) => s.ports.some((p) => p.targetPort === port)),
    mtls: true,
    traceId: traceIdOf(headerValue(conn.headers[HEADER_TRACEPARENT])),
  };
  const refuse = (status: number, reason: string, responseFlags: string, policy?: string): void => {
    ctx.log.info('inbound connection refused', { src: record.srcAddr, dst: record.dstAddr, src_identity: conn.peerSpiffeId, status, reason });
    conn.reject(status, reason);
    ctx.reporter.closed(record, {
      bytesFromClient: 0,
      bytesFromServer: 0,
      durationMs: performance.now() - started,
      error: `${status} ${reason}`,
      responseFlags,
      policy,
    });
  };

  if (host !== dialled) return refuse(STATUS_BAD_REQUEST, `authority IP ${host} is not the dialled pod ${dialled}`, 'DPE');
  if (ILLEGAL_INBOUND_PORTS.includes(port)) return refuse(STATUS_SERVICE_UNAVAILABLE, `port ${port} is ztunnel's own and not a destination`, 'NR');
  if (!ctx.state.podByIp(host)) return refuse(STATUS_SERVICE_UNAVAILABLE, `no workload with address ${host}`, 'NR');

  const l4: L4Connection = {
    sourcePrincipal: principalOf(conn.peer),
    sourceNamespace: conn.peer.namespace,
    sourceIp,
    destinationIp: host,
    destinationPort: port,
  };
  const decision = ctx.authorize(pod, l4);
  if (!decision.allowed) return refuse(STATUS_UNAUTHORIZED, decision.reason, 'DENY', decision.policy);
  ctx.log.debug('inbound allowed', { src: record.srcAddr, dst: record.dstAddr, reason: decision.reason });

  // Connect from the source pod's own address, as ztunnel preserves the client IP.
  const tracked: OpenConnection = { pod, connection: l4, reset: () => conn.stream.close(RST_CONNECT_ERROR) };
  const result = await deliverToTcp(conn, {
    host: hostAddress(pod.ip),
    port,
    localAddress: conn.remote.address,
    timeoutMs: ctx.appConnectTimeoutMs,
    onConnected: () => {
      ctx.reporter.opened(record);
      ctx.open?.add(tracked);
    },
  });
  ctx.open?.delete(tracked);
  if ('refused' in result) {
    const error = result.clientGone ? result.refused.message : `503 ${result.refused.message}`;
    ctx.log.info('inbound app connect failed', { dst: record.dstAddr, error });
    ctx.reporter.closed(record, {
      bytesFromClient: 0,
      bytesFromServer: 0,
      durationMs: performance.now() - started,
      error,
      responseFlags: result.clientGone ? undefined : 'UF',
    });
    return;
  }
  const closedBy = tracked.closedBy;
  ctx.reporter.closed(record, {
    bytesFromClient: result.bytesFromTunnel,
    bytesFromServer: result.bytesFromTcp,
    durationMs: performance.now() - started,
    error: closedBy ? `closed by a policy change: ${closedBy.reason}` : result.end === 'closed' ? undefined : `${result.end}: ${result.error?.message ?? ''}`,
    responseFlags: closedBy ? 'DENY' : undefined,
    policy: closedBy ? closedBy.policy : decision.policy,
  });
}

function forwardedFor(value: string | string[] | undefined): string | undefined {
  const text = headerValue(value);
  const m = text ? FORWARDED_FOR_RE.exec(text) : null;
  if (!m) return undefined;
  return m[2] ? formatAuthority(m[1], Number(m[2])) : m[1];
}
