// Opening the client ends of the three transports. Connection setup happens here, outside the
// timed span: the throughput cases measure moving bytes, not handshakes.
import * as net from 'node:net';
import * as tls from 'node:tls';
import type { ClientHttp2Stream } from 'node:http2';
import type { TLSSocket } from 'node:tls';
import { HbonePool } from '../../src/hbone/pool';
import { connectHeaders } from '../../src/hbone/headers';
import { clientTlsOptions, expectIdentity } from '../../src/hbone/tls';
import type { WorkloadCertificate } from '../../src/identity/workload-cert';

/** The CONNECT :authority the bench asks for; the bench server's handler accepts any. */
const SINK_PORT = 9;

export interface Peer {
  readonly serverIp: string;
  readonly clientIp: string;
  readonly serverSpiffeId: string;
  readonly clientCert: WorkloadCertificate;
}

export function dialTcp(peer: Peer, port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: peer.serverIp, port, localAddress: peer.clientIp });
    s.setNoDelay(true); // as the HBONE pool does on its sockets
    s.once('error', reject);
    s.once('connect', () => {
      s.off('error', reject);
      resolve(s);
    });
  });
}

/** Mutual TLS 1.3 with the mesh certificates and the same options the HBONE pool uses. */
export function dialTls(peer: Peer, port: number): Promise<TLSSocket> {
  return new Promise((resolve, reject) => {
    // Layered exactly as the pool's createConnection does: a bound TCP socket, then TLS over it.
    const tcp = net.connect({ host: peer.serverIp, port, localAddress: peer.clientIp });
    tcp.setNoDelay(true);
    const s = tls.connect({ ...clientTlsOptions(peer.clientCert.tls, expectIdentity(peer.serverSpiffeId)), socket: tcp });
    s.once('error', reject);
    s.once('secureConnect', () => {
      s.off('error', reject);
      resolve(s);
    });
  });
}

/**
 * One CONNECT stream from the pool, with the headers ztunnel sends on every CONNECT. The
 * :authority is the bench server's (which accepts any) unless one is named (a mesh pod's ip:port).
 */
export function dialHbone(pool: HbonePool, peer: Peer, hbonePort: number, authority = `${peer.serverIp}:${SINK_PORT}`): Promise<ClientHttp2Stream> {
  return pool.connect({
    source: peer.clientCert,
    expect: expectIdentity(peer.serverSpiffeId),
    address: peer.serverIp,
    port: hbonePort,
    sourceIp: peer.clientIp,
    authority,
    headers: connectHeaders({
      source: { namespace: 'bench', workloadName: 'bench-client' },
      client: { address: peer.clientIp, port: 0 },
    }),
  });
}

/** The negotiated TLS 1.3 cipher suite of a TLS socket or of the session under a CONNECT stream. */
export function cipherOf(s: TLSSocket | ClientHttp2Stream): string {
  const socket = 'getCipher' in s ? s : (s.session?.socket as TLSSocket | undefined);
  return socket?.getCipher().name ?? 'unknown';
}
