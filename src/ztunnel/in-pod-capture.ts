// The in-pod capture's stand-in, on each pod's :15001 (ztunnel's outbound capture port). In a
// cluster, iptables redirects a pod's outbound connection to ztunnel, and the kernel completes
// the client's handshake before ztunnel knows where the connection goes: a connection that
// policy then refuses, or whose destination cannot be reached, is reset after the client has
// sent its request (curl: "(56) Recv failure: Connection reset by peer", as in Istio's guides).
// With no iptables here, the client names its original destination in a SOCKS5 handshake (what
// SO_ORIGINAL_DST tells ztunnel); the reply is a success at once, and a failure is a reset. A
// name nothing resolves is refused in the handshake instead, as a cluster's DNS would fail it
// before any connection (`hbone-sim exec` uses this port; the :15080 SOCKS5 listener keeps
// SOCKS5's own error codes).
import { isIP, type Socket } from 'node:net';
import type { Workload } from '../mesh/model';
import { handleOutbound, OutboundContext } from './outbound';
import { REPLY_HOST_UNREACHABLE, REPLY_SUCCEEDED, SocksRequest } from './socks5-server';

/** How long a refused client has to send its first bytes before it is reset anyway. */
const RESET_WAIT_MS = 1000;

/**
 * A redirected client has sent its request by the time ztunnel gives up on the upstream; here it
 * sends it once told the connection is up. Resetting right after that reply can reach it as a
 * plain close, so the reset waits for its first bytes (or RESET_WAIT_MS): it then reads a reset.
 */
export function resetOnceItSpeaks(client: Socket): void {
  const reset = (): void => {
    clearTimeout(timer);
    if (!client.destroyed) client.resetAndDestroy();
  };
  const timer = setTimeout(reset, RESET_WAIT_MS);
  client.once('data', reset);
  client.once('error', reset);
  client.resume();
}

export async function inPodCapture(ctx: OutboundContext, client: Socket, pod: Workload, req: SocksRequest): Promise<void> {
  if (isIP(req.host) === 0 && ctx.state.serviceByName(req.host, pod.namespace) === undefined) {
    // The pod's resolver would have failed: no connection would have reached ztunnel.
    ctx.log.info('no such host', { src: pod.name, host: req.host });
    req.reply(REPLY_HOST_UNREACHABLE);
    client.destroy();
    return;
  }
  let accepted = false;
  return handleOutbound(
    ctx,
    client,
    pod,
    req,
    (reply) => {
      if (!accepted) return void req.reply(reply);
      if (reply === REPLY_SUCCEEDED) return;
      resetOnceItSpeaks(client);
      return true;
    },
    () => {
      accepted = true;
      req.reply(REPLY_SUCCEEDED);
    },
  );
}
