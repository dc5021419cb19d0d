// Where a running mesh can be found: a kubeconfig (kubectl's format) that `up` writes and
// removes at teardown, readable only by its owner since it holds the admin's key. Commands
// find the mesh there: `--mesh NAME`, or the only mesh running. Beside it, the runner's pid: a
// mesh whose runner died without its teardown (kill -9) is not "running", and its files go.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parse, stringify } from 'yaml';
import type { ClusterCredentials } from '../identity/cluster-ca';

/** Overrides ~/.hbone-sim (tests point it at a temporary directory). */
export const ENV_HOME = 'HBONE_SIM_HOME';
const USER = 'kubernetes-admin';

export interface MeshAccess {
  readonly mesh: string;
  /** https://127.0.0.1:port */
  readonly server: string;
  readonly caPem: string;
  readonly certPem: string;
  readonly keyPem: string;
}

export function meshesDir(): string {
  return path.join(process.env[ENV_HOME] ?? path.join(os.homedir(), '.hbone-sim'), 'meshes');
}

export function kubeconfigPath(mesh: string): string {
  return path.join(meshesDir(), mesh, 'kubeconfig');
}

function pidPath(mesh: string): string {
  return path.join(meshesDir(), mesh, 'pid');
}

/** False once the runner that wrote the mesh's files is gone. */
function runnerAlive(mesh: string): boolean {
  let pid: number;
  try {
    pid = Number(fs.readFileSync(pidPath(mesh), 'utf8'));
  } catch {
    return true; // written by a version that kept no pid: take it as running
  }
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export function writeKubeconfig(mesh: string, server: string, creds: ClusterCredentials): string {
  const file = kubeconfigPath(mesh);
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const b64 = (s: string) => Buffer.from(s).toString('base64');
  const context = `hbone-sim-${mesh}`;
  const doc = {
    apiVersion: 'v1',
    kind: 'Config',
    'current-context': context,
    clusters: [{ name: context, cluster: { server, 'certificate-authority-data': b64(creds.caPem) } }],
    users: [{ name: USER, user: { 'client-certificate-data': b64(creds.admin.certPem), 'client-key-data': b64(creds.admin.keyPem) } }],
    contexts: [{ name: context, context: { cluster: context, user: USER } }],
  };
  // Written whole and owner-only before it is visible under its name.
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, stringify(doc), { mode: 0o600 });
  fs.chmodSync(tmp, 0o600);
  fs.renameSync(tmp, file);
  fs.writeFileSync(pidPath(mesh), String(process.pid), { mode: 0o600 });
  return file;
}

export function removeKubeconfig(mesh: string): void {
  fs.rmSync(path.dirname(kubeconfigPath(mesh)), { recursive: true, force: true });
}

/** The meshes that have a kubeconfig and a live runner; a dead runner's files are removed. */
export function knownMeshes(): string[] {
  let names: string[];
  try {
    names = fs
      .readdirSync(meshesDir(), { withFileTypes: true })
      .filter((e) => e.isDirectory() && fs.existsSync(kubeconfigPath(e.name)))
      .map((e) => e.name);
  } catch {
    return [];
  }
  const alive = names.filter((name) => {
    if (runnerAlive(name)) return true;
    removeKubeconfig(name);
    return false;
  });
  return alive.sort();
}

export class NoMesh extends Error {
  override name = 'NoMesh';
}

/** The mesh named, or the only one running; a clear error otherwise. */
export function readKubeconfig(mesh?: string): MeshAccess {
  const known = knownMeshes();
  const name = mesh ?? (known.length === 1 ? known[0] : undefined);
  if (!name) {
    throw new NoMesh(
      known.length === 0
        ? `no mesh is running (start one with: hbone-sim up bookinfo); looked in ${meshesDir()}`
        : `several meshes are running (${known.join(', ')}): pick one with --mesh NAME`,
    );
  }
  const file = kubeconfigPath(name);
  if (!fs.existsSync(file)) throw new NoMesh(`no mesh named ${name} is running${known.length ? ` (running: ${known.join(', ')})` : ''}`);
  const mode = fs.statSync(file).mode & 0o077;
  if (mode !== 0)
    throw new NoMesh(`${file} is readable by others (mode ${(fs.statSync(file).mode & 0o777).toString(8)}); it holds the admin key: chmod 600 it`);
  const doc = parse(fs.readFileSync(file, 'utf8')) as {
    clusters: { cluster: { server: string; 'certificate-authority-data': string } }[];
    users: { user: { 'client-certificate-data': string; 'client-key-data': string } }[];
  };
  const unb64 = (s: string) => Buffer.from(s, 'base64').toString('utf8');
  return {
    mesh: name,
    server: doc.clusters[0].cluster.server,
    caPem: unb64(doc.clusters[0].cluster['certificate-authority-data']),
    certPem: unb64(doc.users[0].user['client-certificate-data']),
    keyPem: unb64(doc.users[0].user['client-key-data']),
  };
}
