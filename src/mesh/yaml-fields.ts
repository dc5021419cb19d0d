// A typed cursor over a parsed YAML document that knows the line and field path of every
// node. Readers ask for "a string", "an integer", "a mapping with these fields"; a mismatch
// is recorded as a problem at that node's line and the reader gets `undefined`, so reading
// goes on and every problem in the file is found in one pass.
import { Alias, LineCounter, isAlias, isMap, isScalar, isSeq } from 'yaml';
import type { Node as YamlNode, Pair } from 'yaml';
import { ScenarioProblem } from './scenario-error';

/** Where something is in the file: its field path and line. */
export interface Site {
  readonly path: string;
  readonly line: number;
}

// Path segments that read fine after a dot; anything else (label keys such as
// istio.io/use-waypoint) is written ["..."].
const PLAIN_KEY_RE = /^[A-Za-z_][A-Za-z0-9_-]*$/;
// Beyond this edit distance a "did you mean" guess is more confusing than helpful.
const MAX_SUGGESTION_DISTANCE = 2;
// Longer messages quote a value the file holds (a 200 KB name); they keep both ends.
const MAX_MESSAGE_CHARS = 400;
// One step of a JavaScript-style path: .key or [index].
const PATH_SEGMENT_RE = /([^.[\]]+)|\[(\d+)\]/g;

/** A message quoting a 200 KB value is cut to its start and end, saying how much was left out. */
function shortened(message: string): string {
  if (message.length <= MAX_MESSAGE_CHARS) return message;
  const keep = MAX_MESSAGE_CHARS / 2;
  return `${message.slice(0, keep)}… (${message.length - 2 * keep} characters left out) …${message.slice(-keep)}`;
}

export function childPath(parent: string, key: string): string {
  const segment = PLAIN_KEY_RE.test(key) ? key : `[${JSON.stringify(key)}]`;
  if (!parent) return segment;
  return segment.startsWith('[') ? `${parent}${segment}` : `${parent}.${segment}`;
}

/** Collects problems for one file. */
export class Problems {
  private readonly found: ScenarioProblem[] = [];

  constructor(readonly file: string) {}

  add(site: { readonly path: string; readonly line?: number }, message: string): undefined {
    this.found.push({ file: this.file, line: site.line, path: site.path, message: shortened(message) });
    return undefined;
  }

  get list(): readonly ScenarioProblem[] {
    return this.found;
  }
}

/** What a reader needs to turn offsets into lines and aliases into their targets. */
export interface Source {
  readonly lines: LineCounter;
  /** Each alias's node, resolved once by parseYaml (the library's resolve() walks the whole document). */
  readonly aliases: ReadonlyMap<Alias, YamlNode>;
  readonly problems: Problems;
}

/** The node an alias stands for; any other node is itself. */
function resolved(source: Source, node: YamlNode | null): YamlNode | null {
  return node && isAlias(node) ? (source.aliases.get(node) ?? null) : node;
}

export function lineOf(source: Source, node: YamlNode | null | undefined, fallback: number): number {
  const offset = node?.range?.[0];
  return offset === undefined ? fallback : source.lines.linePos(offset).line;
}

/** One value in the file (possibly empty), with its path and line. */
export class Field {
  readonly node: YamlNode | null;

  constructor(
    private readonly source: Source,
    node: YamlNode | null,
    readonly path: string,
    readonly line: number,
  ) {
    // An alias (*name) stands for its anchor's value; report at the alias's own line.
    this.node = resolved(source, node);
  }

  get site(): Site {
    return { path: this.path, line: this.line };
  }

  problem(message: string): undefined {
    return this.source.problems.add(this.site, message);
  }

  /** A short description of what is here, for "must be X, not Y" messages. */
  describe(): string {
    const n = this.node;
    if (n === null || (isScalar(n) && n.value === null)) return 'empty';
    if (isMap(n)) return 'a mapping';
    if (isSeq(n)) return 'a list';
    if (isScalar(n)) {
      const v = n.value;
      if (typeof v === 'string') return `the string ${JSON.stringify(v)}`;
      if (typeof v === 'number' || typeof v === 'bigint') return `the number ${String(v)}`;
      if (typeof v === 'boolean') return `${String(v)}`;
    }
    return 'something else';
  }

  private wrongType(expected: string, hint = ''): undefined {
    return this.problem(`must be ${expected}, not ${this.describe()}${hint}`);
  }

  /** `quoteHint`: suggest quoting a number or boolean (label values such as version: 1). */
  string(quoteHint = false): string | undefined {
    const n = this.node;
    if (isScalar(n) && typeof n.value === 'string') return n.value;
    const quotable = quoteHint && isScalar(n) && (typeof n.value === 'number' || typeof n.value === 'boolean');
    return this.wrongType('a string', quotable ? ` (quote it: "${n.source ?? String(n.value)}")` : '');
  }

  nonEmptyString(): string | undefined {
    const s = this.string();
    if (s === '') return this.problem('must not be empty');
    return s;
  }

  integer(): number | undefined {
    const n = this.node;
    if (isScalar(n) && typeof n.value === 'number' && Number.isInteger(n.value)) return n.value;
    return this.wrongType('an integer');
  }

  boolean(): boolean | undefined {
    const n = this.node;
    if (isScalar(n) && typeof n.value === 'boolean') return n.value;
    return this.wrongType('true or false');
  }

  /** The items of a list, each with its path (`parent[i]`) and line. */
  list(): Field[] | undefined {
    const n = this.node;
    if (!isSeq(n)) return this.wrongType('a list');
    return n.items.map((item, i) => {
      const node = item as YamlNode | null;
      return new Field(this.source, node, `${this.path}[${i}]`, lineOf(this.source, node, this.line));
    });
  }

  /**
   * A mapping whose keys must be among `known` (pass `null` to accept any key). Unknown keys
   * are reported at their own line, with a guess when one is close.
   */
  map(known: readonly string[] | null): Fields | undefined {
    const n = this.node;
    if (!isMap(n)) return this.wrongType('a mapping');
    const entries = new Map<string, Field>();
    for (const pair of n.items as Pair<unknown, unknown>[]) {
      const keyNode = pair.key as YamlNode | null;
      const keyLine = lineOf(this.source, keyNode, this.line);
      if (!isScalar(keyNode) || keyNode.value === null || typeof keyNode.value === 'object') {
        this.source.problems.add({ path: this.path, line: keyLine }, 'field names must be plain words');
        continue;
      }
      const key = String(keyNode.value);
      const path = childPath(this.path, key);
      if (known && !known.includes(key)) {
        this.source.problems.add({ path, line: keyLine }, unknownFieldMessage(key, known));
        continue;
      }
      const valueNode = pair.value as YamlNode | null;
      entries.set(key, new Field(this.source, valueNode, path, lineOf(this.source, valueNode, keyLine)));
    }
    return new Fields(this.source, this.path, this.line, entries, entries.size < n.items.length);
  }

  /**
   * A problem at a path below this field written the way JavaScript code names it
   * (spec.rules[0].from[0]), reported at the line of the deepest node the path reaches.
   */
  problemAt(subPath: string, message: string): undefined {
    let node = this.node;
    let line = this.line;
    for (const [, key, index] of subPath.matchAll(PATH_SEGMENT_RE)) {
      const next = index !== undefined ? (isSeq(node) ? node.items[Number(index)] : undefined) : isMap(node) ? node.get(key, true) : undefined;
      if (next === undefined || next === null) break;
      node = resolved(this.source, next as YamlNode);
      line = lineOf(this.source, next as YamlNode, line);
    }
    const path = subPath.startsWith('(') ? this.path : subPath.startsWith('[') || !this.path ? this.path + subPath : `${this.path}.${subPath}`;
    return this.source.problems.add({ path, line }, message);
  }

  /**
   * The field at a path below this one written the way JavaScript code names it
   * (spec.rules[0].backendRefs[1].port), or undefined when the file has nothing there.
   */
  find(subPath: string): Field | undefined {
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- the walk starts here and moves down
    let field: Field = this;
    for (const [, key, index] of subPath.matchAll(PATH_SEGMENT_RE)) {
      const node = field.node;
      const next = index !== undefined ? (isSeq(node) ? node.items[Number(index)] : undefined) : isMap(node) ? node.get(key, true) : undefined;
      if (next === undefined || next === null) return undefined;
      const path = index !== undefined ? `${field.path}[${index}]` : childPath(field.path, key);
      field = new Field(this.source, next as YamlNode, path, lineOf(this.source, next as YamlNode, field.line));
    }
    return field;
  }

  /**
   * The plain JavaScript value, for documents kept verbatim (policy specs). Not the library's
   * toJS(): that resolves each alias by walking the whole document again; parseYaml has
   * bounded what aliases expand to, so copying them here is bounded too.
   */
  plain(): unknown {
    return plainValue(this.source, this.node);
  }
}

/** The fields of one mapping. */
export class Fields {
  constructor(
    private readonly source: Source,
    readonly path: string,
    readonly line: number,
    private readonly fields: ReadonlyMap<string, Field>,
    /** Some key was unknown (or not a word): the mapping may lack what its author meant. */
    readonly hadUnknownKeys = false,
  ) {}

  get site(): Site {
    return { path: this.path, line: this.line };
  }

  /** A problem with the mapping as a whole, at its first line. */
  problem(message: string): undefined {
    return this.source.problems.add(this.site, message);
  }

  has(key: string): boolean {
    return this.fields.has(key);
  }

  entries(): IterableIterator<[string, Field]> {
    return this.fields.entries();
  }

  optional(key: string): Field | undefined {
    return this.fields.get(key);
  }

  /** The field, or a "missing" problem at the mapping's line. */
  required(key: string, what: string): Field | undefined {
    const f = this.fields.get(key);
    if (!f) this.source.problems.add({ path: childPath(this.path, key), line: this.line }, `missing (${what})`);
    return f;
  }
}

function unknownFieldMessage(key: string, known: readonly string[]): string {
  const guess = closest(key, known);
  return guess ? `unknown field; did you mean ${guess}?` : `unknown field (known fields: ${known.join(', ')})`;
}

function closest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = MAX_SUGGESTION_DISTANCE + 1;
  for (const c of candidates) {
    const d = editDistance(word.toLowerCase(), c.toLowerCase());
    if (d < bestDistance) [best, bestDistance] = [c, d];
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min(prev[j] + 1, row[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = row;
  }
  return prev[b.length];
}

/** As the library's toJS() (mapAsMap off): scalars, arrays, objects with string keys. */
function plainValue(source: Source, at: YamlNode | null): unknown {
  const node = resolved(source, at);
  if (node === null) return null;
  if (isScalar(node)) return node.value;
  if (isSeq(node)) return node.items.map((item) => plainValue(source, item as YamlNode | null));
  if (isMap(node)) {
    const out: Record<string, unknown> = {};
    for (const pair of node.items as Pair<unknown, unknown>[]) {
      const key = plainValue(source, pair.key as YamlNode | null);
      const name = key === null ? '' : typeof key === 'object' ? JSON.stringify(key) : String(key);
      // defineProperty: a key named __proto__ is data, not the object's prototype.
      Object.defineProperty(out, name, { value: plainValue(source, pair.value as YamlNode | null), enumerable: true, writable: true, configurable: true });
    }
    return out;
  }
  return null;
}
