// Address syntax for scenario files: cluster addresses, host addresses, host:port and URLs.
// Pure text checks; nothing here touches the network or resolves a name. Each check returns
// the problem as a sentence, or undefined when the text is fine.
import { hostAddress } from './model';

/** Cluster addresses live in 10.0.0.0/8 and are served at 127.x.y.z (DESIGN.md section 2). */
export const CLUSTER_PREFIX = '10.';
export const CLUSTER_RANGE = '10.0.0.0/8';

/**
 * Host addresses this machine already uses: a cluster address served there would collide
 * (localhost; systemd-resolved's stub listeners), or is the range's network/broadcast.
 */
const TAKEN_HOST_ADDRESSES: ReadonlyMap<string, string> = new Map([
  ['127.0.0.0', 'the network address of 127.0.0.0/8'],
  ['127.0.0.1', 'localhost'],
  ['127.0.0.53', "systemd-resolved's DNS stub"],
  ['127.0.0.54', "systemd-resolved's DNS proxy stub"],
  ['127.255.255.255', 'the broadcast address of 127.0.0.0/8'],
]);

const MAX_PORT = 65535;
// DNS names as Kubernetes writes them: lower-case labels joined by dots.
const HOSTNAME_RE = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/;
const DECIMAL_OCTET_RE = /^(0|[1-9][0-9]{0,2})$/;
const PORT_RE = /^[0-9]{1,5}$/;

export interface HostPort {
  readonly host: string;
  readonly port: number;
}

/** Dotted-quad IPv4 with no leading zeros (010 would mean octal to some tools). */
export function isIpv4(text: string): boolean {
  const parts = text.split('.');
  return parts.length === 4 && parts.every((p) => DECIMAL_OCTET_RE.test(p) && Number(p) <= 255);
}

export function portProblem(port: number): string | undefined {
  return port >= 1 && port <= MAX_PORT ? undefined : `${port} is not a port number (1-${MAX_PORT})`;
}

/** A pod, node or service address: IPv4 in 10.0.0.0/8 whose 127.x twin is free. */
export function clusterAddressProblem(ip: string): string | undefined {
  if (!isIpv4(ip)) return `${JSON.stringify(ip)} is not an IPv4 address`;
  if (!ip.startsWith(CLUSTER_PREFIX)) {
    return `${ip} is not a cluster address: cluster addresses are in ${CLUSTER_RANGE} (served on 127.x.y.z)`;
  }
  const host = hostAddress(ip);
  const taken = TAKEN_HOST_ADDRESSES.get(host);
  if (taken) return `${ip} would be served on ${host}, which is ${taken}; pick another address`;
  return undefined;
}

/** An address this machine listens on: loopback 127.0.0.0/8, not one the system already uses. */
export function hostAddressProblem(ip: string): string | undefined {
  if (!isIpv4(ip)) return `${JSON.stringify(ip)} is not an IPv4 address`;
  if (ip.startsWith(CLUSTER_PREFIX)) return `${ip} is a cluster address; listen on a host address such as 127.0.0.1`;
  if (!ip.startsWith('127.')) return `${ip} is not a loopback address (127.0.0.0/8)`;
  if (ip !== '127.0.0.1' && TAKEN_HOST_ADDRESSES.has(ip)) return `${ip} is ${TAKEN_HOST_ADDRESSES.get(ip)}`;
  return undefined;
}

export function hostProblem(host: string): string | undefined {
  if (isIpv4(host) || HOSTNAME_RE.test(host)) return undefined;
  return `${JSON.stringify(host)} is neither an IPv4 address nor a DNS name`;
}

/** host:port, where host is a DNS name (productpage, details.default.svc.cluster.local) or IPv4. */
export function parseHostPort(text: string): HostPort | string {
  const colon = text.lastIndexOf(':');
  if (colon <= 0) return `${JSON.stringify(text)} is not host:port`;
  const host = text.slice(0, colon);
  const portText = text.slice(colon + 1);
  if (!PORT_RE.test(portText)) return `${JSON.stringify(text)} is not host:port (port ${JSON.stringify(portText)} is not a number)`;
  const port = Number(portText);
  const bad = hostProblem(host) ?? portProblem(port);
  return bad ? `${JSON.stringify(text)} is not host:port: ${bad}` : { host, port };
}

/** An http:// URL with a host (name or IPv4) and optional port; returns its host:port. */
export function parseHttpUrl(text: string): HostPort | string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return `${JSON.stringify(text)} is not a URL`;
  }
  if (url.protocol !== 'http:') return `${JSON.stringify(text)} is not an http:// URL (apps in the mesh speak plain HTTP; the mesh adds mTLS)`;
  if (url.username || url.password) return `${JSON.stringify(text)} carries credentials; leave them out`;
  const bad = hostProblem(url.hostname);
  if (bad) return `${JSON.stringify(text)}: ${bad}`;
  return { host: url.hostname, port: url.port ? Number(url.port) : 80 };
}
