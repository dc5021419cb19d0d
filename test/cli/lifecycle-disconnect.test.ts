// A process the runner started stops when the runner goes away, even when the runner went away
// before the process's own code ran: with a --import in NODE_OPTIONS (tap's coverage hook is one)
// the event loop turns before the main module, and 'disconnect' was emitted to no listener. Such
// a pod lived on as an orphan. Block 10.88 (127.88.x).
import t from 'tap';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawn } from 'node:child_process';

const CLI = path.resolve(__dirname, '..', '..', 'dist', 'src', 'cli', 'main.js');
const EXIT_WITHIN_MS = 15_000;

const SCENARIO = `name: runner-gone
nodes:
  - { name: node-a, ip: 10.88.0.1 }
workloads:
  - { name: echo, namespace: default, serviceAccount: echo, node: node-a, ip: 10.88.2.5, labels: { app: echo }, run: { app: echo, port: 8080 } }
services: []
expect: []
`;

t.test('the runner gone before the main module ran: the app stops, exit 0', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hbone-cli-disconnect-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'scenario.yaml');
  fs.writeFileSync(file, SCENARIO);
  // Holds the main module back, as a loader hook would, while the event loop runs.
  const slowStart = path.join(dir, 'slow-start.mjs');
  fs.writeFileSync(slowStart, 'await new Promise((resolve) => setTimeout(resolve, 500));\n');

  const child = spawn(process.execPath, [CLI, 'app', '--scenario', file, '--pod', 'echo'], {
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    env: { ...process.env, HBONE_LOG: 'info', NODE_OPTIONS: `--import=${slowStart}` },
  });
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  child.disconnect(); // the runner goes away at once

  const timer = setTimeout(() => child.kill('SIGKILL'), EXIT_WITHIN_MS);
  const exit = await exited;
  clearTimeout(timer);
  t.same(exit, { code: 0, signal: null }, `it exited by itself (a SIGKILL after ${EXIT_WITHIN_MS} ms means it lived on)`, { stderr });
  t.match(stderr, /shutting down\treason="the runner went away"/);
});
