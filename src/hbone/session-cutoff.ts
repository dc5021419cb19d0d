// Ending an HTTP/2 session at once with a GOAWAY that really reaches the peer, from where the
// rapid reset rules decide it: inside node:http2's frame processing. Every node:http2 quirk
// this needs is here, each measured on Node 20:
//  - A session destroyed there drops the GOAWAY it queues whenever its previous write is still
//    in flight, which is the rule right after a handshake (the write completes on the next turn
//    of the event loop); so the destroy waits for that next turn.
//  - Until then, the rest of the attacker's read is still parsed into streams. A session marked
//    closed refuses them in C++, without a JavaScript stream object each; session.close() does
//    that, but would also send GOAWAY NO_ERROR after our ENHANCE_YOUR_CALM.
//  - libuv reads a ready socket up to 32 times per wakeup, each read parsed before the next:
//    reading stops now, or megabytes would be parsed before the destroy.
//  - node:http2 leaves a closed session's socket open and reading until the peer closes it,
//    which an attacker need not do: it is closed once our last bytes are out, after the peer
//    had a moment to read them (closing with unread input sends a TCP reset, which can
//    overtake them).
import type { TLSSocket } from 'node:tls';
import type { ServerHttp2Session } from 'node:http2';

/** How long the peer gets to read the GOAWAY before its connection is closed under it. */
export const GOAWAY_LINGER_MS = 100;

export function stopReading(socket: TLSSocket): void {
  const handle = (socket as unknown as { _handle?: { readStop?: () => number } })._handle;
  if (typeof handle?.readStop === 'function') handle.readStop();
}

function closeQuietly(session: ServerHttp2Session): void {
  const quiet = session as unknown as { goaway: ServerHttp2Session['goaway'] };
  quiet.goaway = () => undefined;
  try {
    session.close();
  } finally {
    delete (quiet as Partial<typeof quiet>).goaway;
  }
}

/**
 * Sends GOAWAY `code` with `debug` as its debug data (last stream: the last one processed) and
 * ends the session and its socket (`socket` is the TLS socket itself: session.socket is a
 * Proxy that refuses these calls).
 */
export function cutOffSession(session: ServerHttp2Session, socket: TLSSocket, code: number, debug: string, error: Error): void {
  if (session.destroyed) return;
  session.goaway(code, 0, Buffer.from(debug));
  closeQuietly(session);
  stopReading(socket);
  setImmediate(() => {
    session.destroy(error, code);
    if (socket.destroyed) return;
    socket.once('finish', () => {
      stopReading(socket);
      setTimeout(() => socket.destroy(), GOAWAY_LINGER_MS).unref();
    });
  });
}
