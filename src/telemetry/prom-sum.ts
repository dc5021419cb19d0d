// One /metrics page from several: a proxy with worker threads keeps a registry in each worker
// (each counts what it served), and its primary sums them at scrape, as Envoy sums its workers'
// stats into one server-wide figure. Counters, histogram buckets, sums and counts all add up;
// a series one worker has not seen yet counts as 0 there.
import { parsePromText } from './prom-text';

/** A metric family's lines: its # HELP and # TYPE, then each series' value by its name and labels. */
interface Family {
  readonly comments: string[];
  readonly series: Map<string, number>;
}

/**
 * Sums Prometheus text pages (format 0.0.4, as prom-client writes them) series by series. A
 * series is its name and label block exactly as written: every page comes from the same code,
 * so one series is spelled the same on each. Families keep the order they first appeared in.
 */
export function sumPromTexts(texts: readonly string[]): string {
  const families = new Map<string, Family>();
  const familyOf = (name: string): Family => {
    let f = families.get(name);
    if (!f) families.set(name, (f = { comments: [], series: new Map() }));
    return f;
  };
  for (const text of texts) {
    let current: Family | undefined;
    for (const raw of text.split('\n')) {
      const line = raw.trim();
      if (line === '') continue;
      if (line.startsWith('#')) {
        // "# HELP name …" and "# TYPE name …" open a family; another comment is kept once.
        const [, keyword, name] = line.split(/\s+/, 3);
        current = keyword === 'HELP' || keyword === 'TYPE' ? familyOf(name) : current;
        if (current && !current.comments.includes(line)) current.comments.push(line);
        continue;
      }
      const space = line.lastIndexOf(' ');
      const key = line.slice(0, space);
      const value = Number(line.slice(space + 1));
      const family = current ?? familyOf(key.replace(/\{.*$/, ''));
      family.series.set(key, (family.series.get(key) ?? 0) + value);
    }
  }
  const out: string[] = [];
  for (const f of families.values()) {
    out.push(...f.comments);
    for (const [key, value] of f.series) out.push(`${key} ${formatValue(value)}`);
    out.push('');
  }
  return out.join('\n');
}

/** Each counter family (`…_total`) of a page summed over its series: what one worker counted. */
export function counterTotals(text: string): Record<string, number> {
  const totals: Record<string, number> = {};
  for (const s of parsePromText(text)) if (s.name.endsWith('_total')) totals[s.name] = (totals[s.name] ?? 0) + s.value;
  return totals;
}

function formatValue(v: number): string {
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}
