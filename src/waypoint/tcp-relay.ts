// What the waypoint does with a tunnel that does not carry HTTP: relays the bytes at L4, as
// Envoy's TCP proxy would, with the attached policies still enforced on what L4 can see, and
// counted in istio_tcp_* (reporter="waypoint"). detectProtocol decides, as Istio does, from the
// port's name, or by sniffing the first bytes.
import type { ClientHttp2Stream, ServerHttp2Stream } from 'node:http2';
import { principalOf } from '../identity/spiffe';
import type { InboundConnect } from '../hbone/server';
import { pipeStreams, pipeTunnel, resetStream } from '../hbone/pipe';
import { dialTcp } from '../hbone/tcp';
import type { Socket } from 'node:net';
import { formatAuthority } from '../hbone/authority';
import { childTraceparent, headerValue } from '../hbone/headers';
import { HEADER_TRACEPARENT } from '../hbone/constants';
import type { Service, ServicePort, Workload } from '../mesh/model';
import { portProtocol } from '../mesh/port-protocol';
import { clusterAddress, hostAddress, serviceHost } from '../mesh/model';
import type { MeshState } from '../mesh/state';
import { appliesAtWaypoint, authorize as authorizeL4, WaypointTarget } from '../policy/authz';
import type { Logger } from '../telemetry/log';
import { TcpMetrics, WAYPOINT_TCP_FLAGS } from '../telemetry/tcp-metrics';
import { sourceLabels, destinationLabels, serviceLabels } from '../telemetry/workload-labels';
import { errorMessage } from '../error-message';
import { podStage, STAGE_DIRECT_TCP } from './envoy-names';

export interface TcpRelayContext {
  readonly state: MeshState;
  /** The waypoint's own pod. */
  readonly pod: Workload;
  readonly metrics: TcpMetrics;
  readonly log: Logger;
  /** Stage 4: a CONNECT to the pod `target` (ip:port), as the waypoint. */
  readonly originate: (target: string, traceparent: string) => Promise<ClientHttp2Stream>;
}

/** Where a relayed connection goes, and what the policies decide for. */
export interface TcpDestination {
  /** The Service it was addressed to; none when addressed to a pod. */
  readonly service?: Service;
  /** The endpoint: the service's next, or the pod addressed. */
  readonly pod: Workload | undefined;
  readonly targetPort: number;
  /** The address the client sent to (VIP:port or pod ip:port), as policies see it. */
  readonly destination: { readonly ip: string; readonly port: number };
  readonly rbac: WaypointTarget;
}

/**
 * Not HTTP: the waypoint relays the bytes at L4, as Envoy's TCP proxy would, with the policies
 * attached here still enforced on what L4 can see (rules with HTTP fields: an ALLOW never
 * matches, a DENY matches, as ztunnel treats them).
 */
export async function relayTcp(ctx: TcpRelayContext, conn: InboundConnect, stream: ServerHttp2Stream, dest: TcpDestination): Promise<void> {
  const { service, pod } = dest;
  if (!pod) return void resetStream(stream);
  // The attached policies, made namespace-wide so the L4 evaluator applies them all to this pod.
  const attached = ctx.state.scenario.policies
    .filter((d) => appliesAtWaypoint(d, dest.rbac))
    .map((d) => ({
      ...d,
      metadata: { ...d.metadata, namespace: pod.namespace },
      spec: { ...d.spec, selector: undefined, targetRefs: undefined, targetRef: undefined },
    }));
  const decision = authorizeL4(
    attached,
    { namespace: pod.namespace, labels: pod.labels },
    {
      sourcePrincipal: principalOf(conn.peer),
      sourceNamespace: conn.peer.namespace,
      sourceIp: clusterAddress(conn.remote.address),
      destinationIp: dest.destination.ip,
      destinationPort: dest.destination.port,
    },
  );
  const fields = {
    stage: service ? podStage(pod, dest.targetPort) : STAGE_DIRECT_TCP,
    ...(service ? { service: serviceHost(service) } : { workload: pod.name }),
    peer: conn.peerSpiffeId,
    protocol: 'tcp',
  };
  // Counted as Envoy's stats filter counts a TCP proxy connection: opened once accepted, closed
  // with Envoy's flag. A denial is no flag (the network RBAC filter sets termination details).
  const td = { trustDomain: ctx.state.trustDomain };
  const source = ctx.state.podByIp(clusterAddress(conn.remote.address));
  const metrics = ctx.metrics.open({
    reporter: 'waypoint',
    ...(source ? sourceLabels(source, td) : {}),
    source_principal: conn.peerSpiffeId,
    ...destinationLabels(pod, td),
    ...(service ? serviceLabels(service) : {}),
    connection_security_policy: 'mutual_tls',
  });
  if (!decision.allowed) {
    ctx.log.info('rbac denied (tcp)', { ...fields, policy: decision.policy ?? 'none', reason: decision.reason });
    metrics.close(WAYPOINT_TCP_FLAGS.none);
    return void resetStream(stream);
  }
  const authority = formatAuthority(pod.ip, dest.targetPort);
  // A pod outside the mesh gets the bytes as plain TCP from the waypoint's address.
  if (!ctx.state.speaksHbone(pod)) return relayPlain(ctx, stream, pod, dest.targetPort, metrics, fields);
  let upstream: ClientHttp2Stream;
  try {
    upstream = await ctx.originate(authority, childTraceparent(headerValue(conn.headers[HEADER_TRACEPARENT])));
  } catch (err) {
    ctx.log.info('tcp upstream failed', { ...fields, upstream: authority, error: errorMessage(err) });
    metrics.close(WAYPOINT_TCP_FLAGS.upstreamConnectFailure);
    return void resetStream(stream);
  }
  const bytes = await pipeStreams(stream, upstream);
  metrics.received(bytes.bytesAtoB);
  metrics.sent(bytes.bytesBtoA);
  metrics.close(WAYPOINT_TCP_FLAGS.none);
  ctx.log.debug('tcp relay complete', { ...fields, upstream: authority, ...bytes });
}

const HTTP_REQUEST_LINE_RE = /^[A-Z]{3,7} \S+ HTTP\/1\.[01]\r?\n?/;
const SNIFF_TIMEOUT_MS = 1000;

async function relayPlain(
  ctx: TcpRelayContext,
  stream: ServerHttp2Stream,
  pod: Workload,
  port: number,
  metrics: ReturnType<TcpMetrics['open']>,
  fields: Record<string, string>,
): Promise<void> {
  const target = formatAuthority(pod.ip, port);
  let socket: Socket;
  try {
    socket = await dialTcp(hostAddress(pod.ip), port, hostAddress(ctx.pod.ip));
  } catch (err) {
    ctx.log.info('tcp upstream failed', { ...fields, upstream: target, plaintext: 'the pod is not in the mesh', error: errorMessage(err) });
    metrics.close(WAYPOINT_TCP_FLAGS.upstreamConnectFailure);
    return void resetStream(stream);
  }
  const bytes = await pipeTunnel(socket, stream);
  metrics.received(bytes.bytesFromTunnel);
  metrics.sent(bytes.bytesFromTcp);
  metrics.close(WAYPOINT_TCP_FLAGS.none);
  ctx.log.debug('tcp relay complete', {
    ...fields,
    upstream: target,
    plaintext: 'the pod is not in the mesh',
    bytesAtoB: bytes.bytesFromTunnel,
    bytesBtoA: bytes.bytesFromTcp,
  });
}

/** Explicit protocol selection, as Istio does (appProtocol, then the port's name); else sniffed from the first bytes. */
export function detectProtocol(stream: ServerHttp2Stream, port: ServicePort): Promise<'http' | 'tcp'> {
  const declared = portProtocol(port);
  if (declared !== 'detect') return Promise.resolve(declared);
  return new Promise((resolve) => {
    // A server-speaks-first protocol sends nothing: after a while, call it TCP.
    const timer = setTimeout(() => {
      stream.off('data', onData);
      stream.pause();
      resolve('tcp');
    }, SNIFF_TIMEOUT_MS);
    const onData = (chunk: Buffer): void => {
      clearTimeout(timer);
      stream.pause();
      stream.unshift(chunk);
      resolve(HTTP_REQUEST_LINE_RE.test(chunk.toString('latin1', 0, 64)) ? 'http' : 'tcp');
    };
    stream.once('data', onData);
  });
}
