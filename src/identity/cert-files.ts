// A workload certificate written to disk for a third-party client (curl, openssl s_client,
// nghttpx), its files named as Istio names them (`hbone-sim cert` writes them). The certificate
// comes from the CA in certs/ (no mesh running) or from a running mesh's istiod.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { generateKeyPair } from './crypto';
import { loadOrCreateCa, defaultCaDir } from './ca-store';
import { parseSpiffeId } from './spiffe';
import { DEFAULT_LEAF_LIFETIME_MS, IssuedCertificate } from './ca';

export const CERT_CHAIN_FILE = 'cert-chain.pem';
export const KEY_FILE = 'key.pem';
export const ROOT_FILE = 'root-cert.pem';

export interface CertFilesOptions {
  spiffe: string;
  out: string;
  caDir?: string;
  lifetimeMs?: number;
}

export interface WrittenCert {
  readonly chain: string;
  readonly key: string;
  readonly root: string;
  readonly serial: string;
}

/** Signs locally with the CA in `caDir` (made on first use) and writes the three files. */
export async function writeWorkloadCert(opts: CertFilesOptions): Promise<WrittenCert> {
  const id = parseSpiffeId(opts.spiffe);
  const ca = await loadOrCreateCa(opts.caDir ?? defaultCaDir(), id.trustDomain);
  const pair = await generateKeyPair();
  const issued = await ca.issue(id, pair.publicKeyPem, { lifetimeMs: opts.lifetimeMs ?? DEFAULT_LEAF_LIFETIME_MS });
  return writeCertFiles(opts.out, issued, pair.privateKeyPem);
}

/** cert-chain.pem, key.pem (owner-only) and root-cert.pem in `out`, made if missing. */
export function writeCertFiles(out: string, issued: IssuedCertificate, privateKeyPem: string): WrittenCert {
  fs.mkdirSync(out, { recursive: true });
  const files = { chain: path.join(out, CERT_CHAIN_FILE), key: path.join(out, KEY_FILE), root: path.join(out, ROOT_FILE) };
  fs.writeFileSync(files.chain, issued.chainPem);
  fs.writeFileSync(files.key, privateKeyPem, { mode: 0o600 });
  fs.chmodSync(files.key, 0o600);
  fs.writeFileSync(files.root, issued.rootPem);
  return { ...files, serial: issued.serial };
}
