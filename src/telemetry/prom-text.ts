// Reads Prometheus text exposition (format 0.0.4) back into samples, so tests can assert on
// what a /metrics or /stats/prometheus endpoint served.
import { errorMessage } from '../error-message';

export interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

const NAME_RE = /^[a-zA-Z_:][a-zA-Z0-9_:]*/;
const LABEL_NAME_RE = /^[a-zA-Z_][a-zA-Z0-9_]*/;
const SPECIAL_VALUES: Readonly<Record<string, number>> = { '+Inf': Infinity, Inf: Infinity, '-Inf': -Infinity, NaN: NaN };

export class PromTextError extends Error {
  override name = 'PromTextError';
}

/** Every sample in the text, in order. Comments (# HELP, # TYPE) and blank lines are skipped. */
export function parsePromText(text: string): Sample[] {
  const samples: Sample[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    try {
      samples.push(parseLine(line));
    } catch (e) {
      throw new PromTextError(`line ${i + 1}: ${errorMessage(e)}: ${JSON.stringify(raw)}`);
    }
  });
  return samples;
}

function parseLine(line: string): Sample {
  const nameMatch = NAME_RE.exec(line);
  if (!nameMatch) throw new Error('no metric name');
  const name = nameMatch[0];
  let pos = name.length;
  const labels: Record<string, string> = {};
  if (line[pos] === '{') {
    pos++;
    for (;;) {
      while (line[pos] === ' ') pos++;
      if (line[pos] === '}') {
        pos++;
        break;
      }
      const labelMatch = LABEL_NAME_RE.exec(line.slice(pos));
      if (!labelMatch) throw new Error(`bad label name at column ${pos + 1}`);
      pos += labelMatch[0].length;
      if (line[pos] !== '=' || line[pos + 1] !== '"') throw new Error(`expected ="..." after label ${labelMatch[0]}`);
      pos += 2;
      let value = '';
      // Label values escape backslash, double quote and newline.
      for (;;) {
        const ch = line[pos];
        if (ch === undefined) throw new Error('unterminated label value');
        pos++;
        if (ch === '"') break;
        if (ch !== '\\') {
          value += ch;
          continue;
        }
        const esc = line[pos++];
        value += esc === 'n' ? '\n' : esc === '\\' || esc === '"' ? esc : `\\${esc ?? ''}`;
      }
      labels[labelMatch[0]] = value;
      while (line[pos] === ' ') pos++;
      if (line[pos] === ',') pos++;
      else if (line[pos] !== '}') throw new Error(`expected , or } at column ${pos + 1}`);
    }
  }
  // The value, then an optional timestamp, which samples here do not keep.
  const [valueText] = line.slice(pos).trim().split(/\s+/);
  if (valueText === undefined || valueText === '') throw new Error('no value');
  const value = valueText in SPECIAL_VALUES ? SPECIAL_VALUES[valueText] : Number(valueText);
  if (Number.isNaN(value) && valueText !== 'NaN') throw new Error(`bad value ${JSON.stringify(valueText)}`);
  return { name, labels, value };
}

/** Samples called `name` whose labels include every label in `labels`. */
export function findSamples(samples: readonly Sample[], name: string, labels: Readonly<Record<string, string>> = {}): Sample[] {
  return samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
}

/** The sum of the matching samples' values (0 when none match): handy for counters split by label. */
export function sumSamples(samples: readonly Sample[], name: string, labels: Readonly<Record<string, string>> = {}): number {
  return findSamples(samples, name, labels).reduce((sum, s) => sum + s.value, 0);
}
