// One list entry of a scenario (a node, a pod, a service...) as read so far: the fields that
// were valid, plus where each field was written, so checks that span entries (duplicate IPs,
// unknown nodes) can still point at the right line.
import { Field, Fields, Site } from './yaml-fields';

/** A model object under construction: every field may still be missing or invalid. */
export type Draft<T> = { -readonly [K in keyof T]?: T[K] };

export interface Entry<T> {
  /** The entry itself, e.g. { path: 'workloads[2]', line: 14 }. */
  readonly site: Site;
  readonly value: Draft<T>;
  /** Where each field was written, by field path relative to the entry (e.g. 'run.port'). */
  readonly fields: ReadonlyMap<string, Site>;
  /** Every key was known, so absent optional fields really are absent (not misspelt). */
  readonly exact: boolean;
}

/** Where `field` of an entry was written, or the entry itself when the field is absent. */
export function siteOf(entry: Entry<unknown>, field: string): Site {
  return entry.fields.get(field) ?? { path: `${entry.site.path}.${field}`, line: entry.site.line };
}

/** The key under which an entry records where one of its labels was written. */
export function labelField(key: string): string {
  return `labels.${key}`;
}

/** A text check: the problem as a sentence, or undefined when fine. */
export type Check<V> = (value: V) => string | undefined;

/** Required fields say what belongs there, for the "missing" message; optional ones pass false. */
export type Need = string | false;

/** Reads the fields of one mapping, recording their sites for the entry. */
export class EntryReader {
  private readonly children: EntryReader[] = [];

  constructor(
    readonly fields: Fields,
    readonly sites: Map<string, Site> = new Map(),
    private readonly prefix = '',
  ) {}

  field(key: string, need: Need): Field | undefined {
    const f = need ? this.fields.required(key, need) : this.fields.optional(key);
    if (f) this.sites.set(this.prefix + key, f.site);
    return f;
  }

  text(key: string, need: Need, ...checks: Check<string>[]): string | undefined {
    const f = this.field(key, need);
    const s = f?.nonEmptyString();
    return s === undefined ? undefined : passes(f!, s, checks);
  }

  integer(key: string, need: Need, ...checks: Check<number>[]): number | undefined {
    const f = this.field(key, need);
    const n = f?.integer();
    return n === undefined ? undefined : passes(f!, n, checks);
  }

  /** A nested mapping whose field sites are recorded as `key.field`. */
  nested(key: string, need: Need, known: readonly string[] | null): EntryReader | undefined {
    const fields = this.field(key, need)?.map(known);
    if (!fields) return undefined;
    const child = new EntryReader(fields, this.sites, `${this.prefix}${key}.`);
    this.children.push(child);
    return child;
  }

  entry<T>(value: Draft<T>): Entry<T> {
    return { site: this.fields.site, value, fields: this.sites, exact: !this.hadUnknownKeys() };
  }

  private hadUnknownKeys(): boolean {
    return this.fields.hadUnknownKeys || this.children.some((c) => c.hadUnknownKeys());
  }
}

/** Runs checks in order; the first problem is reported at the field and the value dropped. */
function passes<V>(field: Field, value: V, checks: Check<V>[]): V | undefined {
  for (const check of checks) {
    const bad = check(value);
    if (bad) return field.problem(bad);
  }
  return value;
}
