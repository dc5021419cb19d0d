// Parsing a scenario's YAML with every cost bounded before it is paid. The yaml library
// parses whatever it is given: a file of half a million list items takes 550 MB, a mapping
// of 50,000 keys takes 35 s (its duplicate-key check compares every pair), nesting past
// ~1,000 levels overflows its recursive composer, and aliases can expand a 1 KB file to
// millions of values (an alias bomb) or into a cycle. So: count the nodes in a lexer pass
// that keeps nothing, measure the nesting on the syntax tree (built without recursion) before
// composing it, check duplicate keys with a set, and resolve every alias once, measuring what
// it expands to. Readers then follow aliases through the map built here.
import { Alias, CST, Composer, Document, Lexer, LineCounter, Parser, isAlias, isMap, isPair, isScalar, isSeq } from 'yaml';
import type { Node as YamlNode } from 'yaml';
import { MAX_YAML_DEPTH, MAX_YAML_NODES } from './limits';

/** A problem found while parsing, at an offset in the text. */
export interface YamlProblem {
  readonly offset: number;
  readonly message: string;
}

export interface ParsedYaml {
  /** The first document (a scenario has only one). */
  readonly doc: Document;
  /** Every document of a multi-document text (`---`), when asked for (manifests). */
  readonly docs: readonly Document[];
  readonly lines: LineCounter;
  /** Every alias of the document and the node it stands for. */
  readonly aliases: ReadonlyMap<Alias, YamlNode>;
}

export type YamlResult =
  { readonly ok: true; readonly parsed: ParsedYaml } | { readonly ok: false; readonly lines: LineCounter; readonly problems: YamlProblem[] };

// Lexer tokens that start a node: '\x1f' announces a plain or block scalar; an item
// indicator with nothing after it is an empty (null) node.
const NODE_TOKENS: ReadonlySet<string> = new Set([
  'scalar',
  'single-quoted-scalar',
  'double-quoted-scalar',
  'alias',
  'flow-map-start',
  'flow-seq-start',
  'seq-item-ind',
]);
const COLLECTIONS: ReadonlySet<string> = new Set(['block-map', 'block-seq', 'flow-collection']);
// Lexer control characters that are not in the source text (they take no offset).
const CONTROL_TOKENS: ReadonlySet<string> = new Set(['\x02', '\x18', '\x1f']);

/** `multiDocument`: a stream of documents separated by `---`, as kubectl apply reads them. */
export function parseYaml(text: string, options: { readonly multiDocument?: boolean } = {}): YamlResult {
  const lines = new LineCounter();
  const fail = (problems: YamlProblem[]): YamlResult => {
    // Refused before the parser ran: count the lines here, for the problems' line numbers.
    if (lines.lineStarts.length === 0) {
      lines.addNewLine(0);
      for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) lines.addNewLine(i + 1);
    }
    return { ok: false, lines, problems };
  };
  const crowded = nodeCountProblem(text);
  if (crowded) return fail([crowded]);

  const cst = Array.from(new Parser(lines.addNewLine).parse(text));
  const deep = depthProblem(cst);
  if (deep) return fail([deep]);

  // uniqueKeys: false: the library's check is quadratic; checkDocument does it with a set.
  const docs: Document[] = [];
  const problems: YamlProblem[] = [];
  for (const d of new Composer({ uniqueKeys: false }).compose(cst, true, text.length)) {
    if (docs.length > 0 && !options.multiDocument) {
      problems.push({ offset: d.range[0], message: 'YAML syntax: the file holds more than one document (---); a scenario is one' });
      break;
    }
    docs.push(d);
  }
  for (const d of docs) for (const err of d.errors) problems.push({ offset: err.pos[0], message: `YAML syntax: ${err.message}` });
  if (problems.length > 0) return fail(problems);

  const aliases = new Map<Alias, YamlNode>();
  const found = docs.flatMap((d) => checkDocument(d, aliases));
  if (found.length > 0) return fail(found);
  return { ok: true, parsed: { doc: docs[0], docs, lines, aliases } };
}

/** More than MAX_YAML_NODES nodes in the text, counted as the lexer goes; nothing is kept. */
function nodeCountProblem(text: string): YamlProblem | undefined {
  let nodes = 0;
  let offset = 0;
  for (const token of new Lexer().lex(text)) {
    const type = CST.tokenType(token);
    if (type && NODE_TOKENS.has(type) && ++nodes > MAX_YAML_NODES) {
      return {
        offset,
        message: `the file holds more than ${MAX_YAML_NODES} YAML values (keys, values and list items); a scenario may hold at most ${MAX_YAML_NODES}`,
      };
    }
    if (!CONTROL_TOKENS.has(token)) offset += token.length;
  }
  return undefined;
}

/** Collections nested deeper than MAX_YAML_DEPTH, found without recursion. */
function depthProblem(cst: readonly CST.Token[]): YamlProblem | undefined {
  const stack: Array<{ token: CST.Token; depth: number }> = cst.map((token) => ({ token, depth: 0 }));
  while (stack.length > 0) {
    const { token, depth } = stack.pop()!;
    // As checkDocument counts: a collection, even empty, is one level more than its parent.
    const inner = COLLECTIONS.has(token.type) ? depth + 1 : depth;
    if (inner > MAX_YAML_DEPTH) {
      return { offset: token.offset, message: `YAML nested more than ${MAX_YAML_DEPTH} levels deep; a scenario may nest at most ${MAX_YAML_DEPTH}` };
    }
    for (const child of childTokens(token)) stack.push({ token: child, depth: inner });
  }
  return undefined;
}

function childTokens(token: CST.Token): CST.Token[] {
  switch (token.type) {
    case 'document':
      return token.value ? [token.value] : [];
    case 'block-map':
    case 'block-seq':
    case 'flow-collection': {
      const out: CST.Token[] = [];
      for (const item of token.items) {
        if (item.key) out.push(item.key);
        if (item.value) out.push(item.value);
      }
      return out;
    }
    default:
      return [];
  }
}

interface Size {
  readonly nodes: number;
  readonly depth: number;
}

/**
 * One walk in document order: duplicate keys, and each alias resolved to the last anchor of
 * its name before it (YAML's rule), with the size and depth it expands to. An anchor's node
 * is measured before any alias to it can be reached, except an alias inside its own anchor,
 * which is a cycle.
 */
function checkDocument(doc: Document, aliases: Map<Alias, YamlNode>): YamlProblem[] {
  const problems: YamlProblem[] = [];
  const anchors = new Map<string, YamlNode>();
  const sizes = new Map<YamlNode, Size>();
  const open = new Set<YamlNode>();
  let expanded = 0;
  let stop = false;

  const measure = (node: unknown): Size => {
    if (stop || node === null || node === undefined) return { nodes: 0, depth: 0 };
    const n = node as YamlNode;
    if (isAlias(n)) {
      const target = anchors.get(n.source);
      const at = n.range?.[0] ?? 0;
      if (!target) {
        problems.push({ offset: at, message: `YAML: alias *${n.source} has no anchor &${n.source} before it` });
        return { nodes: 0, depth: 0 };
      }
      if (open.has(target)) {
        problems.push({ offset: at, message: `YAML: alias *${n.source} is inside the collection it names (a cycle)` });
        stop = true;
        return { nodes: 0, depth: 0 };
      }
      aliases.set(n, target);
      const size = sizes.get(target) ?? { nodes: 1, depth: 0 };
      // What aliases add on top of the text's own nodes (already counted by the lexer).
      expanded += size.nodes;
      if (expanded > MAX_YAML_NODES) {
        problems.push({
          offset: at,
          message: `YAML: aliases expand the file by more than ${MAX_YAML_NODES} values (an alias bomb?); a scenario may hold at most ${MAX_YAML_NODES}`,
        });
        stop = true;
      }
      return size;
    }
    if (n.anchor) anchors.set(n.anchor, n);
    let size: Size = { nodes: 1, depth: 0 };
    if (isMap(n) || isSeq(n)) {
      open.add(n);
      let nodes = 1;
      let depth = 0;
      const seen = new Set<unknown>();
      for (const item of n.items) {
        const parts = isPair(item) ? [item.key, item.value] : [item];
        if (isMap(n) && isPair(item) && isScalar(item.key)) {
          // As the library's own check: scalar keys whose values are ===.
          if (seen.has(item.key.value)) problems.push({ offset: item.key.range?.[0] ?? 0, message: 'YAML syntax: Map keys must be unique' });
          seen.add(item.key.value);
        }
        for (const part of parts) {
          const s = measure(part);
          nodes += s.nodes;
          depth = Math.max(depth, s.depth);
        }
      }
      open.delete(n);
      size = { nodes, depth: depth + 1 };
      // The text nests at most MAX_YAML_DEPTH (depthProblem); only aliases can go deeper.
      if (size.depth > MAX_YAML_DEPTH && !stop) {
        problems.push({
          offset: n.range?.[0] ?? 0,
          message: `YAML: aliases nest the file more than ${MAX_YAML_DEPTH} levels deep; a scenario may nest at most ${MAX_YAML_DEPTH}`,
        });
        stop = true;
      }
    }
    // Only an anchor's size is ever looked up again.
    if (n.anchor) sizes.set(n, size);
    return size;
  };
  measure(doc.contents);
  return problems;
}
