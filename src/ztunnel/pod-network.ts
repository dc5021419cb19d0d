// A pod outside the mesh (istio.io/dataplane-mode unset or none): ztunnel captures none of its
// traffic, and what it gets is the node's own networking. Its connections go where the cluster's
// DNS and kube-proxy send them: a Service name to its VIP, the VIP to an endpoint (round robin,
// as kube-proxy's IPVS mode), then plain TCP from the pod's own address. An endpoint in the mesh
// receives it on its inbound plaintext port (src/ztunnel/inbound-plaintext.ts), as its iptables
// would redirect it there; one outside the mesh receives it on the app's port.
//
// Not ztunnel's work in Istio: it is hosted here only because this process holds istiod's view of
// services and endpoints, and the pod's app still dials podIP:15080 (and `exec` podIP:15001)
// as it does in the mesh. It writes no metrics and no access log: ztunnel sees none of this.
import * as net from 'node:net';
import type { Workload } from '../mesh/model';
import { hostAddress } from '../mesh/model';
import type { MeshState } from '../mesh/state';
import { PORT_INBOUND_PLAINTEXT, PORT_OUTBOUND_CAPTURE, PORT_SOCKS5 } from '../mesh/ports';
import { isProxyPod } from '../mesh/app-kinds';
import { formatAuthority } from '../hbone/authority';
import { errorMessage } from '../error-message';
import type { Logger } from '../telemetry/log';
import { acceptSocks5, REPLY_CONNECTION_REFUSED, REPLY_HOST_UNREACHABLE, REPLY_SUCCEEDED, SocksRequest } from './socks5-server';
import { dialTcp, pipeSockets } from '../hbone/tcp';
import { formatProxyV1 } from './inbound-plaintext';
import { resetOnceItSpeaks } from './in-pod-capture';

export interface PodNetworkContext {
  readonly state: MeshState;
  readonly log: Logger;
  listenTcp(address: string, port: number, what: string, onSocket: (s: net.Socket) => void): Promise<net.Server>;
}

/** Where kube-proxy and the destination's redirection send a connection. */
type Route =
  | { readonly kind: 'dial'; readonly ip: string; readonly port: number; readonly redirectTo15006?: Workload; readonly note: string }
  | { readonly kind: 'refused'; readonly reply: number; readonly reason: string };

export class UncapturedPod {
  private readonly tcp: net.Server[] = [];

  private constructor(readonly pod: Workload) {}

  static async start(ctx: PodNetworkContext, pod: Workload): Promise<UncapturedPod> {
    const p = new UncapturedPod(pod);
    const podHost = hostAddress(pod.ip);
    try {
      for (const port of [PORT_SOCKS5, PORT_OUTBOUND_CAPTURE]) {
        p.tcp.push(
          await ctx.listenTcp(podHost, port, `network of ${pod.name}, outside the mesh (${pod.ip}:${port})`, (socket) => {
            acceptSocks5(socket)
              .then((req) => connectFromPod(ctx, pod, socket, req))
              .catch((err: Error) => {
                ctx.log.debug('uncaptured connection failed', { pod: pod.name, error: err.message });
                socket.destroy();
              });
          }),
        );
      }
    } catch (err) {
      await p.stop();
      throw err;
    }
    return p;
  }

  async stop(): Promise<void> {
    await Promise.all(this.tcp.map((s) => new Promise<void>((r) => s.close(() => r()))));
  }
}

/** DNS, then kube-proxy, then the destination node's redirection. */
export function routeFromPod(state: MeshState, pod: Workload, host: string, port: number): Route {
  const byName = net.isIP(host) ? undefined : state.serviceByName(host, pod.namespace);
  if (!net.isIP(host) && !byName) return { kind: 'refused', reply: REPLY_HOST_UNREACHABLE, reason: `no such host ${host}` };
  const service = byName ?? state.serviceByVip(host);
  let target: Workload | undefined;
  let targetPort = port;
  if (service) {
    const servicePort = service.ports.find((p) => p.port === port);
    // kube-proxy rejects what no Service port or endpoint serves: the client sees a refusal.
    if (!servicePort) return { kind: 'refused', reply: REPLY_CONNECTION_REFUSED, reason: `${service.vip} has no port ${port}` };
    target = state.nextEndpointOf(service);
    if (!target) return { kind: 'refused', reply: REPLY_CONNECTION_REFUSED, reason: `service ${service.name} has no endpoints` };
    targetPort = servicePort.targetPort;
  } else {
    target = state.podByIp(host);
  }
  if (!target) return { kind: 'dial', ip: host, port, note: 'outside the cluster' };
  const captured = !isProxyPod(target) && state.speaksHbone(target);
  return captured
    ? { kind: 'dial', ip: target.ip, port: targetPort, redirectTo15006: target, note: `${target.name} is in the mesh: its ztunnel's inbound plaintext port` }
    : { kind: 'dial', ip: target.ip, port: targetPort, note: `${target.name}, outside the mesh too` };
}

async function connectFromPod(ctx: PodNetworkContext, pod: Workload, client: net.Socket, req: SocksRequest): Promise<void> {
  const route = routeFromPod(ctx.state, pod, req.host, req.port);
  if (route.kind === 'refused') {
    ctx.log.debug('not captured: refused', { src: pod.name, dst: formatAuthority(req.host, req.port), reason: route.reason });
    req.reply(route.reply);
    client.destroy();
    return;
  }
  const redirect = route.redirectTo15006;
  let server: net.Socket;
  try {
    server = await dialTcp(hostAddress(route.ip), redirect ? PORT_INBOUND_PLAINTEXT : route.port, hostAddress(pod.ip));
  } catch (err) {
    ctx.log.debug('not captured: connect failed', { src: pod.name, dst: formatAuthority(route.ip, route.port), error: errorMessage(err) });
    req.reply(REPLY_CONNECTION_REFUSED);
    client.destroy();
    return;
  }
  // What SO_ORIGINAL_DST would tell the destination's ztunnel: the address the client dialled.
  if (redirect) server.write(formatProxyV1({ source: pod.ip, destination: route.ip, sourcePort: server.localPort ?? 0, destinationPort: route.port }));
  ctx.log.debug('not captured: plain TCP', { src: pod.name, dst: formatAuthority(route.ip, route.port), via: route.note });
  req.reply(REPLY_SUCCEEDED);
  // A destination that resets at once (its ztunnel's policy refused the redirect) would reach a
  // client still reading the reply above as a failed handshake: as after a real redirect, the
  // client sees the reset once it has sent its request.
  if ((await firstMove(client, server)) === 'reset') {
    server.destroy();
    return resetOnceItSpeaks(client);
  }
  await pipeSockets(client, server);
}

/** Which side moves first: either has bytes (or an end) to read, or the server is reset or closed. */
function firstMove(client: net.Socket, server: net.Socket): Promise<'data' | 'reset'> {
  return new Promise((resolve) => {
    const done = (move: 'data' | 'reset') => {
      client.off('readable', onData);
      server.off('readable', onData);
      server.off('error', onReset);
      server.off('close', onReset);
      resolve(move);
    };
    const onData = () => done('data');
    const onReset = () => done('reset');
    client.once('readable', onData);
    server.once('readable', onData);
    server.once('error', onReset);
    server.once('close', onReset);
  });
}
