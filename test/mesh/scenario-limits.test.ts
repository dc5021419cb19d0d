// A scenario larger than this machine can start is refused, naming the limit: its file's
// size (before the file is read), and its numbers of nodes, pods and services.
import t from 'tap';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import { loadScenario, ScenarioError } from '../../src/mesh/load';
import { MAX_NODES, MAX_SCENARIO_BYTES, MAX_SERVICES, MAX_WORKLOADS } from '../../src/mesh/limits';
import { problemsOf, sized } from './fixtures/scenario-text';

t.test('at the caps a scenario loads', async (t) => {
  t.same(problemsOf(sized(MAX_NODES, MAX_WORKLOADS, MAX_SERVICES)), []);
});

t.test('one more node, pod or service than the cap is refused at its list, naming the limit', async (t) => {
  const file = 'big.yaml';
  t.same(problemsOf(sized(MAX_NODES + 1, 2, 1), file), [
    `${file}:3: nodes: ${MAX_NODES + 1} nodes, more than the ${MAX_NODES} a scenario may declare (MAX_NODES in src/mesh/limits.ts: each node is a ztunnel process and a node agent process, and the mesh must be ready within the runner's start-up timeout on this machine)`,
  ]);
  t.same(problemsOf(sized(2, MAX_WORKLOADS + 1, 1), file), [
    `${file}:6: workloads: ${MAX_WORKLOADS + 1} pods, more than the ${MAX_WORKLOADS} a scenario may declare (MAX_WORKLOADS in src/mesh/limits.ts: every pod starts in its node agent, and the mesh must be ready within the runner's start-up timeout on this machine)`,
  ]);
  const services = problemsOf(sized(2, 2, MAX_SERVICES + 1), file);
  t.same(services, [
    `${file}:9: services: ${MAX_SERVICES + 1} services, more than the ${MAX_SERVICES} a scenario may declare (MAX_SERVICES in src/mesh/limits.ts)`,
  ]);
  // Every list over its cap at once, and nothing else (the entries are not read).
  t.equal(problemsOf(sized(MAX_NODES + 1, MAX_WORKLOADS + 1, MAX_SERVICES + 1)).length, 3);
  // An alias counts what it stands for.
  const aliased = sized(2, 2, 1)
    .replace('workloads:', `spare: &pods\n${'  - {}\n'.repeat(MAX_WORKLOADS + 1)}workloads:`)
    .replace(/workloads:\n( {2}- .*\n)+/, 'workloads: *pods\n');
  t.match(problemsOf(aliased), [new RegExp(`^t\\.yaml:\\d+: workloads: ${MAX_WORKLOADS + 1} pods, more than the ${MAX_WORKLOADS} a scenario may declare`)]);
});

t.test('files', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hbone-limits-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const messageOf = (file: string): string => {
    try {
      loadScenario(file);
    } catch (err) {
      if (err instanceof ScenarioError) return err.message;
      throw err;
    }
    return '';
  };

  t.test('larger than the cap: refused by its size, unread', async (t) => {
    // 50 MB without writing them: a sparse file.
    const huge = path.join(dir, 'huge.yaml');
    fs.writeFileSync(huge, 'name: t\n');
    fs.truncateSync(huge, 50 * 1024 * 1024);
    t.match(
      messageOf(huge),
      new RegExp(
        `huge\\.yaml: the file is 50\\.0 MiB \\(52428800 bytes\\); a scenario file may be at most ${MAX_SCENARIO_BYTES / 1024} KiB \\(MAX_SCENARIO_BYTES in src/mesh/limits\\.ts\\)$`,
      ),
    );
    const over = path.join(dir, 'over.yaml');
    fs.writeFileSync(over, 'name: t\n' + '#'.repeat(MAX_SCENARIO_BYTES - 8) + '\n');
    t.match(
      messageOf(over),
      `over.yaml: the file is ${MAX_SCENARIO_BYTES / 1024 + 1} KiB (${MAX_SCENARIO_BYTES + 1} bytes); a scenario file may be at most ${MAX_SCENARIO_BYTES / 1024} KiB`,
    );
    const at = path.join(dir, 'at.yaml');
    fs.writeFileSync(at, sized(2, 2, 1) + '#'.repeat(MAX_SCENARIO_BYTES - sized(2, 2, 1).length - 1) + '\n');
    t.equal(fs.statSync(at).size, MAX_SCENARIO_BYTES);
    t.equal(messageOf(at), '', 'at the cap: loads');
  });

  t.test('not a regular file: refused without reading (a FIFO would block, /dev/zero never end)', async (t) => {
    const fifo = path.join(dir, 'fifo.yaml');
    execFileSync('mkfifo', [fifo]);
    t.match(messageOf(fifo), /fifo\.yaml: not a regular file; a scenario is a \.yaml file$/);
    t.match(messageOf('/dev/zero'), /^\/dev\/zero: not a regular file/);
    t.match(messageOf(dir), /not a regular file \(a directory\)/);
  });
});
