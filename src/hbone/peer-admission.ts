// Who may speak HTTP/2 on :15008: a peer whose certificate chains to the mesh root and names a
// SPIFFE identity in our trust domain, judged when the TLS handshake completes and before
// node:http2 creates a session, as ztunnel's client-certificate verifier does in the handshake.
// A refused peer gets the TLS alert rustls would send (tls-alert.ts), not a bare close and not
// an HTTP/2 GOAWAY.
//
// node:http2 creates its session from the TLS server's 'secureConnection' event; the listener
// it installs is taken off and called only for admitted sockets.
import type { TLSSocket } from 'node:tls';
import type { Http2SecureServer } from 'node:http2';
import { SpiffeId, formatSpiffeId } from '../identity/spiffe';
import type { Logger } from '../telemetry/log';
import { peerIdentity } from './tls';
import { TlsAlertName, alertForVerifyError } from './tls-alert';
import { TlsAlertSender } from './tls-alert-sender';
import { errorMessage } from '../error-message';

/** The rustls CertificateError each alert stands for, so logs read like ztunnel's. */
const RUSTLS_ERROR: Readonly<Record<TlsAlertName, string>> = {
  bad_certificate: 'BadEncoding',
  unsupported_certificate: 'InvalidPurpose',
  certificate_revoked: 'Revoked',
  certificate_expired: 'Expired',
  certificate_unknown: 'Other',
  unknown_ca: 'UnknownIssuer',
  access_denied: 'ApplicationVerificationFailure',
  decrypt_error: 'BadSignature',
  internal_error: 'Other',
  certificate_required: 'NoCertificatesPresented',
};

export type Verdict = { readonly admit: true; readonly peer: SpiffeId } | { readonly admit: false; readonly alert: TlsAlertName; readonly error: string };

/** Node keeps the verify error's text (not only its code) on the TLS handle. */
function verifyMessage(socket: TLSSocket): string {
  const handle = (socket as unknown as { _handle?: { verifyError?: () => Error | null } })._handle;
  try {
    return handle?.verifyError?.()?.message ?? '';
  } catch {
    return '';
  }
}

/** The decision on one completed handshake. */
export function judgePeer(socket: TLSSocket, trustDomain: string): Verdict {
  const cert = socket.getPeerCertificate();
  if (!cert || Object.keys(cert).length === 0) {
    return { admit: false, alert: 'certificate_required', error: 'tls handshake error: peer sent no certificates (NoCertificatesPresented)' };
  }
  if (!socket.authorized) {
    const code = String(socket.authorizationError ?? 'UNSPECIFIED');
    const message = verifyMessage(socket);
    const alert = alertForVerifyError(code, message);
    const rustls =
      code === 'CERT_NOT_YET_VALID'
        ? 'NotValidYet'
        : code === 'UNSPECIFIED' && alert === 'bad_certificate'
          ? 'UnhandledCriticalExtension'
          : RUSTLS_ERROR[alert];
    return { admit: false, alert, error: `tls handshake error: invalid peer certificate: ${rustls} (${code}${message ? `: ${message}` : ''})` };
  }
  let peer: SpiffeId;
  try {
    peer = peerIdentity(socket);
  } catch (err) {
    return { admit: false, alert: 'certificate_unknown', error: `identity verification error: ${errorMessage(err)}` };
  }
  if (peer.trustDomain !== trustDomain) {
    // ztunnel's TlsError::SanTrustDomainError, carried in CertificateError::Other.
    return {
      admit: false,
      alert: 'certificate_unknown',
      error: `identity verification error: peer did not present the expected trustdomain (${trustDomain}), got ${formatSpiffeId(peer)}`,
    };
  }
  return { admit: true, peer };
}

export interface AdmissionOptions {
  /** Read at each handshake: a renewed certificate could, in principle, move us. */
  readonly trustDomain: () => string;
  readonly log: Logger;
}

/** Handshakes refused so far, by alert: tests and stats read it. */
export type RefusalCounts = Partial<Record<TlsAlertName, number>>;

/**
 * Where an admitted socket carries its peer. A property rather than a WeakMap: http2 sessions
 * hand out a Proxy of their socket, which a WeakMap would not recognise; the Proxy forwards reads.
 */
const PEER_IDENTITY = Symbol('hbone.peerIdentity');
type AdmittedSocket = TLSSocket & { [PEER_IDENTITY]?: AdmittedPeer };

/** An admitted connection: who it is, and its TLS socket itself (not the Proxy sessions return). */
export interface AdmittedPeer {
  readonly peer: SpiffeId;
  readonly socket: TLSSocket;
}

export class PeerAdmission {
  private readonly alerts: TlsAlertSender;
  readonly refused: RefusalCounts = {};

  constructor(
    private readonly server: Http2SecureServer,
    private readonly options: AdmissionOptions,
  ) {
    this.alerts = new TlsAlertSender(server);
    const http2Listeners = server.listeners('secureConnection') as Array<(socket: TLSSocket) => void>;
    server.removeAllListeners('secureConnection');
    server.on('secureConnection', (socket: TLSSocket) => {
      const verdict = judgePeer(socket, options.trustDomain());
      if (!verdict.admit) return this.refuse(socket, verdict);
      this.alerts.forget(socket);
      // HBONE frames are small and latency-bound (ztunnel sets TCP_NODELAY too); and a GOAWAY
      // held back by Nagle would be lost if the connection is then closed with a reset.
      socket.setNoDelay(true);
      (socket as AdmittedSocket)[PEER_IDENTITY] = { peer: verdict.peer, socket };
      for (const listener of http2Listeners) listener.call(server, socket);
    });
  }

  /** The admitted peer on a session's socket (or the Proxy of it that session.socket returns). */
  admitted(socket: TLSSocket): AdmittedPeer | undefined {
    return (socket as AdmittedSocket)[PEER_IDENTITY];
  }

  private refuse(socket: TLSSocket, verdict: Extract<Verdict, { admit: false }>): void {
    this.refused[verdict.alert] = (this.refused[verdict.alert] ?? 0) + 1;
    const outcome = this.alerts.refuse(socket, verdict.alert);
    // ztunnel's log_early_deny: target access, "connection failed".
    this.options.log.warn('connection failed', {
      'src.addr': `${socket.remoteAddress}:${socket.remotePort}`,
      'dst.addr': `${socket.localAddress}:${socket.localPort}`,
      direction: 'inbound',
      error: verdict.error,
      alert: outcome === 'alert' ? verdict.alert : undefined,
    });
  }
}
