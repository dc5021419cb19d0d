// Finding a running mesh: its kubeconfig, owner-only, and the pid of the runner that wrote it.
// A mesh whose runner died without its teardown (kill -9) is not running: its files are removed
// and the other mesh is found alone.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ENV_HOME, kubeconfigPath, knownMeshes, readKubeconfig, writeKubeconfig } from '../../src/runner/kubeconfig';
import type { ClusterCredentials } from '../../src/identity/cluster-ca';

const creds = { caPem: 'CA', admin: { certPem: 'CERT', keyPem: 'KEY' } } as unknown as ClusterCredentials;

t.test("a dead runner's mesh is not running, and its files go", async (t) => {
  const home = t.testdir();
  process.env[ENV_HOME] = home;
  t.teardown(() => delete process.env[ENV_HOME]);
  writeKubeconfig('alive', 'https://127.0.0.1:1', creds);
  t.equal(fs.statSync(kubeconfigPath('alive')).mode & 0o777, 0o600);
  writeKubeconfig('dead', 'https://127.0.0.1:2', creds);
  // The pid of a process that has exited.
  const gone = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']).stdout.toString();
  fs.writeFileSync(path.join(path.dirname(kubeconfigPath('dead')), 'pid'), gone);
  t.same(knownMeshes(), ['alive']);
  t.notOk(fs.existsSync(kubeconfigPath('dead')), 'removed');
  t.equal(readKubeconfig().server, 'https://127.0.0.1:1', 'the one left is found alone');
  t.throws(() => readKubeconfig('dead'), { message: 'no mesh named dead is running (running: alive)' });
});
