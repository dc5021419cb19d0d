// HAProxy as the L7 peer of our waypoint: finding it, its version, its configuration (the route
// of l7-route.ts as ACLs, mutual TLS 1.3 on both sides with mesh certificates), starting it.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import type { Endpoint } from '../mesh';
import { PeerProcess } from './peer-process';
import { findExecutable } from './executable';
import { ROUTE_HEADER, ROUTE_PATH_PREFIX } from './l7-route';

/** Names the HAProxy binary to use (a path or a name on PATH); by default haproxy, which Debian installs in /usr/sbin. */
export const ENV_HAPROXY = 'HAPROXY';
const DEFAULT_BINARY = 'haproxy';
const INSTALL_HINT = 'apt-get install haproxy';
/** Far above any run: a keep-alive connection is never closed by a timeout mid-suite. */
const IDLE_TIMEOUT = '60s';
/** The tag of a uniformResourceIdentifier in a SubjectAltName (GeneralName [6], IMPLICIT IA5String). */
const DER_SAN_URI_TAG = 0x86;
/** A short-form DER length: every SPIFFE ID here is far shorter. */
const DER_SHORT_LENGTH_MAX = 127;

export type Found = { readonly binary: string } | { readonly reason: string };

/** The binary $HAPROXY names, or the installed one; a reason to skip when there is none. */
export function findHaproxy(env: NodeJS.ProcessEnv = process.env): Found {
  const wanted = env[ENV_HAPROXY] || DEFAULT_BINARY;
  const binary = findExecutable(wanted);
  if (binary) return { binary };
  return env[ENV_HAPROXY] ? { reason: `${ENV_HAPROXY}=${wanted} is not an executable file` } : { reason: `haproxy is not installed (${INSTALL_HINT})` };
}

/** "HAProxy 2.6.12", from the first line of `haproxy -v` (the distribution's suffix left off). */
export function haproxyVersion(binary: string): string {
  const out = execFileSync(binary, ['-v'], { encoding: 'utf8', timeout: 5000 });
  const m = /HA-?Proxy version (\d+\.\d+(?:\.\d+)?)/i.exec(out);
  if (!m) throw new Error(`no version in ${binary} -v: ${JSON.stringify(out.split('\n')[0])}`);
  return `HAProxy ${m[1]}`;
}

/**
 * An ACL pattern matching a certificate that carries `uri` as a URI SAN: the DER bytes of that
 * GeneralName (tag, length, the URI), upper-case hex as HAProxy's hex converter writes them.
 * HAProxy 2.6 has no fetch for a certificate's SANs; the whole certificate's DER is the nearest.
 */
export function sanUriHexPattern(uri: string): string {
  const bytes = Buffer.from(uri, 'latin1');
  if (bytes.length > DER_SHORT_LENGTH_MAX) throw new Error(`URI SAN longer than ${DER_SHORT_LENGTH_MAX} bytes: ${uri}`);
  return Buffer.concat([Buffer.from([DER_SAN_URI_TAG, bytes.length]), bytes])
    .toString('hex')
    .toUpperCase();
}

export interface HaproxyL7Config {
  /** The frontend: TLS in, where clients connect. */
  readonly listen: Endpoint;
  /** The pod's TLS endpoint: TLS out. */
  readonly pod: Endpoint;
  /** PEM files: HAProxy's certificate chain with its key (what it presents both ways), the mesh root. */
  readonly certWithKeyFile: string;
  readonly rootFile: string;
  /** The SPIFFE ID the caller must present (the AuthorizationPolicy's principal, as a URI). */
  readonly allowedClient: string;
}

/** haproxy.cfg for the L7 hop: one thread, HTTP/1.1, the route and policy as ACLs, pooled TLS backend connections. */
export function haproxyConfig(c: HaproxyL7Config): string {
  const tls13 = 'ssl-min-ver TLSv1.3';
  return `# hbone-sim bench: HAProxy as the L7 peer of the waypoint (bench/peers/haproxy.ts)
global
  nbthread 1
  maxconn 4096
  # The backend's certificate is checked against the mesh root, as the frontend's client's is.
  ssl-server-verify required

defaults
  mode http
  option http-keep-alive
  timeout connect 5s
  timeout client ${IDLE_TIMEOUT}
  timeout server ${IDLE_TIMEOUT}
  timeout http-keep-alive ${IDLE_TIMEOUT}
  timeout http-request 10s
  # Idle backend connections are shared by every client connection, as the waypoint pools its upstreams.
  http-reuse always

frontend waypoint
  bind ${c.listen.host}:${c.listen.port} ssl crt ${c.certWithKeyFile} ca-file ${c.rootFile} verify required ${tls13} alpn http/1.1
  # The AuthorizationPolicy's principal: the client certificate's URI SAN.
  acl allowed_principal ssl_c_der,hex -m sub ${sanUriHexPattern(c.allowedClient)}
  # The HTTPRoute's PathPrefix (whole path segments, as Gateway API's) and its header match.
  acl route_path path ${ROUTE_PATH_PREFIX}
  acl route_path path_beg ${ROUTE_PATH_PREFIX}/
  acl route_header req.hdr(${ROUTE_HEADER.name}) -m str ${ROUTE_HEADER.value}
  # Authorization before routing, as the waypoint's RBAC filter runs before its router.
  http-request deny deny_status 403 unless allowed_principal
  http-request return status 404 unless route_path route_header
  default_backend http-echo

backend http-echo
  server pod ${c.pod.host}:${c.pod.port} ssl crt ${c.certWithKeyFile} ca-file ${c.rootFile} verify required ${tls13}
`;
}

/** Writes the config into `dir` and starts HAProxy in the foreground; resolves once its frontend accepts connections. */
export async function startHaproxy(binary: string, dir: string, config: HaproxyL7Config): Promise<PeerProcess> {
  const file = path.join(dir, 'haproxy.cfg');
  fs.writeFileSync(file, haproxyConfig(config));
  // -db: in the foreground, no daemon and no master process, so the pid is the one doing the work.
  return PeerProcess.start('haproxy', binary, ['-db', '-f', file], config.listen);
}
