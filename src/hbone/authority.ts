// Parsing a CONNECT :authority: "ip:port", "[v6]:port" or "host:port".
import { isIP } from 'node:net';

export interface Authority {
  readonly host: string; // without brackets for IPv6
  readonly port: number;
  /** 4 or 6 for an IP literal, 0 for a host name. */
  readonly ipVersion: 0 | 4 | 6;
}

const HOSTNAME_RE = /^(?=.{1,253}$)[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?(\.[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*$/;

export class AuthorityError extends Error {
  override name = 'AuthorityError';
}

export function parseAuthority(text: string | undefined): Authority {
  if (!text) throw new AuthorityError('missing :authority');
  let host: string;
  let portText: string;
  if (text.startsWith('[')) {
    const close = text.indexOf(']');
    if (close < 0 || text[close + 1] !== ':') throw new AuthorityError(`bad :authority ${JSON.stringify(text)}: expected [ipv6]:port`);
    host = text.slice(1, close);
    portText = text.slice(close + 2);
    if (isIP(host) !== 6) throw new AuthorityError(`bad :authority ${JSON.stringify(text)}: ${JSON.stringify(host)} is not an IPv6 address`);
  } else {
    const colon = text.lastIndexOf(':');
    if (colon < 0) throw new AuthorityError(`bad :authority ${JSON.stringify(text)}: no port`);
    host = text.slice(0, colon);
    portText = text.slice(colon + 1);
    if (host.includes(':')) throw new AuthorityError(`bad :authority ${JSON.stringify(text)}: IPv6 addresses need brackets`);
  }
  if (!/^[0-9]{1,5}$/.test(portText)) throw new AuthorityError(`bad :authority ${JSON.stringify(text)}: port ${JSON.stringify(portText)} is not a number`);
  const port = Number(portText);
  if (port < 1 || port > 65535) throw new AuthorityError(`bad :authority ${JSON.stringify(text)}: port ${port} is out of range`);
  const version = isIP(host);
  if (version === 0 && !HOSTNAME_RE.test(host))
    throw new AuthorityError(`bad :authority ${JSON.stringify(text)}: ${JSON.stringify(host)} is neither an IP address nor a host name`);
  return { host, port, ipVersion: version as 0 | 4 | 6 };
}

export function formatAuthority(host: string, port: number): string {
  return isIP(host) === 6 ? `[${host}]:${port}` : `${host}:${port}`;
}
