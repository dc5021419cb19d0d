// Hostile scenario files against the real CLI: an alias bomb, a 50 MB file, more nodes, pods or
// services than this machine starts, deep nesting, a mapping of many keys. Each is refused with
// exit 2 and a message naming the file and the limit (no stack trace), within a small heap
// (so nothing was read or expanded whole), and leaves no process behind. No mesh starts; the
// sized scenarios are in block 10.76, so a regression that starts one disturbs nobody else.
import t, { Test } from 'tap';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawn } from 'node:child_process';
import { CLI, REPO, runCli, processesMentioning } from '../runner/fixtures/cli';
import { MAX_NODES, MAX_SCENARIO_BYTES, MAX_SERVICES, MAX_WORKLOADS, MAX_YAML_DEPTH, MAX_YAML_NODES } from '../../src/mesh/limits';
import { BASE, sized } from '../mesh/fixtures/scenario-text';

// Well under what the files below would take to read or expand: a 50 MB file read whole is
// 50 MB of string before the parser starts (the original report: OOM after 155 s).
const HEAP_MB = 96;
const EXIT_WITHIN_MS = 30_000;

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hbone-hostile-scenario-'));
t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));

function write(name: string, text: string): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, text);
  return file;
}

/** Runs `args` with a small heap; asserts exit 2, no stack trace, nothing left; returns stderr. */
async function refused(t: Test, args: string[]): Promise<string> {
  const run = runCli(args, { env: { NODE_OPTIONS: `--max-old-space-size=${HEAP_MB}` } });
  const exit = await run.waitExit(EXIT_WITHIN_MS);
  t.same(exit, { code: 2, signal: null }, 'exit 2');
  t.notMatch(run.stderr(), /^\s+at /m, 'no stack trace');
  t.equal(run.stdout(), '', 'nothing on stdout');
  t.same(processesMentioning(dir), [], 'no process left behind');
  return run.stderr();
}

t.test('an alias bomb (a billion laughs in a policy spec): exit 2 at the alias that crosses the limit', async (t) => {
  const lines = ['      a0: &a0 ["x","x","x","x","x","x","x","x","x","x"]'];
  for (let i = 1; i < 9; i++)
    lines.push(
      `      a${i}: &a${i} [${Array(10)
        .fill(`*a${i - 1}`)
        .join(',')}]`,
    );
  const text = `${BASE}policies:\n  - apiVersion: security.istio.io/v1\n    kind: AuthorizationPolicy\n    metadata: { name: p, namespace: default }\n    spec:\n${lines.join('\n')}\n`;
  const file = write('bomb.yaml', text);
  const err = await refused(t, ['scenario', file]);
  t.equal(
    err,
    `${file}:19: YAML: aliases expand the file by more than ${MAX_YAML_NODES} values (an alias bomb?); a scenario may hold at most ${MAX_YAML_NODES}\n`,
  );
  // The processes the runner starts load the same file the same way.
  t.equal(await refused(t, ['ztunnel', '--scenario', file, '--node', 'node-a']), err);
});

t.test('a 50 MB scenario: refused by its size before it is read', async (t) => {
  const pod =
    '  - { name: web, namespace: default, serviceAccount: web, node: node-a, ip: 10.4.1.1, labels: { app: web }, run: { app: http-echo, port: 8080 } }\n';
  const file = path.join(dir, 'huge.yaml');
  const fd = fs.openSync(file, 'w');
  fs.writeSync(fd, 'name: huge\nnodes: [ { name: node-a, ip: 10.1.0.1 } ]\nworkloads:\n');
  const block = pod.repeat(Math.ceil((1 << 20) / pod.length));
  while (fs.fstatSync(fd).size < 50 * 1024 * 1024) fs.writeSync(fd, block);
  fs.closeSync(fd);
  const bytes = fs.statSync(file).size;
  const err = await refused(t, ['scenario', file]);
  t.equal(
    err,
    `${file}: the file is ${(bytes / 1048576).toFixed(1)} MiB (${bytes} bytes); a scenario file may be at most ${MAX_SCENARIO_BYTES / 1024} KiB (MAX_SCENARIO_BYTES in src/mesh/limits.ts)\n`,
  );
  fs.rmSync(file);
});

t.test('more nodes, pods or services than the caps: exit 2 naming each limit', async (t) => {
  const nodes = write('nodes.yaml', sized(MAX_NODES + 1, 2, 1));
  t.match(
    await refused(t, ['scenario', nodes]),
    new RegExp(`^${nodes}:3: nodes: ${MAX_NODES + 1} nodes, more than the ${MAX_NODES} a scenario may declare \\(MAX_NODES in src/mesh/limits\\.ts: .*\\)\\n$`),
  );
  const pods = write('pods.yaml', sized(2, MAX_WORKLOADS + 1, 1));
  t.match(
    await refused(t, ['scenario', pods]),
    new RegExp(
      `^${pods}:6: workloads: ${MAX_WORKLOADS + 1} pods, more than the ${MAX_WORKLOADS} a scenario may declare \\(MAX_WORKLOADS in src/mesh/limits\\.ts: .*\\)\\n$`,
    ),
  );
  const services = write('services.yaml', sized(2, 2, MAX_SERVICES + 1));
  t.equal(
    await refused(t, ['scenario', services]),
    `${services}:9: services: ${MAX_SERVICES + 1} services, more than the ${MAX_SERVICES} a scenario may declare (MAX_SERVICES in src/mesh/limits.ts)\n`,
  );
});

t.test('deep nesting: exit 2 naming the depth limit, not a stack overflow', async (t) => {
  const tooDeep = `YAML nested more than ${MAX_YAML_DEPTH} levels deep; a scenario may nest at most ${MAX_YAML_DEPTH}`;
  const flow = write('flow.yaml', `${BASE}policies: ${'['.repeat(30_000)}${']'.repeat(30_000)}\n`);
  t.equal(await refused(t, ['scenario', flow]), `${flow}:10: ${tooDeep}\n`);
  const compact = write('compact.yaml', `${BASE}policies:\n${'- '.repeat(20_000)}x\n`);
  t.equal(await refused(t, ['scenario', compact]), `${compact}:11: ${tooDeep}\n`);
});

t.test('too many YAML values, many keys, a long string: bounded, and said briefly', async (t) => {
  const many = write('many.yaml', `${BASE}x: [${'1,'.repeat(MAX_YAML_NODES)}]\n`);
  t.match(await refused(t, ['scenario', many]), new RegExp(`^${many}:10: the file holds more than ${MAX_YAML_NODES} YAML values`));
  // 20,000 keys (as many as fit under the size cap with 50,000 values are ~9 s for the
  // library's own duplicate check, which compares every pair; parseYaml uses a set).
  const keys = Array.from({ length: 20_000 }, (_, i) => `k${i.toString(36)}: 1`).join(', ');
  const wide = write('wide.yaml', `${BASE}x: { ${keys} }\n`);
  t.equal(
    await refused(t, ['scenario', wide]),
    `${wide}:10: x: unknown field (known fields: name, trustDomain, meshConfig, nodes, workloads, services, gateways, httpRoutes, captures, policies, expect, manifests)\n`,
  );
  // A 200 KB name is quoted by its ends.
  const long = write('long.yaml', BASE.replace('name: t', `name: ${'a'.repeat(200_000)}`));
  const err = await refused(t, ['scenario', long]);
  t.match(err, /^.*long\.yaml:1: name: "a+… \(199\d+ characters left out\) …a+" is not a valid Kubernetes name/);
  t.ok(err.length < 1000, `${err.length} characters`);
});

t.test('a long list of problems reaches a slow reader whole (exit waits for the pipe)', async (t) => {
  // 100 problems of ~700 characters (a long path, a long bad name or namespace): ~73 KB, more
  // than a pipe holds (64 KiB). Read through a shell pipe by a reader that starts late, as
  // `hbone-sim scenario x.yaml 2>&1 | less` would: process.exit() used to cut it at 64 KiB.
  const deep = path.join(dir, 'd'.repeat(250));
  fs.mkdirSync(deep);
  const bad = 'X'.repeat(1000);
  const pods = Array.from(
    { length: 55 },
    (_, i) => `  - { name: ${bad}${i}, namespace: ${bad}, serviceAccount: s, node: node-a, ip: 10.76.1.${i + 1}, run: { app: echo, port: 8080 } }`,
  );
  const file = path.join(deep, 'long.yaml');
  fs.writeFileSync(file, `name: long\nnodes: [ { name: node-a, ip: 10.76.0.1 } ]\nworkloads:\n${pods.join('\n')}\n`);
  const script = 'set -o pipefail; "$0" "$1" scenario "$2" 2>&1 >/dev/null | { sleep 1; cat; }';
  const child = spawn('bash', ['-c', script, process.execPath, CLI, file], {
    cwd: REPO,
    env: { ...process.env, NODE_OPTIONS: '' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const chunks: Buffer[] = [];
  child.stdout!.on('data', (c: Buffer) => chunks.push(c));
  const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
  t.equal(code, 2, "exit 2 (the CLI's, through pipefail)");
  const err = Buffer.concat(chunks).toString('utf8');
  t.ok(err.length > 64 * 1024, `${err.length} bytes: more than a pipe holds`);
  t.match(err, /… and 10 more problems \(the first 100 are listed\)\n$/, 'to the last line');
});
