// The YAML parser's costs are bounded before they are paid: alias bombs and cycles, deep
// nesting (flow, block, compact, and through aliases), too many nodes, duplicate keys found
// without the library's quadratic check, and plain values copied without prototype tricks.
import t from 'tap';
import { MAX_YAML_DEPTH, MAX_YAML_NODES } from '../../src/mesh/limits';
import { BASE, load, problemsOf, withBase } from './fixtures/scenario-text';

/** A billion-laughs chain of `levels` anchors of ten aliases each, in a policy's spec (line 16 on). */
function aliasBomb(levels: number): string {
  const lines = ['a0: &a0 ["x","x","x","x","x","x","x","x","x","x"]'];
  for (let i = 1; i < levels; i++)
    lines.push(
      `a${i}: &a${i} [${Array(10)
        .fill(`*a${i - 1}`)
        .join(',')}]`,
    );
  return policyWithSpec(lines);
}

/** BASE plus one AuthorizationPolicy whose spec holds `specLines`; the first is on line 15. */
function policyWithSpec(specLines: readonly string[]): string {
  return (
    withBase(`
      policies:
        - apiVersion: security.istio.io/v1
          kind: AuthorizationPolicy
          metadata: { name: p, namespace: default }
          spec:
    `) + specLines.map((l) => `      ${l}\n`).join('')
  );
}

t.test('an alias bomb is refused at the alias that crosses the limit, before it is expanded', async (t) => {
  const problems = problemsOf(aliasBomb(9), 'bomb.yaml');
  t.same(problems, [
    `bomb.yaml:19: YAML: aliases expand the file by more than ${MAX_YAML_NODES} values (an alias bomb?); a scenario may hold at most ${MAX_YAML_NODES}`,
  ]);
  // Anywhere in the file, not only in the documents kept verbatim.
  const top = ['name: t', 'a0: &a0 [x, x, x, x, x, x, x, x, x, x]'];
  for (let i = 1; i < 9; i++)
    top.push(
      `a${i}: &a${i} [${Array(10)
        .fill(`*a${i - 1}`)
        .join(', ')}]`,
    );
  t.match(problemsOf(top.join('\n') + '\n', 'top.yaml')[0], /^top\.yaml:6: YAML: aliases expand the file by more than 50000 values/);
  // A few levels are fine: aliases still work below the bound.
  t.notMatch(problemsOf(aliasBomb(3)).join('\n'), /alias/);
});

t.test('an alias inside the collection it names is a cycle, refused rather than followed', async (t) => {
  t.same(problemsOf(policyWithSpec(['rules: &r [ { from: *r } ]']), 'cycle.yaml'), [
    'cycle.yaml:15: YAML: alias *r is inside the collection it names (a cycle)',
  ]);
  t.same(problemsOf(BASE + 'captures: &c [ *c ]\n', 'cycle.yaml'), ['cycle.yaml:10: YAML: alias *c is inside the collection it names (a cycle)']);
});

t.test('an alias with no anchor before it is named', async (t) => {
  t.same(problemsOf(BASE + 'captures: *later\nexpect: &later []\n', 'a.yaml'), ['a.yaml:10: YAML: alias *later has no anchor &later before it']);
});

t.test(`nesting deeper than ${MAX_YAML_DEPTH} levels is refused before the recursive composer sees it`, async (t) => {
  const tooDeep = `YAML nested more than ${MAX_YAML_DEPTH} levels deep; a scenario may nest at most ${MAX_YAML_DEPTH}`;
  // The top mapping is level 1, so 63 brackets under it reach the limit and 64 pass it.
  const flow = (n: number) => `name: t\nx:\n  ${'['.repeat(n)}${']'.repeat(n)}\n`;
  t.notMatch(problemsOf(flow(MAX_YAML_DEPTH - 1)).join('\n'), /nested/, 'at the limit: read (other problems only)');
  t.match(problemsOf(flow(MAX_YAML_DEPTH)), [new RegExp(`^t\\.yaml:3: ${tooDeep}$`)]);
  // Far deeper than the library survives (it overflows its stack near 1,000).
  t.match(problemsOf(flow(20_000)), [new RegExp(`^t\\.yaml:3: ${tooDeep}$`)]);
  t.match(problemsOf(`name: t\nx: ${'{a: '.repeat(5_000)}1${'}'.repeat(5_000)}\n`), [new RegExp(tooDeep)]);
  // Block mappings by indentation, and compact sequences on one line.
  let block = 'name: t\n';
  for (let i = 0; i < 200; i++) block += `${' '.repeat(i)}k:\n`;
  t.match(problemsOf(block), [new RegExp(tooDeep)]);
  t.match(problemsOf(`name: t\nx:\n${'- '.repeat(5_000)}x\n`), [new RegExp(tooDeep)]);
});

t.test('aliases cannot nest deeper than the text may', async (t) => {
  // Each anchor wraps the previous one in two more levels: 40 anchors reach level 80.
  const lines = ['n0: &n0 [x]'];
  for (let i = 1; i < 40; i++) lines.push(`n${i}: &n${i} [[*n${i - 1}]]`);
  t.match(problemsOf(policyWithSpec(lines)), [/: YAML: aliases nest the file more than 64 levels deep; a scenario may nest at most 64$/]);
});

t.test(`more than ${MAX_YAML_NODES} YAML values are refused by a lexer pass, at the line where the count passes the limit`, async (t) => {
  const items = (n: number) => `name: t\nx:\n${'  - 1\n'.repeat(n)}`;
  // name, t, x, then one item indicator and one scalar per item.
  const over = problemsOf(items(MAX_YAML_NODES / 2), 'many.yaml');
  t.same(over, [
    `many.yaml:${MAX_YAML_NODES / 2 + 1}: the file holds more than ${MAX_YAML_NODES} YAML values (keys, values and list items); a scenario may hold at most ${MAX_YAML_NODES}`,
  ]);
  t.notMatch(problemsOf(items(MAX_YAML_NODES / 2 - 2)).join('\n'), /YAML values/, 'just under the limit: read');
  t.match(problemsOf(`name: t\nx: [${'1,'.repeat(100_000)}]\n`), [/^t\.yaml:2: the file holds more than 50000 YAML values/]);
});

t.test('duplicate keys are still reported (the set that replaced the library check)', async (t) => {
  t.same(problemsOf(policyWithSpec(['action: ALLOW', 'rules: []', 'action: DENY']), 'dup.yaml'), ['dup.yaml:17: YAML syntax: Map keys must be unique']);
  t.same(problemsOf(BASE + 'expect: [ { from: sleep, to: "echo:8080", connects: true, from: echo } ]\n', 'dup.yaml'), [
    'dup.yaml:10: YAML syntax: Map keys must be unique',
  ]);
  // As the library compares them: the number 1 and the string "1" are different keys.
  const s = load(
    withBase(`
    services:
      - { name: other, namespace: default, vip: 10.8.0.21, selector: { app: echo }, labels: { 1: a, "1": b }, ports: [ { name: tcp, port: 8080 } ] }
  `).replace(/services:\n(.*\n)services:\n/, 'services:\n$1'),
  );
  t.equal(s.services.length, 2);
});

t.test('a mapping of 20,000 keys is read in one pass', async (t) => {
  const keys = Array.from({ length: 20_000 }, (_, i) => `k${i}: ${i}`);
  const problems = problemsOf(policyWithSpec(['action: ALLOW', `extra: { ${keys.join(', ')} }`]));
  t.notMatch(problems.join('\n'), /YAML/, 'no parser problem');
});

t.test('plain values of verbatim documents: aliases copied, __proto__ kept as data', async (t) => {
  const s = load(
    policyWithSpec(['action: ALLOW', 'rules:', '  - from: &from [ { source: { principals: [ cluster.local/ns/default/sa/sleep ] } } ]', '  - from: *from']),
  );
  const spec = s.policies[0].spec as { rules: { from: unknown[] }[] };
  t.same(spec.rules[1].from, spec.rules[0].from);
  t.not(spec.rules[1].from, spec.rules[0].from, 'a copy, not the same object');
  const proto = load(policyWithSpec(['action: ALLOW', 'rules: [ { from: [ { source: { principals: [ a/b ] } } ] } ]'])).policies[0].spec as Record<
    string,
    unknown
  >;
  t.equal(Object.getPrototypeOf(proto), Object.prototype);
  // Set by assignment, __proto__ would make { action: DENY } the spec's prototype, unseen.
  t.same(problemsOf(policyWithSpec(['__proto__: { action: DENY }', 'action: ALLOW'])), [
    't.yaml:15: policies[0].spec.__proto__: unknown field; allowed: selector, targetRef, targetRefs, action, provider, rules',
  ]);
});
