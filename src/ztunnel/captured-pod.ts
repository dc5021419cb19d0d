// One pod as its node's ztunnel serves it (what the CNI's enrollment gives ztunnel in a pod's
// network namespace): the pod's certificate, its HBONE inbound on podIP:15008, its SOCKS5
// outbound on :15080, the in-pod capture on :15001 and inbound plaintext on :15006 (clients
// outside the mesh). A pod that joins the node while ztunnel runs gets the same, and a pod that
// leaves gives them back (stop).
import * as net from 'node:net';
import type { WorkloadCertificate } from '../identity/workload-cert';
import type { CertificateCache } from './certificate-cache';
import { makeSpiffeId } from '../identity/spiffe';
import { HboneServer } from '../hbone/server';
import type { Workload } from '../mesh/model';
import { hostAddress } from '../mesh/model';
import { PORT_HBONE, PORT_INBOUND_PLAINTEXT, PORT_OUTBOUND_CAPTURE, PORT_SOCKS5 } from '../mesh/ports';
import { inboundPlaintext } from './inbound-plaintext';
import { logger, Logger } from '../telemetry/log';
import { handleOutbound, OutboundContext } from './outbound';
import { inPodCapture } from './in-pod-capture';
import { inboundHandler, InboundContext } from './inbound';
import { acceptSocks5, SocksRequest } from './socks5-server';

/** How the ztunnel lends a pod its listeners: TCP servers it tracks, named errors, crash containment. */
export interface PodHostingContext {
  readonly trustDomain: string;
  /** The node's certificates by identity: pods of one service account share one. */
  readonly certificates: CertificateCache;
  readonly outbound: OutboundContext;
  readonly inbound: InboundContext;
  readonly log: Logger;
  /** A TCP listener the ztunnel owns (its accepted sockets are destroyed at stop). */
  listenTcp(address: string, port: number, what: string, onSocket: (s: net.Socket) => void): Promise<net.Server>;
  /** A listen that failed, named: which address and what it was for. */
  named(p: Promise<void>, address: string, what: string): Promise<void>;
  /** A bug in the outbound path: logged, the client reset. */
  outboundFailed(socket: net.Socket, err: Error): void;
}

export class CapturedPod {
  private server?: HboneServer;
  private readonly tcp: net.Server[] = [];

  private constructor(
    readonly pod: Workload,
    readonly certificate: WorkloadCertificate,
    private readonly certificates: CertificateCache,
  ) {}

  /** Gets the certificate of the pod's identity, then opens its listeners; on a failure, gives back what it took. */
  static async enroll(ctx: PodHostingContext, pod: Workload): Promise<CapturedPod> {
    const cert = await ctx.certificates.acquire(makeSpiffeId(pod.namespace, pod.serviceAccount, ctx.trustDomain));
    const captured = new CapturedPod(pod, cert, ctx.certificates);
    try {
      await captured.listen(ctx);
    } catch (err) {
      await captured.stop(0);
      throw err;
    }
    return captured;
  }

  private async listen(ctx: PodHostingContext): Promise<void> {
    const { pod } = this;
    const podHost = hostAddress(pod.ip);
    const server = new HboneServer({
      address: podHost,
      port: PORT_HBONE,
      certificate: this.certificate,
      handler: inboundHandler(ctx.inbound, pod),
      log: logger('hbone::server'),
    });
    await ctx.named(server.listen(), `${podHost}:${PORT_HBONE}`, `HBONE inbound of ${pod.name} (${pod.ip}:${PORT_HBONE})`);
    this.server = server;
    const socks = (what: string, handle: (socket: net.Socket, req: SocksRequest) => Promise<void>) => (socket: net.Socket) => {
      acceptSocks5(socket)
        .then(
          (req) => handle(socket, req),
          (err: Error) => {
            ctx.log.info(`${what} handshake failed`, { pod: pod.name, error: err.message });
            socket.destroy();
          },
        )
        .catch((err: Error) => ctx.outboundFailed(socket, err));
    };
    this.tcp.push(
      await ctx.listenTcp(
        podHost,
        PORT_SOCKS5,
        `SOCKS5 outbound of ${pod.name} (${pod.ip}:${PORT_SOCKS5})`,
        socks('SOCKS5', (socket, req) => handleOutbound(ctx.outbound, socket, pod, req, (code) => req.reply(code))),
      ),
    );
    this.tcp.push(
      await ctx.listenTcp(
        podHost,
        PORT_OUTBOUND_CAPTURE,
        `in-pod capture of ${pod.name} (${pod.ip}:${PORT_OUTBOUND_CAPTURE})`,
        socks('capture', (socket, req) => inPodCapture(ctx.outbound, socket, pod, req)),
      ),
    );
    this.tcp.push(
      await ctx.listenTcp(podHost, PORT_INBOUND_PLAINTEXT, `inbound plaintext of ${pod.name} (${pod.ip}:${PORT_INBOUND_PLAINTEXT})`, (socket) => {
        inboundPlaintext(ctx.inbound, pod, socket).catch((err: Error) => ctx.outboundFailed(socket, err));
      }),
    );
  }

  /** Gives back its certificate and closes its listeners (tunnels get GOAWAY, then are closed after graceMs). */
  async stop(graceMs: number): Promise<void> {
    this.certificates.release(this.certificate);
    await Promise.all([...this.tcp.map((s) => new Promise<void>((r) => s.close(() => r()))), this.server?.close(graceMs)]);
  }
}
