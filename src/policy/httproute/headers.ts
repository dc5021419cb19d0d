// The RequestHeaderModifier filter, applied to a request's headers before the waypoint sends
// it on. Order inside one filter: remove, then set, then add (Envoy removes before it adds);
// since a filter may act on a header name only once, the order only matters across filters.

/** Request headers as Node gives them: lower-case names, repeated headers as lists. */
export type RequestHeaders = Readonly<Record<string, string | readonly string[] | undefined>>;

export interface HeaderPair {
  /** Lower case. */
  readonly name: string;
  readonly value: string;
}

/** One compiled RequestHeaderModifier; names are lower case (HTTP header names are case-insensitive). */
export interface HeaderModifier {
  readonly set: readonly HeaderPair[];
  readonly add: readonly HeaderPair[];
  readonly remove: readonly string[];
}

/** Repeated values are joined with a comma, as the Gateway API writes them (RFC 9110 list syntax). */
const VALUE_SEPARATOR = ',';

/**
 * A new header map with the modifier applied; the input is not changed. `add` appends to an
 * existing value ("foo" + add "bar" gives "foo,bar"); `set` replaces it.
 */
export function applyHeaderModifier(headers: RequestHeaders, modifier: HeaderModifier): Record<string, string> {
  const out = flatten(headers);
  for (const name of modifier.remove) delete out[name];
  for (const { name, value } of modifier.set) out[name] = value;
  for (const { name, value } of modifier.add) {
    out[name] = Object.hasOwn(out, name) ? `${out[name]}${VALUE_SEPARATOR}${value}` : value;
  }
  return out;
}

/** Every modifier in order: the rule's filters, then the chosen backend's. */
export function applyHeaderModifiers(headers: RequestHeaders, modifiers: readonly HeaderModifier[]): Record<string, string> {
  return modifiers.reduce<Record<string, string>>((h, m) => applyHeaderModifier(h, m), flatten(headers));
}

/** A header's value as matching sees it: a repeated header's values joined, undefined when absent. */
export function joinedHeaderValue(headers: RequestHeaders, name: string): string | undefined {
  if (!Object.hasOwn(headers, name)) return undefined;
  const v = headers[name];
  if (v === undefined) return undefined;
  return typeof v === 'string' ? v : v.join(VALUE_SEPARATOR);
}

// A prototype-free object, so header names such as "constructor" or "__proto__" stay plain keys.
function flatten(headers: RequestHeaders): Record<string, string> {
  const out: Record<string, string> = Object.create(null) as Record<string, string>;
  for (const name of Object.keys(headers)) {
    const v = joinedHeaderValue(headers, name);
    if (v !== undefined) out[name.toLowerCase()] = v;
  }
  return out;
}
