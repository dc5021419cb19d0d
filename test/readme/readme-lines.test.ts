// README.md's command lines, read without running them: every fence says what it holds, every
// command line has a rule saying how readme-scenarios/readme-bench run it, no line passes a flag
// npm would keep for itself, and a command shown inline in prose is one of the tested lines.
import t from 'tap';
import * as fs from 'node:fs';
import { spawnSync } from 'node:child_process';
import {
  COMMAND_LANGS,
  README,
  TEXT_LANGS,
  commandLines,
  fences,
  flagsNpmKeeps,
  inlineSpans,
  looksLikeCommand,
  readmeCommands,
  ruleFor,
  stripComment,
} from './fixtures/readme';

const markdown = fs.readFileSync(README, 'utf8');
const commands = readmeCommands(markdown);

t.test('the extractor: comments, continuations, fences and spans', async (t) => {
  t.equal(stripComment("tshark -f 'port 15008' -w x &   # capture"), "tshark -f 'port 15008' -w x &");
  t.equal(stripComment(`grep '# not a comment' f # a comment`), `grep '# not a comment' f`);
  t.equal(stripComment('echo a#b'), 'echo a#b', 'a # inside a word is not a comment');
  const md = [
    'intro `npx hbone-sim scenario x`',
    '```sh',
    'npm ci   # install',
    '',
    'tshark -r a \\',
    "  -Y 'b'",
    '```',
    '```text',
    'npm run not-a-command',
    '```',
  ].join('\n');
  const f = fences(md);
  t.same(
    f.map((x) => [x.lang, x.line]),
    [
      ['sh', 2],
      ['text', 8],
    ],
  );
  t.same(commandLines(f[0]), [
    { text: 'npm ci', line: 3 },
    { text: "tshark -r a -Y 'b'", line: 5 },
  ]);
  t.same(
    readmeCommands(md).map((c) => c.text),
    ['npm ci', "tshark -r a -Y 'b'"],
    'text fences are not commands',
  );
  t.same(inlineSpans(md), ['npx hbone-sim scenario x'], 'spans outside fences only');
});

t.test('the npm lint finds flags npm keeps for itself', async (t) => {
  t.same(flagsNpmKeeps('npm run scenario bookinfo --hold'), ['--hold']);
  t.same(flagsNpmKeeps('npm ci && npm run scenario bookinfo --json -v'), ['--json', '-v']);
  t.same(flagsNpmKeeps('npm test --grep x'), ['--grep']);
  t.same(flagsNpmKeeps('npm run scenario -- bookinfo --hold'), []);
  t.same(flagsNpmKeeps('npm run -s hbone-sim -- cert --out x'), []);
  t.same(flagsNpmKeeps('npm -s run bench -- --quick'), []);
  t.same(flagsNpmKeeps('npx hbone-sim scenario bookinfo --hold'), [], 'npx passes flags on');
  t.same(flagsNpmKeeps('npm ci --no-audit'), [], 'not a script');
});

t.test('README: every fence says whether it holds commands or text', async (t) => {
  const all = fences(markdown);
  t.ok(all.length >= 8, `${all.length} fences`);
  for (const f of all) {
    t.ok([...COMMAND_LANGS, ...TEXT_LANGS].includes(f.lang), `README.md:${f.line}: fence is \`\`\`${f.lang || '(none)'}: say sh for commands, text otherwise`);
    if (TEXT_LANGS.includes(f.lang)) {
      const hidden = f.body.filter((l) => looksLikeCommand(stripComment(l)));
      t.same(hidden, [], `README.md:${f.line}: a text fence holds no command line (it would go untested)`);
    }
  }
});

t.test('README: every command line has a rule', async (t) => {
  t.ok(commands.length >= 10, `${commands.length} command lines`);
  t.match(commands[0].text, /^npm ci( |$)/, "the first line is the newcomer's npm ci: every other line needs it");
  for (const c of commands) {
    const rule = ruleFor(c.text);
    t.ok(rule, `README.md:${c.line}: ${c.text}: no rule in test/readme/fixtures/readme.ts says how to test it`);
    if (rule) t.comment(`README.md:${c.line}: ${rule.how}${rule.reason ? ` (${rule.reason})` : ''}: ${c.text}`);
  }
});

t.test('README: no command passes a flag npm keeps for itself', async (t) => {
  for (const c of commands) t.same(flagsNpmKeeps(c.text), [], `README.md:${c.line}: ${c.text}`);
  for (const span of inlineSpans(markdown).filter(looksLikeCommand)) t.same(flagsNpmKeeps(span), [], `inline: ${span}`);
});

t.test('README: an npm, npx or hbone-sim command in prose is a tested line (or shows a placeholder …)', async (t) => {
  const tested = new Set(commands.flatMap((c) => [c.text, ...c.text.split('&&').map((p) => p.trim())]));
  const spans = inlineSpans(markdown).filter((s) => /^(npm|npx|hbone-sim)\s/.test(s));
  t.ok(spans.length > 0);
  for (const s of spans) {
    if (s.includes('…') || s.startsWith('npx autocannon')) continue; // a pattern or a third-party tool, as the runner prints them
    if (s === 'npx hbone-sim') continue; // the program's name, not a command line
    t.ok(tested.has(s), `\`${s}\` in prose is one of the README's sh lines, so it is run`);
  }
});

t.test('README: lines that are only parsed are valid bash', async (t) => {
  const parsed = commands.filter((c) => ruleFor(c.text)?.how === 'parse');
  t.ok(parsed.length > 0);
  for (const c of parsed) {
    const r = spawnSync('bash', ['-n', '-c', c.text], { encoding: 'utf8' });
    t.equal(r.status, 0, `README.md:${c.line}: bash -n: ${c.text}`, { stderr: r.stderr });
  }
});
