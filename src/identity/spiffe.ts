// SPIFFE identities as Istio writes them: spiffe://<trust domain>/ns/<namespace>/sa/<service account>.

export const SPIFFE_SCHEME = 'spiffe://';
export const DEFAULT_TRUST_DOMAIN = 'cluster.local';

// Trust domains are lower-case DNS-like names (SPIFFE ID spec, section 2.1).
const TRUST_DOMAIN_RE = /^[a-z0-9._-]+$/;
// Namespaces and service accounts are Kubernetes DNS-1123 labels/subdomains.
const K8S_NAME_RE = /^[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?$/;

export interface SpiffeId {
  readonly trustDomain: string;
  readonly namespace: string;
  readonly serviceAccount: string;
}

export class SpiffeIdError extends Error {
  override name = 'SpiffeIdError';
}

export function formatSpiffeId(id: SpiffeId): string {
  return `${SPIFFE_SCHEME}${id.trustDomain}/ns/${id.namespace}/sa/${id.serviceAccount}`;
}

/** The form AuthorizationPolicy principals use: the SPIFFE ID without its scheme. */
export function principalOf(id: SpiffeId): string {
  return `${id.trustDomain}/ns/${id.namespace}/sa/${id.serviceAccount}`;
}

export function makeSpiffeId(namespace: string, serviceAccount: string, trustDomain = DEFAULT_TRUST_DOMAIN): SpiffeId {
  return parseSpiffeId(formatSpiffeId({ trustDomain, namespace, serviceAccount }));
}

/** Parses and validates an Istio workload SPIFFE ID, or throws a SpiffeIdError saying what is wrong. */
export function parseSpiffeId(text: string): SpiffeId {
  const fail = (why: string): never => {
    throw new SpiffeIdError(`malformed SPIFFE ID ${JSON.stringify(text)}: ${why} (expected spiffe://<trust domain>/ns/<namespace>/sa/<service account>)`);
  };
  if (typeof text !== 'string' || !text.startsWith(SPIFFE_SCHEME)) fail(`it must start with ${SPIFFE_SCHEME}`);
  const parts = text.slice(SPIFFE_SCHEME.length).split('/');
  if (parts.length !== 5) fail(`it has ${parts.length - 1} path segments, Istio identities have 4`);
  const [trustDomain, nsKey, namespace, saKey, serviceAccount] = parts;
  if (!TRUST_DOMAIN_RE.test(trustDomain)) fail(`trust domain ${JSON.stringify(trustDomain)} is not a lower-case DNS name`);
  if (nsKey !== 'ns') fail(`second segment is ${JSON.stringify(nsKey)}, not "ns"`);
  if (saKey !== 'sa') fail(`fourth segment is ${JSON.stringify(saKey)}, not "sa"`);
  if (!K8S_NAME_RE.test(namespace)) fail(`namespace ${JSON.stringify(namespace)} is not a valid Kubernetes name`);
  if (!K8S_NAME_RE.test(serviceAccount)) fail(`service account ${JSON.stringify(serviceAccount)} is not a valid Kubernetes name`);
  return { trustDomain, namespace, serviceAccount };
}

/**
 * The URI SANs of a peer certificate as Node reports them in `subjectaltname`
 * ("URI:spiffe://..., DNS:..."). Node escapes SAN values that contain commas, so
 * a plain split is safe for the SPIFFE IDs we accept.
 */
export function uriSansOf(subjectaltname: string | undefined): string[] {
  if (!subjectaltname) return [];
  return subjectaltname
    .split(', ')
    .filter((entry) => entry.startsWith('URI:'))
    .map((entry) => entry.slice(4));
}

/** The single SPIFFE identity a mesh certificate carries, or an error naming what it carried instead. */
export function identityFromSubjectAltName(subjectaltname: string | undefined): SpiffeId {
  const uris = uriSansOf(subjectaltname);
  if (uris.length !== 1) {
    throw new SpiffeIdError(`peer certificate carries ${uris.length} URI SANs (${uris.join(', ') || 'none'}); a mesh identity has exactly one`);
  }
  return parseSpiffeId(uris[0]);
}
