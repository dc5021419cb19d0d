// One place that wires @peculiar/x509 to Node's WebCrypto; every identity module imports from here.
import 'reflect-metadata'; // @peculiar/x509's dependency injection needs it loaded first.
import { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

export { x509, webcrypto };

/** ECDSA P-256 with SHA-256: what Istio's CA and ztunnel use for workload certificates. */
export const EC_KEY_ALGORITHM = { name: 'ECDSA', namedCurve: 'P-256' } as const;
export const EC_SIGNING_ALGORITHM = { name: 'ECDSA', hash: 'SHA-256' } as const;

export interface KeyPairPem {
  readonly privateKeyPem: string;
  readonly publicKeyPem: string;
  readonly keys: webcrypto.CryptoKeyPair;
}

/** A fresh P-256 key pair, generated where it is used (the private key never travels). */
export async function generateKeyPair(): Promise<KeyPairPem> {
  const keys = (await webcrypto.subtle.generateKey(EC_KEY_ALGORITHM, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const pkcs8 = await webcrypto.subtle.exportKey('pkcs8', keys.privateKey as webcrypto.CryptoKey);
  const spki = await webcrypto.subtle.exportKey('spki', keys.publicKey as webcrypto.CryptoKey);
  return {
    privateKeyPem: toPem(pkcs8, 'PRIVATE KEY'),
    publicKeyPem: toPem(spki, 'PUBLIC KEY'),
    keys,
  };
}

export async function importPrivateKeyPem(pem: string): Promise<webcrypto.CryptoKey> {
  const der = fromPem(pem, 'PRIVATE KEY');
  return await webcrypto.subtle.importKey('pkcs8', der, EC_KEY_ALGORITHM, true, ['sign']);
}

export function toPem(der: ArrayBuffer | Uint8Array, label: string): string {
  const b64 = Buffer.from(der as ArrayBuffer).toString('base64');
  const lines = b64.match(/.{1,64}/g) ?? [];
  // Always end with a newline: @peculiar/x509's PEM has none, and concatenated chains need one.
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}

export function fromPem(pem: string, label: string): Buffer {
  const re = new RegExp(`-----BEGIN ${label}-----([^-]+)-----END ${label}-----`);
  const m = re.exec(pem);
  if (!m) throw new Error(`no "${label}" PEM block found`);
  return Buffer.from(m[1].replace(/\s+/g, ''), 'base64');
}

/** Splits a PEM bundle into its certificate blocks, each ending with a newline. */
export function splitPemCertificates(bundle: string): string[] {
  return (bundle.match(/-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g) ?? []).map((c) => `${c}\n`);
}
