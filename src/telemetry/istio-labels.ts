// What Istio's two metric families share: the source half of the label set, the value of a label
// nobody could fill, and principals written as full SPIFFE URIs. ztunnel (tcp-metrics.ts) and the
// waypoint's stats filter (request-metrics.ts) order their destination labels differently, so only
// the leading run is common.

/** Istio's value for any label it cannot fill. */
export const UNKNOWN = 'unknown';
const SPIFFE_PREFIX = 'spiffe://';

/** reporter and the source_* labels, first in both ztunnel's and the stats filter's order. */
export const SOURCE_LABEL_NAMES = [
  'reporter',
  'source_workload',
  'source_canonical_service',
  'source_canonical_revision',
  'source_workload_namespace',
  'source_principal',
  'source_app',
  'source_version',
  'source_cluster',
] as const;

/**
 * One value per name, in the names' order: what the input gives, or "unknown" where it gives
 * nothing or an empty string. Principals are then written in spiffe:// form, as Istio reports them.
 */
export function fillLabels<N extends string>(names: readonly N[], input: Partial<Record<N, string>>): Record<N, string> {
  const out = {} as Record<N, string>;
  for (const name of names) {
    const v = input[name];
    out[name] = v === undefined || v === '' ? UNKNOWN : v;
  }
  return out;
}

/** source_principal and destination_principal as full SPIFFE URIs, "unknown" left as it is. */
export function spiffePrincipals(labels: Record<'source_principal' | 'destination_principal', string>): void {
  for (const name of ['source_principal', 'destination_principal'] as const) {
    if (labels[name] !== UNKNOWN && !labels[name].startsWith(SPIFFE_PREFIX)) labels[name] = SPIFFE_PREFIX + labels[name];
  }
}
