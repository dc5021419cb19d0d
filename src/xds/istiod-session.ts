// The proxies' connection to istiod: HTTP/2 over TLS 1.3 to istiod:15012, istiod's certificate
// checked against the mesh root and its name istiod.istio-system.svc, every request carrying the
// proxy's service account token (as ztunnel authenticates with its Kubernetes token), and the
// proxy's own certificate presented once it has one (mutual TLS).
import * as http2 from 'node:http2';
import { ALPN_H2, TLS_VERSION } from '../hbone/constants';
import { ISTIOD_SERVER_NAME } from './types';

/** Where istiod is and how to prove who we are to it. */
export interface IstiodEndpoint {
  /** Host address and port of istiod's :15012. */
  readonly address: string;
  readonly port: number;
  /** The mesh root, PEM: the only anchor istiod's certificate is checked against. */
  readonly rootPem: string;
  /** This proxy's service account token (HBONE_SA_TOKEN). */
  readonly token: string;
  /** The proxy's own certificate and key, once it has them: presented for mutual TLS. */
  readonly clientCertificate?: () => { readonly cert: string; readonly key: string } | undefined;
}

export const HEADER_AUTHORIZATION = 'authorization';

export function connectIstiod(e: IstiodEndpoint): http2.ClientHttp2Session {
  const own = e.clientCertificate?.();
  return http2.connect(`https://${e.address}:${e.port}`, {
    ca: e.rootPem,
    ...(own ? { cert: own.cert, key: own.key } : {}),
    servername: ISTIOD_SERVER_NAME,
    minVersion: TLS_VERSION,
    maxVersion: TLS_VERSION,
    ALPNProtocols: [ALPN_H2],
  });
}

export function bearer(token: string): string {
  return `Bearer ${token}`;
}
