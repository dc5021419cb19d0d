// Inbound plaintext, on each enrolled pod's :15006: what ztunnel receives when a client outside
// the mesh (no ztunnel of its own, no identity) connects to a pod in it. In a cluster the pod's
// iptables redirect the connection and ztunnel reads the original destination with
// SO_ORIGINAL_DST; here the client's node (src/node/kube-proxy.ts) names it in a PROXY protocol
// v1 line first (HAProxy's spec: `PROXY TCP4 <src> <dst> <sport> <dport>\r\n`). The source is the
// socket's own address, never the line's. Then as ztunnel: its own ports refused, L4 policy with
// no peer identity (only ipBlocks and ports can allow it), the app dialled from the client's
// address, metrics with connection_security_policy "unknown" and reporter "destination".
import type { Socket } from 'node:net';
import { isIPv4 } from 'node:net';
import type { Workload } from '../mesh/model';
import { clusterAddress, hostAddress, spiffeIdOf } from '../mesh/model';
import { ILLEGAL_INBOUND_PORTS } from '../mesh/ports';
import { formatAuthority } from '../hbone/authority';
import { resetTcp } from '../hbone/pipe';
import type { L4Connection } from '../policy/authz';
import { errorMessage } from '../error-message';
import type { InboundContext } from './inbound';
import type { ConnectionRecord } from './connection';
import type { OpenConnection } from './open-connections';
import { dialTcp, pipeSockets } from '../hbone/tcp';

/** The PROXY v1 spec's longest line, CRLF included. */
export const PROXY_V1_MAX_BYTES = 107;
/** How long a client has to send the line before it is dropped. */
const HEADER_TIMEOUT_MS = 5000;
const PROXY_V1_RE = /^PROXY TCP4 (\S+) (\S+) (\d{1,5}) (\d{1,5})$/;

export interface ProxyHeader {
  readonly source: string;
  readonly destination: string;
  readonly sourcePort: number;
  readonly destinationPort: number;
}

/** A PROXY v1 line (without its CRLF), or the reason it is not one. */
export function parseProxyV1(line: string): ProxyHeader | string {
  const m = PROXY_V1_RE.exec(line);
  if (!m) return `not a PROXY TCP4 line: ${JSON.stringify(line.slice(0, 40))}`;
  const [, source, destination, sport, dport] = m;
  if (!isIPv4(source) || !isIPv4(destination)) return 'PROXY line addresses must be IPv4';
  const [sourcePort, destinationPort] = [Number(sport), Number(dport)];
  if (destinationPort < 1 || destinationPort > 65535 || sourcePort > 65535) return `PROXY line port out of range`;
  return { source, destination, sourcePort, destinationPort };
}

/** The line a client sends first, with cluster addresses. */
export function formatProxyV1(h: ProxyHeader): string {
  return `PROXY TCP4 ${h.source} ${h.destination} ${h.sourcePort} ${h.destinationPort}\r\n`;
}

/** Reads the PROXY line off the socket; what follows it stays unread for the pipe. */
export function readProxyHeader(socket: Socket, timeoutMs = HEADER_TIMEOUT_MS): Promise<ProxyHeader> {
  return new Promise((resolve, reject) => {
    let buffered = Buffer.alloc(0);
    const done = (err: Error | undefined, header?: ProxyHeader): void => {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('end', onEnd);
      socket.off('close', onEnd);
      socket.pause();
      if (err) reject(err);
      else resolve(header!);
    };
    const onData = (chunk: Buffer): void => {
      buffered = Buffer.concat([buffered, chunk]);
      const end = buffered.indexOf('\r\n');
      if (end < 0) {
        if (buffered.length >= PROXY_V1_MAX_BYTES) done(new Error(`no PROXY line in the first ${PROXY_V1_MAX_BYTES} bytes`));
        return;
      }
      const parsed = parseProxyV1(buffered.subarray(0, end).toString('latin1'));
      if (typeof parsed === 'string') return done(new Error(parsed));
      // Listeners off (and paused) first: what follows the line goes back for the pipe to read.
      done(undefined, parsed);
      const rest = buffered.subarray(end + 2);
      if (rest.length > 0) socket.unshift(rest);
    };
    const onEnd = (): void => done(new Error('the client closed before its PROXY line'));
    const timer = setTimeout(() => done(new Error(`no PROXY line within ${timeoutMs} ms`)), timeoutMs);
    socket.on('data', onData);
    socket.once('end', onEnd);
    socket.once('close', onEnd);
    socket.resume();
  });
}

export async function inboundPlaintext(ctx: InboundContext, pod: Workload, client: Socket): Promise<void> {
  const started = performance.now();
  let header: ProxyHeader;
  try {
    header = await readProxyHeader(client);
  } catch (err) {
    ctx.log.info('inbound plaintext: bad redirect', { pod: pod.name, error: errorMessage(err) });
    return void resetTcp(client);
  }
  const sourceIp = clusterAddress(client.remoteAddress ?? '');
  const port = header.destinationPort;
  const record: ConnectionRecord = {
    direction: 'inbound',
    srcAddr: formatAuthority(sourceIp, client.remotePort ?? 0),
    dstAddr: formatAuthority(pod.ip, port),
    source: ctx.state.podByIp(sourceIp),
    destination: pod,
    destinationIdentity: spiffeIdOf(pod, ctx.state.trustDomain),
    service: ctx.state.servicesOf(pod).find((s) => s.ports.some((p) => p.targetPort === port)),
    mtls: false,
  };
  const refuse = (reason: string, responseFlags: string, policy?: string): void => {
    ctx.log.info('inbound plaintext refused', { src: record.srcAddr, dst: record.dstAddr, reason });
    resetTcp(client);
    ctx.reporter.closed(record, { bytesFromClient: 0, bytesFromServer: 0, durationMs: performance.now() - started, error: reason, responseFlags, policy });
  };
  if (header.destination !== pod.ip) return refuse(`the original destination ${header.destination} is not this pod (${pod.ip})`, 'DPE');
  if (ILLEGAL_INBOUND_PORTS.includes(port)) return refuse(`port ${port} is ztunnel's own and not a destination`, 'NR');
  // No mTLS, so no peer identity: principals and namespaces match nothing.
  const l4: L4Connection = { sourceIp, destinationIp: pod.ip, destinationPort: port };
  const decision = ctx.authorize(pod, l4);
  if (!decision.allowed) return refuse(decision.reason, 'DENY', decision.policy);

  let app: Socket;
  try {
    app = await dialTcp(hostAddress(pod.ip), port, client.remoteAddress, ctx.appConnectTimeoutMs);
  } catch (err) {
    return refuse(`connect to the app failed: ${errorMessage(err)}`, 'UF');
  }
  const tracked: OpenConnection = { pod, connection: l4, reset: () => resetTcp(client) };
  ctx.reporter.opened(record);
  ctx.open?.add(tracked);
  const result = await pipeSockets(client, app);
  ctx.open?.delete(tracked);
  const closedBy = tracked.closedBy;
  ctx.reporter.closed(record, {
    bytesFromClient: result.bytesFromClient,
    bytesFromServer: result.bytesFromServer,
    durationMs: performance.now() - started,
    error: closedBy ? `closed by a policy change: ${closedBy.reason}` : result.error?.message,
    responseFlags: closedBy ? 'DENY' : undefined,
    policy: closedBy ? closedBy.policy : decision.policy,
  });
}
