// A workload certificate written to disk for a third-party client (curl, openssl s_client,
// nghttpx), its files named as Istio names them (`hbone-sim cert` writes them).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { generateKeyPair } from './crypto';
import { loadOrCreateCa, defaultCaDir } from './ca-store';
import { parseSpiffeId } from './spiffe';
import { DEFAULT_LEAF_LIFETIME_MS } from './ca';

export const CERT_CHAIN_FILE = 'cert-chain.pem';
export const KEY_FILE = 'key.pem';
export const ROOT_FILE = 'root-cert.pem';

export interface CertFilesOptions {
  spiffe: string;
  out: string;
  caDir?: string;
  lifetimeMs?: number;
}

export async function writeWorkloadCert(opts: CertFilesOptions): Promise<{ chain: string; key: string; root: string; serial: string }> {
  const id = parseSpiffeId(opts.spiffe);
  const ca = await loadOrCreateCa(opts.caDir ?? defaultCaDir(), id.trustDomain);
  const pair = await generateKeyPair();
  const issued = await ca.issue(id, pair.publicKeyPem, { lifetimeMs: opts.lifetimeMs ?? DEFAULT_LEAF_LIFETIME_MS });
  fs.mkdirSync(opts.out, { recursive: true });
  const files = { chain: path.join(opts.out, CERT_CHAIN_FILE), key: path.join(opts.out, KEY_FILE), root: path.join(opts.out, ROOT_FILE) };
  fs.writeFileSync(files.chain, issued.chainPem);
  fs.writeFileSync(files.key, pair.privateKeyPem, { mode: 0o600 });
  fs.writeFileSync(files.root, issued.rootPem);
  return { ...files, serial: issued.serial };
}
