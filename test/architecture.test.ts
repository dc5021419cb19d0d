// The house rules of ARCHITECTURE.md, checked on every run: which folder of src/ may import
// which (the roles never import one another; lower layers never import higher ones), and the
// loopback ranges tests listen on (test/fixtures/address-blocks.ts: one owner each).
import t from 'tap';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ADDRESS_RANGES, BUNDLED_SCENARIO_USERS, DATA_ONLY } from './fixtures/address-blocks';

const ROOT = path.resolve(__dirname, '..');

/** What each part of src/ may import (ARCHITECTURE.md's table); a part always may import itself. */
const MAY_IMPORT: Readonly<Record<string, readonly string[]>> = {
  'error-message': [],
  net: ['error-message'],
  identity: ['error-message'],
  telemetry: ['error-message', 'mesh'],
  admin: ['error-message', 'net'],
  hbone: ['error-message', 'identity', 'net', 'telemetry'],
  mesh: ['error-message', 'identity', 'hbone', 'policy'],
  policy: ['error-message', 'mesh', 'admin'],
  xds: ['error-message', 'identity', 'hbone', 'mesh', 'policy', 'telemetry'],
  istiod: ['error-message', 'identity', 'hbone', 'mesh', 'policy', 'telemetry', 'admin', 'net', 'xds', 'waypoint', 'gateway'],
  workers: ['error-message', 'identity', 'mesh', 'telemetry', 'admin', 'net', 'xds'],
  ztunnel: ['error-message', 'hbone', 'identity', 'mesh', 'policy', 'telemetry', 'admin', 'net', 'xds', 'workers'],
  waypoint: ['error-message', 'hbone', 'identity', 'mesh', 'policy', 'telemetry', 'admin', 'net', 'xds', 'workers'],
  gateway: ['error-message', 'hbone', 'identity', 'mesh', 'policy', 'telemetry', 'admin', 'net', 'xds', 'waypoint'],
  apps: ['error-message', 'mesh', 'telemetry', 'admin', 'net'],
  node: ['error-message', 'apps', 'mesh', 'admin', 'telemetry', 'net', 'runner'],
  runner: ['error-message', 'mesh', 'identity', 'hbone', 'telemetry', 'waypoint', 'gateway', 'node', 'admin', 'net'],
  console: ['error-message', 'mesh', 'identity', 'policy', 'telemetry', 'net', 'runner'],
  cli: ['*'],
};

function walk(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? walk(p) : e.name.endsWith('.ts') ? [p] : [];
  });
}

/** src/<part>/... or src/<part>.ts -> <part> */
function partOf(file: string): string {
  const rel = path.relative(path.join(ROOT, 'src'), file);
  return rel.split(path.sep)[0].replace(/\.ts$/, '');
}

const IMPORT_RE = /(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s+['"](\.[^'"]+)['"]|import\(\s*['"](\.[^'"]+)['"]\s*\)/g;

t.test('every import in src/ follows the layering of ARCHITECTURE.md', async (t) => {
  const broken: string[] = [];
  const files = walk(path.join(ROOT, 'src'));
  t.ok(files.length > 50, `${files.length} files read`);
  for (const file of files) {
    const from = partOf(file);
    const allowed = MAY_IMPORT[from];
    if (!allowed) {
      broken.push(`${path.relative(ROOT, file)}: src/${from} is not in ARCHITECTURE.md's table`);
      continue;
    }
    for (const m of fs.readFileSync(file, 'utf8').matchAll(IMPORT_RE)) {
      const spec = m[1] ?? m[2];
      const to = partOf(path.resolve(path.dirname(file), spec));
      if (to === from || allowed.includes('*') || allowed.includes(to)) continue;
      broken.push(`${path.relative(ROOT, file)} imports src/${to} ('${spec}'): src/${from} may import ${allowed.join(', ') || 'nothing'}`);
    }
  }
  t.same(broken, [], 'no import outside the table');
});

t.test('the three roles never import one another', async (t) => {
  for (const a of ['ztunnel', 'waypoint', 'apps']) {
    for (const b of ['ztunnel', 'waypoint', 'apps']) if (a !== b) t.notOk(MAY_IMPORT[a].includes(b), `${a} may not import ${b}`);
  }
});

/**
 * The loopback ranges a file names: mesh blocks (const N = 81), 127.a.b.c literals, and the
 * cluster address of a test pod (`pod('name', 'kind', '10.a.b.c', …)`, served on 127.a.b.c), as
 * '127.a' or '127.a.b'.
 */
function rangesIn(text: string): Set<string> {
  const found = new Set<string>();
  for (const m of text.matchAll(/(?:const (?:N|BLOCK)|[A-Z_]*BLOCK)\s*=\s*(\d+)\b/g)) found.add(`127.${m[1]}`);
  for (const m of text.matchAll(/'--block',\s*'(\d+)'/g)) found.add(`127.${m[1]}`);
  for (const m of text.matchAll(/\b127\.(\d+)\.(\d+)\.\d+/g)) if (m[1] !== '0') found.add(`127.${m[1]}.${m[2]}`);
  for (const m of text.matchAll(/\bpod\('[^']*',\s*'[^']*',\s*'10\.(\d+)\.(\d+)\.\d+'/g)) found.add(`127.${m[1]}.${m[2]}`);
  return found;
}

const covers = (range: string, used: string): boolean => used === range || used.startsWith(`${range}.`);

t.test('every loopback range a test or bench uses is its own, in test/fixtures/address-blocks.ts', async (t) => {
  const files = [...walk(path.join(ROOT, 'test')), ...walk(path.join(ROOT, 'bench'))].map((f) => path.relative(ROOT, f));
  const problems: string[] = [];
  for (const file of files) {
    if (DATA_ONLY.includes(file) || file === 'test/fixtures/address-blocks.ts' || file === 'test/architecture.test.ts') continue;
    for (const used of rangesIn(fs.readFileSync(path.join(ROOT, file), 'utf8'))) {
      const owners = ADDRESS_RANGES.filter((r) => covers(r.range, used) || covers(used, r.range)).map((r) => r.owner);
      if (!owners.includes(file)) problems.push(`${file} uses ${used}: ${owners.length ? `owned by ${owners.join(', ')}` : 'not in the list'}`);
    }
  }
  t.same(problems, [], 'no file listens outside its own ranges');
});

t.test('no two owners share a range', async (t) => {
  const clashes: string[] = [];
  for (const a of ADDRESS_RANGES) {
    for (const b of ADDRESS_RANGES)
      if (a !== b && a.owner !== b.owner && covers(a.range, b.range)) clashes.push(`${a.range} (${a.owner}) holds ${b.range} (${b.owner})`);
  }
  t.same(clashes, []);
  for (const r of ADDRESS_RANGES) t.ok(fs.existsSync(path.join(ROOT, r.owner)), `${r.owner} exists`);
});

t.test('a file that starts a bundled scenario holds the bundled-scenario lock', async (t) => {
  const files = walk(path.join(ROOT, 'test')).map((f) => path.relative(ROOT, f));
  // Starting one with the runner's CLI, or holding the lock (the README's lines start bookinfo).
  const startsOne = /runCli\(\s*\[\s*'(scenario|up)',\s*'(bookinfo|bookinfo-l4|bookinfo-ambient|echo)'\s*[,\]](?![^\]]*--hodl)|acquireBundledScenarioLock\(/;
  const starts = files.filter(
    (f) => f.endsWith('.test.ts') && f !== 'test/architecture.test.ts' && startsOne.test(fs.readFileSync(path.join(ROOT, f), 'utf8')),
  );
  t.same(starts.sort(), [...BUNDLED_SCENARIO_USERS].sort(), 'the files that start a bundled scenario are the listed ones');
  for (const f of BUNDLED_SCENARIO_USERS) t.match(fs.readFileSync(path.join(ROOT, f), 'utf8'), /acquireBundledScenarioLock/, `${f} holds the lock`);
});
