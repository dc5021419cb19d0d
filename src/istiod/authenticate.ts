// Who is calling istiod: the service account token every request carries (verified with the
// API server's key, as istiod's Kubernetes JWT authenticator does), and the client certificate
// once the proxy has one. A certificate that is presented must be valid under the mesh root and
// name the token's own identity: one proxy cannot ride on another's certificate.
import type { IncomingHttpHeaders } from 'node:http2';
import type { TLSSocket } from 'node:tls';
import { verifyToken, TokenClaims } from '../identity/sa-token';
import { makeSpiffeId, formatSpiffeId, uriSansOf } from '../identity/spiffe';
import { ZTUNNEL_NAMESPACE, ZTUNNEL_SERVICE_ACCOUNT } from '../mesh/control-plane';

export interface Caller extends TokenClaims {
  /** The caller's own SPIFFE id. */
  readonly spiffeId: string;
  readonly isZtunnel: boolean;
  /** Whether the caller presented a valid certificate of its own identity (mutual TLS). */
  readonly mutualTls: boolean;
  /** For logs: ztunnel on node-a, or the waypoint pod. */
  readonly description: string;
}

export class AuthenticationError extends Error {
  override name = 'AuthenticationError';
}

export function authenticate(headers: IncomingHttpHeaders, socket: TLSSocket, tokenKey: string, trustDomain: string): Caller {
  const header = headers.authorization;
  const m = typeof header === 'string' ? /^Bearer (\S+)$/.exec(header) : null;
  if (!m) throw new AuthenticationError('no bearer token');
  let claims: TokenClaims;
  try {
    claims = verifyToken(tokenKey, m[1]);
  } catch (err) {
    throw new AuthenticationError(`token refused: ${(err as Error).message}`);
  }
  const spiffeId = formatSpiffeId(makeSpiffeId(claims.namespace, claims.serviceAccount, trustDomain));
  const cert = socket.getPeerCertificate();
  const presented = cert !== null && Object.keys(cert).length > 0;
  if (presented) {
    if (!socket.authorized) throw new AuthenticationError(`client certificate refused: ${String(socket.authorizationError)}`);
    const sans = uriSansOf(cert.subjectaltname);
    if (sans.length !== 1 || sans[0] !== spiffeId)
      throw new AuthenticationError(`client certificate names ${sans.join(', ') || 'no identity'}, not the token's ${spiffeId}`);
  }
  const isZtunnel = claims.namespace === ZTUNNEL_NAMESPACE && claims.serviceAccount === ZTUNNEL_SERVICE_ACCOUNT;
  return {
    ...claims,
    spiffeId,
    isZtunnel,
    mutualTls: presented,
    description: isZtunnel ? `ztunnel on ${claims.node ?? '(no node)'}` : `${claims.namespace}/${claims.pod ?? `sa/${claims.serviceAccount}`}`,
  };
}
