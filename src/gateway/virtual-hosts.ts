// Which HTTPRoutes serve a request at an ingress gateway's listener, as Istio turns them into
// Envoy virtual hosts: a route attaches to the listener when its parentRef names the Gateway
// (and the listener by sectionName or port, if it says so) from a namespace the listener allows;
// its hostnames, narrowed by the listener's hostname, are its virtual hosts ("*" when it names
// none). A request's Host picks the most specific virtual host that matches it (an exact name,
// then the longest wildcard, then "*"), and only that host's routes are tried, as in Envoy.
import type { GatewayDoc, HttpRouteDoc } from '../mesh/model';
import type { GatewayListener } from '../mesh/ingress-gateway';
import { attachesTo } from '../policy/httproute';

/** The virtual host of routes that name no hostname. */
export const ANY_HOST = '*';

export interface VirtualHost {
  /** Envoy's name for it: <hostname>:<port>. */
  readonly name: string;
  readonly domain: string;
  readonly routes: readonly HttpRouteDoc[];
}

/** The routes of a Gateway listener, grouped into virtual hosts. */
export function virtualHosts(gateway: GatewayDoc, listener: GatewayListener, routes: readonly HttpRouteDoc[]): VirtualHost[] {
  const parent = { kind: 'Gateway' as const, name: gateway.metadata.name, namespace: gateway.metadata.namespace, port: listener.port, portName: listener.name };
  const byDomain = new Map<string, HttpRouteDoc[]>();
  for (const doc of routes) {
    if (listener.routesFrom === 'Same' && doc.metadata.namespace !== gateway.metadata.namespace) continue;
    if (!attachesTo(doc, parent)) continue;
    for (const domain of domainsOf(doc, listener)) {
      const list = byDomain.get(domain) ?? [];
      list.push(doc);
      byDomain.set(domain, list);
    }
  }
  return [...byDomain].map(([domain, list]) => ({ name: `${domain}:${listener.port}`, domain, routes: list }));
}

/** The virtual host a request for `host` (its Host header) goes to, if any. */
export function pickVirtualHost(hosts: readonly VirtualHost[], host: string | undefined): VirtualHost | undefined {
  const name = stripPort(host ?? '').toLowerCase();
  let best: VirtualHost | undefined;
  for (const v of hosts) {
    if (v.domain === name) return v;
    if (!hostMatches(v.domain, name)) continue;
    if (!best || specificity(v.domain) > specificity(best.domain)) best = v;
  }
  return best;
}

/** A route's hostnames where they meet the listener's: none at all means it is not served here. */
function domainsOf(doc: HttpRouteDoc, listener: GatewayListener): string[] {
  const written = ((doc.spec as { hostnames?: readonly string[] }).hostnames ?? []).map((h) => h.toLowerCase());
  const own = listener.hostname?.toLowerCase();
  if (written.length === 0) return [own ?? ANY_HOST];
  if (!own) return written;
  const out: string[] = [];
  for (const h of written) {
    if (hostMatches(own, h) || h === own) out.push(h);
    else if (hostMatches(h, own)) out.push(own);
  }
  return [...new Set(out)];
}

/** Whether `pattern` (a name, *.suffix or *) covers `name`. */
export function hostMatches(pattern: string, name: string): boolean {
  if (pattern === ANY_HOST) return true;
  if (pattern.startsWith('*.')) return name.endsWith(pattern.slice(1)) && name.length > pattern.length - 1;
  return pattern === name;
}

function specificity(domain: string): number {
  return domain === ANY_HOST ? 0 : domain.length;
}

function stripPort(host: string): string {
  if (host.startsWith('[')) return host.slice(0, host.indexOf(']') + 1);
  const colon = host.lastIndexOf(':');
  return colon >= 0 && /^\d+$/.test(host.slice(colon + 1)) ? host.slice(0, colon) : host;
}
