// Matching primitives shared by ztunnel's L4 authorization and the waypoint's L7 RBAC:
// Istio's string wildcards, CIDR containment and label selectors.
import { BlockList, isIPv6 } from 'node:net';
import type { Labels } from '../../mesh/model';

/** Istio's wildcard: "*" alone means "present and non-empty". */
const WILDCARD = '*';
const IPV4_BITS = 32;
const IPV6_BITS = 128;
// Decimal without leading zeros; Go's netip (which Istio uses) refuses "010.0.0.1" as ambiguous.
const DECIMAL_RE = /^(0|[1-9][0-9]*)$/;
const IPV4_MAPPED_PREFIX = '::ffff:';

/**
 * Istio's string match for principals, namespaces, hosts and the like: "*" matches any
 * non-empty value, "*abc" is a suffix match, "abc*" a prefix match, anything else is exact.
 * An absent value (no peer identity, say) matches nothing, not even "*".
 */
export function matchString(pattern: string, value: string | undefined): boolean {
  if (value === undefined || value === '') return false;
  if (pattern === WILDCARD) return true;
  if (pattern.startsWith(WILDCARD)) return value.endsWith(pattern.slice(1));
  if (pattern.endsWith(WILDCARD)) return value.startsWith(pattern.slice(0, -1));
  return value === pattern;
}

/** True when any pattern matches: Istio ORs the values inside one field. */
export function matchAny(patterns: readonly string[], value: string | undefined): boolean {
  return patterns.some((p) => matchString(p, value));
}

export class CidrError extends Error {
  override name = 'CidrError';
}

/** A parsed ipBlocks entry. A plain address is a /32 (or /128) block. */
export interface Cidr {
  readonly text: string;
  readonly family: 4 | 6;
  readonly prefixLength: number;
  /** IPv4 only: the network address as an unsigned 32-bit number, host bits cleared. */
  readonly network?: number;
  /** IPv6 only: node's own matcher, so IPv6 needs no hand-written parser. */
  readonly ipv6?: BlockList;
}

/** Parses a dotted-quad IPv4 address strictly, or returns undefined. */
export function parseIpv4(text: string): number | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  let value = 0;
  for (const part of parts) {
    if (!DECIMAL_RE.test(part)) return undefined;
    const octet = Number(part);
    if (octet > 255) return undefined;
    value = value * 256 + octet;
  }
  return value;
}

function maskOf(prefixLength: number): number {
  // `>>> 0` keeps the result unsigned; a shift by 32 would be a no-op in JS, hence the special case.
  return prefixLength === 0 ? 0 : (0xffffffff << (IPV4_BITS - prefixLength)) >>> 0;
}

/**
 * Parses "10.4.0.0/16", "10.4.0.5" or an IPv6 form, or throws a CidrError saying what is wrong.
 * Host bits under the mask are allowed and ignored ("10.4.0.5/16" is 10.4.0.0/16), as in Go's netip.
 */
export function parseCidr(text: string): Cidr {
  if (typeof text !== 'string' || text.trim() !== text || text === '') {
    throw new CidrError(`${JSON.stringify(text)} is not an IP address or CIDR`);
  }
  const slash = text.indexOf('/');
  const address = slash === -1 ? text : text.slice(0, slash);
  const lengthText = slash === -1 ? undefined : text.slice(slash + 1);

  const v4 = parseIpv4(address);
  if (v4 !== undefined) {
    const prefixLength = parsePrefixLength(text, lengthText, IPV4_BITS);
    return { text, family: 4, prefixLength, network: (v4 & maskOf(prefixLength)) >>> 0 };
  }
  if (isIPv6(address)) {
    const prefixLength = parsePrefixLength(text, lengthText, IPV6_BITS);
    const ipv6 = new BlockList();
    ipv6.addSubnet(address, prefixLength, 'ipv6');
    return { text, family: 6, prefixLength, ipv6 };
  }
  throw new CidrError(`${JSON.stringify(text)} is not an IP address or CIDR (address part ${JSON.stringify(address)} is not a valid IPv4 or IPv6 address)`);
}

function parsePrefixLength(text: string, lengthText: string | undefined, bits: number): number {
  if (lengthText === undefined) return bits;
  if (!DECIMAL_RE.test(lengthText) || Number(lengthText) > bits) {
    throw new CidrError(`${JSON.stringify(text)} is not a valid CIDR (prefix length must be 0-${bits})`);
  }
  return Number(lengthText);
}

/** Whether `ip` lies inside `cidr`. Unparseable addresses are outside every block. */
export function cidrContains(cidr: Cidr | string, ip: string | undefined): boolean {
  if (ip === undefined) return false;
  const block = typeof cidr === 'string' ? parseCidr(cidr) : cidr;
  // Node reports IPv4 peers on dual-stack sockets as ::ffff:a.b.c.d.
  const address = ip.startsWith(IPV4_MAPPED_PREFIX) && parseIpv4(ip.slice(IPV4_MAPPED_PREFIX.length)) !== undefined ? ip.slice(IPV4_MAPPED_PREFIX.length) : ip;
  if (block.family === 4) {
    const v4 = parseIpv4(address);
    return v4 !== undefined && (v4 & maskOf(block.prefixLength)) >>> 0 === block.network;
  }
  return isIPv6(address) && block.ipv6!.check(address, 'ipv6');
}

/**
 * Kubernetes matchLabels: every listed label must be present with the same value. An empty
 * selector selects everything (unlike Service selectors, which select nothing when empty).
 */
export function labelsMatch(matchLabels: Labels, labels: Labels): boolean {
  return Object.keys(matchLabels).every((k) => Object.prototype.hasOwnProperty.call(labels, k) && labels[k] === matchLabels[k]);
}
