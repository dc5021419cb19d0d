// Mutual TLS for HBONE: TLS 1.3 only, ALPN h2, the mesh root as the only trust anchor,
// and SPIFFE identities checked on both ends.
import type { PeerCertificate, TLSSocket, ConnectionOptions, SecureContextOptions } from 'node:tls';
import type { TlsMaterial } from '../identity/workload-cert';
import { SpiffeId, identityFromSubjectAltName, uriSansOf } from '../identity/spiffe';
import { ALPN_H2, TLS_VERSION } from './constants';

/** What a client accepts as the server's identity. */
export type PeerMatcher =
  | { readonly kind: 'exact'; readonly spiffeId: string }
  /** Any identity in the trust domain: the waypoint's ORIGINAL_DST cluster checks only the SAN prefix. */
  | { readonly kind: 'trustDomain'; readonly trustDomain: string };

export function expectIdentity(spiffeId: string): PeerMatcher {
  return { kind: 'exact', spiffeId };
}

export function describeMatcher(m: PeerMatcher): string {
  return m.kind === 'exact' ? m.spiffeId : `spiffe://${m.trustDomain}/*`;
}

export class PeerIdentityError extends Error {
  override name = 'PeerIdentityError';
  constructor(
    message: string,
    readonly expected: string,
    readonly actual: string,
  ) {
    super(message);
  }
}

/** Checks a server certificate's URI SAN against what the client expects; returns an error naming both. */
export function verifyServerIdentity(matcher: PeerMatcher, cert: PeerCertificate): PeerIdentityError | undefined {
  const expected = describeMatcher(matcher);
  const sans = uriSansOf(cert.subjectaltname);
  const actual = sans.join(', ') || '(no URI SAN)';
  const ok = sans.length === 1 && (matcher.kind === 'exact' ? sans[0] === matcher.spiffeId : sans[0].startsWith(`spiffe://${matcher.trustDomain}/`));
  if (ok) return undefined;
  return new PeerIdentityError(`server identity mismatch: expected ${expected}, got ${actual}`, expected, actual);
}

/** Both sides present a certificate and speak TLS 1.3 only. */
export function serverSecureContextOptions(material: TlsMaterial): SecureContextOptions {
  return { cert: material.cert, key: material.key, ca: material.ca, minVersion: TLS_VERSION, maxVersion: TLS_VERSION };
}

export function clientTlsOptions(material: TlsMaterial, matcher: PeerMatcher): ConnectionOptions {
  return {
    ...serverSecureContextOptions(material),
    ALPNProtocols: [ALPN_H2],
    rejectUnauthorized: true,
    // Called only after the chain verified against the mesh root; replaces hostname checks,
    // which mean nothing for SPIFFE certificates (they carry no DNS or IP SAN).
    checkServerIdentity: (_host, cert) => verifyServerIdentity(matcher, cert),
  };
}

/** The SPIFFE identity of the peer on a verified TLS socket. */
export function peerIdentity(socket: TLSSocket): SpiffeId {
  const cert = socket.getPeerCertificate();
  if (!cert || Object.keys(cert).length === 0) throw new Error('peer presented no certificate');
  return identityFromSubjectAltName(cert.subjectaltname);
}
