// Putting a fatal TLS alert on the wire from a Node TLS server, after the handshake.
//
// Why it has to be done by hand: Node verifies a client certificate in JavaScript after the
// handshake. Its OpenSSL verify callback always accepts (src/crypto/crypto_tls.cc), then
// _tls_wrap.js reads the verify result and, with rejectUnauthorized, destroys the socket: the
// client sees a bare TCP close where rustls and Envoy send unknown_ca or certificate_expired.
// Node has no API to make OpenSSL send an alert, so the server lets the handshake finish
// (rejectUnauthorized: false), judges the certificate before node:http2 sees the socket, and
// writes the alert record itself:
//  - In TLS 1.3 a server alert after its Finished is protected under the server application
//    traffic secret, which Node hands out through the 'keylog' event (SERVER_TRAFFIC_SECRET_0).
//  - The record's sequence number is the count of records OpenSSL already sent under that
//    secret: its NewSessionTickets, written while the handshake completes. OpenSSL sends
//    num_tickets (2 by default, Node never changes it) after a full handshake, at most 1 after a
//    resumption, and none to a client that offered no PSK mode. Which case it was is read from
//    the TCP handle's byte count: unchanged between 'secureConnection' (tickets still in
//    OpenSSL's buffer) and the next turn of the event loop (flushed) means none were sent.
//  - The record goes straight to the TCP socket under the TLS socket, after the tickets (same
//    libuv stream, so in order), followed by a FIN.
// The alert is exactly what OpenSSL would have sent itself, so any TLS client reads it: Node
// reports ERR_SSL_TLSV1_ALERT_UNKNOWN_CA, openssl s_client "tlsv1 alert unknown ca".
import type { TLSSocket, Server as TlsServer } from 'node:tls';
import type { Socket } from 'node:net';
import { sealRecord, supportedSuite } from './tls13-record';
import { CONTENT_TYPE_ALERT, TlsAlertName, alertBody } from './tls-alert';

const SERVER_SECRET_LABEL = Buffer.from('SERVER_TRAFFIC_SECRET_0 ', 'latin1');
/** OpenSSL's default SSL_CTX num_tickets, and its cap after a resumption. */
const OPENSSL_TLS13_TICKETS_FULL = 2;
const OPENSSL_TLS13_TICKETS_RESUMED = 1;
/** After the alert, how long a client that does not close its end keeps the socket. */
export const ALERT_LINGER_MS = 2000;

/** What Node keeps under a server TLSSocket: its TCP handle (bytes written) and the net.Socket. */
interface TcpUnderTls {
  readonly handle: { readonly bytesWritten: number };
  readonly socket: Socket;
}

function tcpUnder(tls: TLSSocket): TcpUnderTls | undefined {
  const inner = tls as unknown as { _handle?: { _parent?: { bytesWritten?: unknown } }; _parent?: unknown };
  const handle = inner._handle?._parent;
  const socket = inner._parent as Socket | undefined;
  if (!handle || typeof handle.bytesWritten !== 'number' || !socket || typeof socket.end !== 'function') return undefined;
  return { handle: handle as { bytesWritten: number }, socket };
}

/** How the alert left: encrypted as OpenSSL would have, or (if it cannot be) a plain close. */
export type AlertOutcome = 'alert' | 'closed';

/** Keeps each handshake's server traffic secret until its socket is judged. */
export class TlsAlertSender {
  private readonly secrets = new WeakMap<TLSSocket, Buffer>();

  constructor(server: TlsServer) {
    // Node emits 'keylog' per socket only if the server had a listener when the socket came.
    server.on('keylog', (line: Buffer, socket: TLSSocket) => {
      if (line.length > SERVER_SECRET_LABEL.length && line.subarray(0, SERVER_SECRET_LABEL.length).equals(SERVER_SECRET_LABEL)) {
        const hex = line.toString('latin1', SERVER_SECRET_LABEL.length).trim().split(' ')[1];
        if (hex) this.secrets.set(socket, Buffer.from(hex, 'hex'));
      }
    });
  }

  /** The handshake is over and accepted: its secret is not needed any more. */
  forget(socket: TLSSocket): void {
    this.secrets.delete(socket);
  }

  /**
   * Sends `alert` and closes the connection. Must be called synchronously from
   * 'secureConnection' (the ticket count is read across the next turn of the event loop).
   */
  refuse(socket: TLSSocket, alert: TlsAlertName): AlertOutcome {
    const secret = this.secrets.get(socket);
    this.secrets.delete(socket);
    const suite = socket.getCipher()?.name ?? '';
    const tcp = tcpUnder(socket);
    socket.on('error', () => undefined);
    if (!secret || !tcp || socket.getProtocol() !== 'TLSv1.3' || !supportedSuite(suite)) {
      socket.destroy();
      return 'closed';
    }
    const linger = setTimeout(() => socket.destroy(), ALERT_LINGER_MS);
    linger.unref();
    socket.once('close', () => clearTimeout(linger));
    // Whatever the client sends now (its HTTP/2 preface) is read and dropped, so the close is a FIN.
    socket.resume();
    const bytesBefore = tcp.handle.bytesWritten;
    setImmediate(() => {
      if (socket.destroyed) return;
      const ticketsSent = tcp.handle.bytesWritten === bytesBefore ? 0 : socket.isSessionReused() ? OPENSSL_TLS13_TICKETS_RESUMED : OPENSSL_TLS13_TICKETS_FULL;
      tcp.socket.end(sealRecord(suite, secret, ticketsSent, CONTENT_TYPE_ALERT, alertBody(alert)));
    });
    return 'alert';
  }
}
