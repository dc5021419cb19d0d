// The built command as a shell runs it: exit codes and streams of --help, --version and usage
// errors, the npx launcher, and the warning when `npm run` kept a flag for itself (real npm).
import t from 'tap';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';

const REPO = path.resolve(__dirname, '..', '..');
const MAIN = path.join(REPO, 'dist', 'src', 'cli', 'main.js');
const BIN = path.join(REPO, 'bin', 'hbone-sim.js');
const VERSION = (JSON.parse(fs.readFileSync(path.join(REPO, 'package.json'), 'utf8')) as { version: string }).version;

function run(file: string, args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}) {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const k of Object.keys(env)) if (k.startsWith('npm_')) delete env[k];
  Object.assign(env, { NODE_OPTIONS: '' }, options.env);
  const r = spawnSync(file, args, { cwd: options.cwd ?? REPO, env, encoding: 'utf8', timeout: 30_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const node = (args: string[]) => run(process.execPath, [MAIN, ...args]);

t.test('--help, -h, help, help <command>, <command> --help: stdout, exit 0', async (t) => {
  for (const args of [['--help'], ['-h'], ['help'], ['help', 'scenario'], ['scenario', '--help'], ['ztunnel', '-h'], ['cert', '--help']]) {
    const r = node(args);
    t.equal(r.code, 0, `hbone-sim ${args.join(' ')}: exit 0`);
    t.match(r.stdout, /^usage: hbone-sim /, 'usage on stdout');
    t.equal(r.stderr, '', 'nothing on stderr');
  }
  t.match(
    node(['help', 'waypoint']).stdout,
    /^usage: hbone-sim waypoint \[apply\|list\|delete\|generate\] \[NAME\.\.\.\] .*\[--scenario <name\|file>\] \[--pod <waypoint pod>\] \[--live-config <file>\] \[--ca-dir <dir>\] \[--istiod <host:port>\] \[--workers <N>\]\n/,
  );
});

t.test("--version: package.json's version", async (t) => {
  const r = node(['--version']);
  t.same(r, { code: 0, stdout: `hbone-sim ${VERSION}\n`, stderr: '' });
});

t.test('usage errors: stderr, exit 2, the closest name', async (t) => {
  const cases: Array<[string[], RegExp]> = [
    [[], /^usage: hbone-sim <command>/],
    [['scenaro', 'bookinfo'], /^hbone-sim: unknown command "scenaro"; did you mean scenario\?/],
    [['scenario', 'bookinfo', '--hodl'], /^hbone-sim scenario: unknown flag --hodl; did you mean --hold\?\nusage: hbone-sim scenario /],
    [['ztunnel', '--scenario', 'bookinfo', '--nod', 'node-a'], /did you mean --node\?/],
    [['cert', '--spiffe', 'spiffe://cluster.local/ns/default/sa/sleep'], /^hbone-sim cert: missing --out <dir>/],
    [['--verison'], /did you mean --version\?/],
  ];
  for (const [args, re] of cases) {
    const r = node(args);
    t.equal(r.code, 2, `hbone-sim ${args.join(' ')}: exit 2`);
    t.match(r.stderr, re);
    t.equal(r.stdout, '', 'nothing on stdout');
  }
});

t.test('the npx launcher (bin/hbone-sim.js) is executable and runs the built command', async (t) => {
  t.ok((fs.statSync(BIN).mode & 0o111) !== 0, 'mode has x bits (git keeps 755)');
  const r = run(BIN, ['--version']);
  t.same(r, { code: 0, stdout: `hbone-sim ${VERSION}\n`, stderr: '' });
  const pkg = JSON.parse(fs.readFileSync(path.join(REPO, 'package.json'), 'utf8')) as { bin: Record<string, string>; scripts: Record<string, string> };
  t.equal(pkg.bin['hbone-sim'], 'bin/hbone-sim.js');
  t.match(pkg.scripts.prepare, /tsc -p tsconfig\.json/, 'npm ci builds (prepare)');
});

t.test('npm run keeping a flag for itself is named, with the npx line that works (real npm)', async (t) => {
  // A package whose script runs the built command, so no build runs here.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hbone-cli-npm-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const pkg = { name: 'npm-flags-probe', version: '1.0.0', private: true, scripts: { sim: `node ${JSON.stringify(MAIN)}` } };
  fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify(pkg));
  const out = path.join(dir, 'out');
  const r = run('npm', ['run', '--silent', 'sim', 'cert', '--spiffe', 'spiffe://cluster.local/ns/default/sa/sleep', '--out', out], {
    cwd: dir,
    env: { npm_config_update_notifier: 'false' },
  });
  const kept = 'hbone-sim: npm kept --spiffe, --out for itself and ran without them: npm passes on only what follows --.';
  t.match(r.stderr, `${kept} Run: npx hbone-sim cert <flags>, or npm run sim -- <arguments>\n`);
  t.match(r.stderr, /hbone-sim cert: unexpected argument "spiffe:/, 'npm passed the values on as arguments: a usage error');
  t.equal(r.code, 2);
  const quiet = { npm_config_update_notifier: 'false' };
  const hold = run('npm', ['run', '--silent', 'sim', 'scenario', 'no-such-scenario', '--hold', '--json'], { cwd: dir, env: quiet });
  t.match(
    hold.stderr,
    'hbone-sim: npm kept --hold, --json for itself and ran without them: npm passes on only what follows --. ' +
      'Run: npx hbone-sim scenario no-such-scenario --hold --json\n',
  );
  const certArgs = ['cert', '--spiffe', 'spiffe://cluster.local/ns/default/sa/sleep', '--out', out, '--ca-dir', path.join(dir, 'ca')];
  const ok = run('npm', ['run', '--silent', 'sim', '--', ...certArgs], {
    cwd: dir,
    env: { npm_config_update_notifier: 'false' },
  });
  t.equal(ok.code, 0, 'after --, npm passes them on', { stderr: ok.stderr });
  t.notMatch(ok.stderr, /npm kept/);
  t.ok(fs.existsSync(path.join(out, 'cert-chain.pem')));
});
