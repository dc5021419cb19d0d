// Outbound: a connection captured from a local pod (SOCKS5 or a port capture) goes to its
// original destination: over HBONE to a mesh pod, or as plain TCP to a pod outside the mesh
// (connection_security_policy "unknown") or to an address outside the cluster.
import type { Socket } from 'node:net';
import type { WorkloadCertificate } from '../identity/workload-cert';
import type { Workload } from '../mesh/model';
import { hostAddress, spiffeIdOf } from '../mesh/model';
import { PORT_HBONE } from '../mesh/ports';
import { HbonePool, HboneConnectError } from '../hbone/pool';
import { pipeTunnel, resetStream } from '../hbone/pipe';
import { expectIdentity } from '../hbone/tls';
import { connectHeaders, newTraceparent, traceIdOf } from '../hbone/headers';
import { formatAuthority } from '../hbone/authority';
import type { Logger } from '../telemetry/log';
import { MeshState, Upstream } from '../mesh/state';
import { dialTcp, pipeSockets } from '../hbone/tcp';
import { ConnectionRecord, ConnectionReporter } from './connection';
import { REPLY_CONNECTION_REFUSED, REPLY_GENERAL_FAILURE, REPLY_HOST_UNREACHABLE, REPLY_NOT_ALLOWED, REPLY_SUCCEEDED } from './socks5-server';
import { errorMessage } from '../error-message';

export interface OutboundContext {
  readonly state: MeshState;
  readonly pool: HbonePool;
  readonly certificateOf: (pod: Workload) => WorkloadCertificate;
  readonly reporter: ConnectionReporter;
  readonly log: Logger;
}

/**
 * How the client learns the outcome: a SOCKS5 reply, or nothing (a port capture just closes).
 * On a failure it may return true: it ends the client connection itself (the in-pod capture's reset).
 */
export type Acknowledge = (socksReply: number) => boolean | void;

const STATUS_TO_SOCKS: Record<number, number> = { 401: REPLY_NOT_ALLOWED, 400: REPLY_GENERAL_FAILURE, 503: REPLY_CONNECTION_REFUSED };

export async function handleOutbound(
  ctx: OutboundContext,
  client: Socket,
  source: Workload,
  target: { host: string; port: number },
  ack: Acknowledge = () => undefined,
  /** Told once the destination resolved, before any connection is tried (the in-pod capture accepts then). */
  onRouted: () => void = () => undefined,
): Promise<void> {
  const started = performance.now();
  // The capture says who is calling: a pod's SOCKS5 address or a port capture stands for that
  // pod's network namespace, so the source is the pod's cluster address (with the client's
  // port), as a real in-pod capture sees it, whoever dialled it: curl on the host comes from
  // 127.0.0.1, which no pod owns.
  const srcAddr = formatAuthority(source.ip, client.remotePort ?? 0);
  const route = ctx.state.resolve(source, target.host, target.port);
  const fail = (reply: number, record: ConnectionRecord, error: string, responseFlags?: string): void => {
    ctx.log.info('outbound connection failed', { src: srcAddr, dst: record.dstAddr, error });
    if (ack(reply) !== true) client.destroy();
    ctx.reporter.closed(record, { bytesFromClient: 0, bytesFromServer: 0, durationMs: performance.now() - started, error, responseFlags });
  };

  if (route.kind === 'unroutable') {
    const record: ConnectionRecord = {
      direction: 'outbound',
      srcAddr,
      dstAddr: formatAuthority(target.host, target.port),
      source,
      sourceIdentity: spiffeIdOf(source, ctx.state.trustDomain),
      mtls: false,
    };
    return fail(REPLY_HOST_UNREACHABLE, record, route.reason, 'NR');
  }
  onRouted();
  if (route.kind === 'passthrough' || route.kind === 'direct') return passthrough(ctx, client, source, srcAddr, route, ack, started);

  // Over HBONE: to the waypoint with the original VIP:port (or, for a pod whose traffic it
  // takes, the pod's ip:port), or to the chosen endpoint (then the service's others if it
  // cannot be reached) with the pod's ip:port.
  const viaWaypoint = route.kind === 'waypoint';
  const candidates = viaWaypoint ? [route.waypoint] : [route.pod, ...(route.fallbacks ?? [])];
  const cert = ctx.certificateOf(source);
  const traceparent = newTraceparent();
  let lastError: string;
  for (const pod of candidates) {
    const dstAddr = viaWaypoint ? route.authority : formatAuthority(pod.ip, route.port);
    const destinationIdentity = spiffeIdOf(pod, ctx.state.trustDomain);
    const record: ConnectionRecord = {
      direction: 'outbound',
      srcAddr,
      dstAddr,
      hboneAddr: formatAuthority(pod.ip, PORT_HBONE),
      source,
      sourceIdentity: cert.spiffeId,
      destination: pod,
      destinationIdentity,
      service: route.service,
      mtls: true,
      traceId: traceIdOf(traceparent),
    };
    let stream;
    try {
      stream = await ctx.pool.connect({
        source: cert,
        expect: expectIdentity(destinationIdentity),
        address: hostAddress(pod.ip),
        sourceIp: hostAddress(source.ip),
        authority: dstAddr,
        headers: connectHeaders({
          source: { namespace: source.namespace, workloadName: source.workloadName, app: source.labels.app, version: source.labels.version },
          client: { address: source.ip, port: client.remotePort ?? 0 },
          traceparent,
          // The waypoint picks the endpoint; only a direct hop knows the final pod.
          originalDst: viaWaypoint ? undefined : dstAddr,
        }),
      });
    } catch (err) {
      const status = err instanceof HboneConnectError ? err.status : undefined;
      lastError = errorMessage(err);
      if (status !== undefined) {
        // The destination answered: that is the verdict, whichever endpoint we try.
        return fail(STATUS_TO_SOCKS[status] ?? REPLY_GENERAL_FAILURE, record, lastError, status === 401 ? 'DENY' : 'CONNECT');
      }
      ctx.log.debug('endpoint unreachable, trying the next', { dst: dstAddr, error: lastError });
      if (pod === candidates[candidates.length - 1]) return fail(REPLY_HOST_UNREACHABLE, record, lastError, 'CONNECT');
      continue;
    }
    if (client.destroyed) {
      resetStream(stream);
      ctx.reporter.closed(record, {
        bytesFromClient: 0,
        bytesFromServer: 0,
        durationMs: performance.now() - started,
        error: 'the client went away before the tunnel was up',
      });
      return;
    }
    ctx.reporter.opened(record);
    ack(REPLY_SUCCEEDED);
    const result = await pipeTunnel(client, stream);
    ctx.reporter.closed(record, {
      bytesFromClient: result.bytesFromTcp,
      bytesFromServer: result.bytesFromTunnel,
      durationMs: performance.now() - started,
      error: result.end === 'closed' ? undefined : `${result.end}: ${result.error?.message ?? ''}`,
    });
    return;
  }
}

async function passthrough(
  ctx: OutboundContext,
  client: Socket,
  source: Workload,
  srcAddr: string,
  route: Extract<Upstream, { kind: 'passthrough' | 'direct' }>,
  ack: Acknowledge,
  started: number,
): Promise<void> {
  // A pod outside the mesh is still a workload istiod told us of: its labels go on the metrics.
  const direct = route.kind === 'direct' ? route : undefined;
  const host = direct ? direct.pod.ip : (route as Extract<Upstream, { kind: 'passthrough' }>).host;
  const record: ConnectionRecord = {
    direction: 'outbound',
    srcAddr,
    dstAddr: formatAuthority(host, route.port),
    source,
    sourceIdentity: spiffeIdOf(source, ctx.state.trustDomain),
    ...(direct ? { destination: direct.pod, service: direct.service } : {}),
    mtls: false,
  };
  let server;
  try {
    // A 10.x address outside the scenario still lives on the simulated network (127.x); a pod
    // outside the mesh sees the connection come from the source pod's address.
    server = await dialTcp(hostAddress(host), route.port, direct ? hostAddress(source.ip) : undefined);
  } catch (err) {
    ctx.log.info('passthrough connect failed', { src: srcAddr, dst: record.dstAddr, error: errorMessage(err) });
    if (ack(REPLY_CONNECTION_REFUSED) !== true) client.destroy();
    ctx.reporter.closed(record, {
      bytesFromClient: 0,
      bytesFromServer: 0,
      durationMs: performance.now() - started,
      error: errorMessage(err),
      responseFlags: 'CONNECT',
    });
    return;
  }
  ctx.reporter.opened(record);
  ack(REPLY_SUCCEEDED);
  const result = await pipeSockets(client, server);
  ctx.reporter.closed(record, { ...result, durationMs: performance.now() - started, error: result.error?.message });
}
