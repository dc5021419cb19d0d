// ClusterIP allocation, as the API server's service IP allocator does it: a free address of the
// cluster's service range for each Service that names none. The range is that of the mesh's
// existing VIPs (a scenario's 10.8.x.y), else kind's 10.96.0.0/16. The pick is a hash of the
// Service's namespace/name, so the same manifests give the same VIPs run after run, yet they
// scatter over the range as a real cluster's do.
import { createHash } from 'node:crypto';
import type { Scenario } from './model';
import { usedAddresses } from './pod-placement';

/** kind's service network (--service-cluster-ip-range=10.96.0.0/16 there). */
export const DEFAULT_SERVICE_RANGE = '10.96';
const HOSTS_PER_RANGE = 256 * 256;

export class RangeFull extends Error {
  override name = 'RangeFull';
}

/** The /16 Services are given addresses in: that of the mesh's first VIP, else kind's. */
export function serviceRange(s: Pick<Scenario, 'services'>): string {
  const first = s.services[0]?.vip;
  return first ? first.split('.').slice(0, 2).join('.') : DEFAULT_SERVICE_RANGE;
}

export function allocateClusterIp(s: Scenario, namespace: string, name: string): string {
  const range = serviceRange(s);
  const used = usedAddresses(s);
  const start = createHash('sha256').update(`${namespace}/${name}`).digest().readUInt16BE(0);
  for (let i = 0; i < HOSTS_PER_RANGE; i++) {
    const n = (start + i) % HOSTS_PER_RANGE;
    const [c, d] = [n >> 8, n & 0xff];
    // .0 and .255 of each /24 are left alone: a learner reads them as network and broadcast.
    if (d === 0 || d === 255) continue;
    const ip = `${range}.${c}.${d}`;
    if (!used.has(ip)) return ip;
  }
  throw new RangeFull(`the service range ${range}.0.0/16 has no free address for service ${namespace}/${name}`);
}

/** A clusterIP a Service asks for: free, or its own already. */
export function clusterIpTaken(s: Scenario, ip: string, namespace: string, name: string): boolean {
  const own = s.services.find((v) => v.namespace === namespace && v.name === name)?.vip;
  return ip !== own && usedAddresses(s).has(ip);
}
