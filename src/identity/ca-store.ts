// The mesh root on disk: certs/root-cert.pem and certs/root-key.pem, made on first use.
// Several processes may start at once, so creation is serialised with a lock directory.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { MeshCa } from './ca';
import { DEFAULT_TRUST_DOMAIN } from './spiffe';
import { errorMessage } from '../error-message';

export const ROOT_CERT_FILE = 'root-cert.pem';
export const ROOT_KEY_FILE = 'root-key.pem';
const LOCK_DIR = '.create-lock';
const LOCK_WAIT_MS = 10_000;
const LOCK_POLL_MS = 25;
/** A lock older than this was left by a process that died while creating the root. */
const STALE_LOCK_MS = 30_000;

/** The project's default CA directory: `certs/` at the top of the checkout. */
export function defaultCaDir(): string {
  return path.resolve(__dirname, '..', '..', '..', 'certs');
}

export async function loadOrCreateCa(dir = defaultCaDir(), trustDomain = DEFAULT_TRUST_DOMAIN): Promise<MeshCa> {
  const certPath = path.join(dir, ROOT_CERT_FILE);
  const keyPath = path.join(dir, ROOT_KEY_FILE);
  const existing = await tryLoad(certPath, keyPath);
  if (existing) return existing;

  fs.mkdirSync(dir, { recursive: true });
  const lock = path.join(dir, LOCK_DIR);
  await acquire(lock);
  try {
    const raced = await tryLoad(certPath, keyPath);
    if (raced) return raced;
    const ca = await MeshCa.create(trustDomain);
    fs.writeFileSync(keyPath, ca.rootKeyPem, { mode: 0o600 });
    fs.writeFileSync(certPath, ca.rootPem);
    return ca;
  } finally {
    fs.rmSync(lock, { recursive: true, force: true });
  }
}

async function tryLoad(certPath: string, keyPath: string): Promise<MeshCa | undefined> {
  if (!fs.existsSync(certPath) || !fs.existsSync(keyPath)) return undefined;
  try {
    return await MeshCa.fromPem(fs.readFileSync(certPath, 'utf8'), fs.readFileSync(keyPath, 'utf8'));
  } catch (err) {
    throw new Error(`cannot load the mesh root from ${certPath} and ${keyPath}: ${errorMessage(err)}; delete both to make a new root`, { cause: err });
  }
}

async function acquire(lock: string): Promise<void> {
  const deadline = Date.now() + LOCK_WAIT_MS;
  for (;;) {
    try {
      fs.mkdirSync(lock);
      return;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const age = Date.now() - fs.statSync(lock, { throwIfNoEntry: false })!.mtimeMs;
      if (age > STALE_LOCK_MS) fs.rmSync(lock, { recursive: true, force: true });
      else if (Date.now() > deadline) throw new Error(`timed out waiting for ${lock}; remove it if no other hbone-sim is starting`, { cause: err });
      else await new Promise((r) => setTimeout(r, LOCK_POLL_MS));
    }
  }
}
