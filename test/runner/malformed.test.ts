// A malformed scenario stops `hbone-sim scenario` before anything starts (block 10.72.x.y):
// exit code 2 and `<file>:<line>: <field path>: <problem>` on stderr, at the right line, with
// no process spawned, no CA written and nothing listening.
import t, { Test } from 'tap';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { l4Scenario } from '../fixtures/scenario-mesh';
import { parseScenario } from '../../src/mesh/load';
import { leftovers, listenersOf, runCli, tempScenario, killGroup } from './fixtures/cli';

const N = 72;
const BASE = l4Scenario(N);
// Where a healthy run of the base scenario would listen: none of it may appear.
const LISTENERS = listenersOf(parseScenario(BASE, 'base.yaml'));
const MARK = '# <- here';

/** The 1-based line that carries MARK (a YAML comment, so it changes nothing). */
function markedLine(text: string): number {
  const i = text.split('\n').findIndex((l) => l.includes(MARK));
  if (i < 0) throw new Error('no marked line in the test scenario');
  return i + 1;
}

/** BASE with one exact line replaced (must exist once). */
function edit(from: string, to: string, base = BASE): string {
  const i = base.indexOf(from);
  if (i < 0 || base.indexOf(from, i + 1) >= 0) throw new Error(`the base scenario holds ${JSON.stringify(from)} ${i < 0 ? 'nowhere' : 'twice'}`);
  return base.slice(0, i) + to + base.slice(i + from.length);
}

const SINK_FLOW = `  - { name: sink, namespace: default, serviceAccount: sink, node: node-b, ip: 10.${N}.2.2, labels: { app: sink }, run: { app: sink, port: 9000 } }`;
const ECHO_FLOW = `  - { name: echo, namespace: default, serviceAccount: echo, node: node-b, ip: 10.${N}.2.1, labels: { app: echo, version: v1 }, run: { app: echo, port: 8080 } }`;

/** Runs the CLI on `text` and checks the refusal; returns stderr. */
async function refuses(t: Test, text: string, expected: (file: string) => Array<string | RegExp>, options: { cwdIsDir?: boolean } = {}): Promise<void> {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hbone-runner-bad-'));
  const file = path.join(tmp, 'bad.yaml');
  fs.writeFileSync(file, text);
  const caDir = path.join(tmp, 'ca');
  const run = runCli(['scenario', file, '--hold', '--ca-dir', caDir], { cwd: options.cwdIsDir ? tmp : undefined });
  t.teardown(() => {
    killGroup(run.pid);
    fs.rmSync(tmp, { recursive: true, force: true });
  });
  const started = Date.now();
  const exit = await run.waitExit(10_000);
  t.same(exit, { code: 2, signal: null }, 'exit code 2');
  const shown = options.cwdIsDir ? 'bad.yaml' : file;
  const lines = run.stderr().trimEnd().split('\n');
  const want = expected(shown);
  t.equal(lines.length, want.length, `${want.length} problem line(s) on stderr`, { stderr: run.stderr() });
  want.forEach((w, i) => (typeof w === 'string' ? t.equal(lines[i], w) : t.match(lines[i], w)));
  t.equal(run.stdout(), '', 'nothing on stdout: the mesh was never announced');
  t.notOk(fs.existsSync(caDir), 'no CA was created');
  const left = await leftovers(tmp, LISTENERS);
  t.same(left.processes, [], 'no process names the scenario');
  t.same(left.listeners, [], 'nothing listens on the scenario addresses');
  t.comment(`refused in ${Date.now() - started} ms`);
}

t.test('the base scenario of these tests is valid (so every failure below is the edit)', async (t) => {
  t.ok(parseScenario(BASE, 'base.yaml'));
  const ok = tempScenario(BASE, 'base');
  t.teardown(() => ok.cleanup());
  t.equal(ok.scenario.workloads.length, 6);
});

t.test('an unknown field', async (t) => {
  const text = edit(`  - { name: node-b, ip: 10.${N}.0.2 }`, `  - { name: node-b, ip: 10.${N}.0.2, zone: b } ${MARK}`);
  const line = markedLine(text);
  await refuses(t, text, (f) => [`${f}:${line}: nodes[1].zone: unknown field (known fields: name, ip)`]);
});

t.test('an unknown field in a block mapping is reported at its own line, not the entry', async (t) => {
  const text = edit(
    ECHO_FLOW,
    `  - name: echo
    namespace: default
    serviceAccount: echo
    node: node-b
    ip: 10.${N}.2.1
    lables: { app: echo, version: v1 } ${MARK}
    run: { app: echo, port: 8080 }`,
  );
  const line = markedLine(text);
  // Only the typo is reported: the checker does not go on to complain that echo, now without
  // labels, matches neither its service nor its policy.
  await refuses(t, text, (f) => [`${f}:${line}: workloads[2].lables: unknown field; did you mean labels?`]);
});

t.test('a duplicate pod IP', async (t) => {
  const text = edit(
    SINK_FLOW,
    `  - name: sink
    namespace: default
    serviceAccount: sink
    node: node-b
    ip: 10.${N}.2.1 ${MARK}
    labels: { app: sink }
    run: { app: sink, port: 9000 }`,
  );
  const line = markedLine(text);
  await refuses(t, text, (f) => [`${f}:${line}: workloads[3].ip: 10.${N}.2.1 is already used by workloads[2] (echo)`]);
});

t.test('a service selector that matches no pod', async (t) => {
  const from = `  - { name: sink, namespace: default, vip: 10.${N}.8.2, selector: { app: sink }, ports: [ { name: tcp, port: 9000 } ] }`;
  const text = edit(from, from.replace('{ app: sink }', '{ app: sinc }') + ` ${MARK}`);
  const line = markedLine(text);
  await refuses(t, text, (f) => [`${f}:${line}: services[1].selector: { app: sinc } selects no pod in namespace default`]);
});

t.test('a bad port: out of range, and one of the mesh ports', async (t) => {
  const range = edit(
    ECHO_FLOW,
    `  - name: echo
    namespace: default
    serviceAccount: echo
    node: node-b
    ip: 10.${N}.2.1
    labels: { app: echo, version: v1 }
    run:
      app: echo
      port: 70000 ${MARK}`,
  );
  const line = markedLine(range);
  await refuses(t, range, (f) => [`${f}:${line}: workloads[2].run.port: 70000 is not a port number (1-65535)`]);
  const reserved = edit(ECHO_FLOW, ECHO_FLOW.replace('port: 8080', 'port: 15008') + ` ${MARK}`);
  await refuses(t, reserved, (f) => [`${f}:${markedLine(reserved)}: workloads[2].run.port: 15008 is a reserved mesh port (HBONE); pick another port`]);
});

t.test('several problems are all reported at once, in line order', async (t) => {
  let text = edit(`  - { name: node-b, ip: 10.${N}.0.2 }`, `  - { name: node-b, ip: 10.${N}.0.2, zone: b }`);
  text = edit(SINK_FLOW, SINK_FLOW.replace(`ip: 10.${N}.2.2`, `ip: 10.${N}.2.1`), text);
  text = edit('source: sleep, target: sink:9000 }', 'source: sleeep, target: sink:9000 }', text);
  const lineOf = (needle: string) => text.split('\n').findIndex((l) => l.includes(needle)) + 1;
  await refuses(t, text, (f) => [
    `${f}:${lineOf('zone: b')}: nodes[1].zone: unknown field (known fields: name, ip)`,
    `${f}:${lineOf('name: sink, namespace')}: workloads[3].ip: 10.${N}.2.1 is already used by workloads[2] (echo)`,
    `${f}:${lineOf('sleeep')}: captures[2].source: sleeep is not a pod of this scenario`,
  ]);
});

t.test('a YAML syntax error, with the file named relative to the working directory', async (t) => {
  const text = edit(`  - { name: node-b, ip: 10.${N}.0.2 }`, `  - { name: node-b, ip: 10.${N}.0.2`);
  // The parser's wording is not ours to pin; the form, the file name and the exit code are.
  await refuses(t, text, (f) => [new RegExp(`^${f.replace(/\./g, '\\.')}:\\d+: YAML syntax: \\S`)], { cwdIsDir: true });
});

t.test('a scenario file that does not exist', async (t) => {
  const run = runCli(['scenario', '/nonexistent-hbone-sim/none.yaml']);
  t.teardown(() => killGroup(run.pid));
  const exit = await run.waitExit(10_000);
  t.equal(exit.code, 2);
  t.match(run.stderr(), /^\/nonexistent-hbone-sim\/none\.yaml: no such scenario file/);
});
