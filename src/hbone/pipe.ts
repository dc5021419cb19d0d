// The hot path: copy bytes between a TCP socket and an HTTP/2 CONNECT stream.
//
// Rules (DESIGN.md section 3):
// - every write checks its return value; a full destination pauses the source;
// - a FIN becomes END_STREAM and END_STREAM becomes a FIN, each direction on its own;
// - a TCP reset becomes RST_STREAM(CONNECT_ERROR) and a stream reset becomes a TCP reset,
//   so a truncated transfer never looks like a clean end to the far application.
import type { Socket } from 'node:net';
import type { Http2Stream } from 'node:http2';
import { RST_CONNECT_ERROR, RST_NO_ERROR } from './constants';

export type PipeEnd = 'closed' | 'reset-by-tcp' | 'reset-by-tunnel';

export interface PipeResult {
  /** Bytes read from the TCP side and written into the tunnel. */
  readonly bytesFromTcp: number;
  /** Bytes read from the tunnel and written to the TCP side. */
  readonly bytesFromTunnel: number;
  readonly end: PipeEnd;
  /** What broke, when end is not 'closed'. */
  readonly error?: Error;
}

const EMPTY = Buffer.alloc(0);

/**
 * Joins `tcp` and `tunnel` until both are closed. The socket must have been made with
 * allowHalfOpen, or Node ends it on the first FIN and half-close is lost.
 */
export function pipeTunnel(tcp: Socket, tunnel: Http2Stream): Promise<PipeResult> {
  return new Promise((resolve) => {
    let bytesFromTcp = 0;
    let bytesFromTunnel = 0;
    let end: PipeEnd = 'closed';
    let error: Error | undefined;
    let tcpClosed = tcp.destroyed;
    let peerStoppedReading = false;
    let tunnelClosed = tunnel.destroyed;

    const finish = (): void => {
      if (tcpClosed && tunnelClosed) resolve({ bytesFromTcp, bytesFromTunnel, end, error });
    };

    // TCP -> tunnel.
    tcp.on('data', (chunk: Buffer) => {
      if (peerStoppedReading || tunnel.destroyed) return; // nobody will read it
      bytesFromTcp += chunk.length;
      if (!tunnel.write(chunk)) tcp.pause();
    });
    tunnel.on('drain', () => tcp.resume());
    tcp.on('end', () => {
      if (!tunnel.destroyed) tunnel.end(); // FIN -> END_STREAM
    });

    // Tunnel -> TCP.
    tunnel.on('data', (chunk: Buffer) => {
      bytesFromTunnel += chunk.length;
      if (!tcp.write(chunk)) tunnel.pause();
    });
    tcp.on('drain', () => tunnel.resume());
    // When a session dies, node:http2 emits 'aborted' and then 'end' on its streams: that 'end'
    // is a truncation, not an END_STREAM, and must not become a FIN.
    let aborted = false;
    tunnel.on('aborted', () => {
      // RFC 9113 section 8.1: END_STREAM then RST_STREAM(NO_ERROR) means "stop sending"; the
      // response is complete and must be delivered, what the app still sends is dropped.
      if (tunnel.rstCode === RST_NO_ERROR && tunnel.state?.remoteClose) {
        peerStoppedReading = true;
        return;
      }
      aborted = true;
      resetTcp(tcp);
    });
    tunnel.on('end', () => {
      if (!aborted && !tcp.destroyed) tcp.end(); // END_STREAM -> FIN
    });

    // A TCP error is a reset (ECONNRESET) or a write into a dead socket (EPIPE): reset the stream.
    tcp.on('error', (err) => {
      if (end === 'closed') {
        end = 'reset-by-tcp';
        error = err;
      }
      resetStream(tunnel);
    });
    tcp.on('close', () => {
      tcpClosed = true;
      // The socket went away without a clean end in both directions (destroyed locally, say):
      // the tunnel must not outlive it as a half-open stream.
      if (!tunnel.destroyed && !(tcp.readableEnded && tcp.writableFinished)) resetStream(tunnel);
      finish();
    });

    // Stream errors are reported by 'close' with its rstCode; the listener keeps them from throwing.
    tunnel.on('error', (err) => {
      error ??= err;
    });
    tunnel.on('close', () => {
      tunnelClosed = true;
      const code = tunnel.rstCode ?? RST_NO_ERROR;
      const truncated = aborted || (!tunnel.readableEnded && !peerStoppedReading);
      if (code !== RST_NO_ERROR || truncated) {
        if (end === 'closed') {
          end = 'reset-by-tunnel';
          error ??= new Error(`HBONE stream reset (RST_STREAM code ${code}${truncated ? ', before END_STREAM' : ''})`);
        }
        resetTcp(tcp);
      } else if (!tcp.destroyed && !tunnel.writableFinished) {
        // The peer closed cleanly but no longer reads: what we still hold cannot be delivered.
        tcp.destroySoon();
      }
      finish();
    });

    // Sockets accepted with pauseOnConnect (captures) stay paused until told: a 'data'
    // listener alone does not start them.
    tcp.resume();
    tunnel.resume();
  });
}

/** Sends RST_STREAM(CONNECT_ERROR) without a preceding END_STREAM. */
export function resetStream(stream: Http2Stream): void {
  if (stream.destroyed || stream.closed) return;
  // close() ends the writable side first, and node:http2 flushes that END_STREAM before the
  // RST_STREAM, so the peer would read a clean EOF. A write still in flight keeps _final from
  // running, and the RST_STREAM goes out alone.
  if (!stream.writableEnded) stream.write(EMPTY);
  stream.close(RST_CONNECT_ERROR);
}

/** Closes a socket with a TCP RST, so the application sees ECONNRESET rather than a clean EOF. */
export function resetTcp(tcp: Socket): void {
  if (tcp.destroyed) return;
  // libuv cannot reset a socket whose FIN is already queued (uv_tcp_close_reset gives EINVAL),
  // and Node then drops the handle without closing it. That direction already ended cleanly,
  // so a plain close is the honest answer there.
  if (tcp.writableEnded || tcp.connecting) tcp.destroy();
  else tcp.resetAndDestroy();
}

/**
 * Joins two CONNECT streams (the waypoint relaying TCP): backpressure through pipe(), END_STREAM
 * forwarded each way, and a reset of either side reset on the other.
 */
export function pipeStreams(a: Http2Stream, b: Http2Stream): Promise<{ bytesAtoB: number; bytesBtoA: number }> {
  return new Promise((resolve) => {
    let aToB = 0;
    let bToA = 0;
    let open = 2;
    a.on('data', (c: Buffer) => (aToB += c.length));
    b.on('data', (c: Buffer) => (bToA += c.length));
    for (const [src, dst] of [
      [a, b],
      [b, a],
    ] as const) {
      src.on('error', () => undefined);
      src.pipe(dst);
      src.once('close', () => {
        if ((src.rstCode ?? RST_NO_ERROR) !== RST_NO_ERROR || !src.readableEnded) resetStream(dst);
        if (--open === 0) resolve({ bytesAtoB: aToB, bytesBtoA: bToA });
      });
    }
  });
}
