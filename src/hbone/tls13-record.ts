// One TLS 1.3 record protected under a traffic secret (RFC 8446 sections 5.2, 5.3 and 7.3), so
// the HBONE server can put an alert on the wire after OpenSSL's handshake is done (see
// tls-alert-sender.ts for why it must). Keys come from the secret by HKDF-Expand-Label; the
// nonce is the IV XOR the record's sequence number; the record hides its true content type
// behind application_data.
import { createCipheriv, createHmac } from 'node:crypto';

const CONTENT_APPLICATION_DATA = 23;
const LEGACY_RECORD_VERSION = 0x0303;
const RECORD_HEADER_BYTES = 5;
const AEAD_TAG_BYTES = 16;
const IV_BYTES = 12;
const LABEL_PREFIX = 'tls13 ';

interface Suite {
  readonly hash: 'sha256' | 'sha384';
  readonly cipher: 'aes-128-gcm' | 'aes-256-gcm' | 'chacha20-poly1305';
  readonly keyBytes: number;
}

/** The TLS 1.3 suites OpenSSL enables by default, by the name getCipher() reports. */
const SUITES: Readonly<Record<string, Suite>> = {
  TLS_AES_128_GCM_SHA256: { hash: 'sha256', cipher: 'aes-128-gcm', keyBytes: 16 },
  TLS_AES_256_GCM_SHA384: { hash: 'sha384', cipher: 'aes-256-gcm', keyBytes: 32 },
  TLS_CHACHA20_POLY1305_SHA256: { hash: 'sha256', cipher: 'chacha20-poly1305', keyBytes: 32 },
};

export function supportedSuite(name: string): boolean {
  return name in SUITES;
}

/**
 * HKDF-Expand-Label (RFC 8446 section 7.1) for outputs of at most one hash block, which is all
 * a traffic key or IV needs: T(1) = HMAC(secret, HkdfLabel || 0x01).
 */
export function hkdfExpandLabel(hash: Suite['hash'], secret: Buffer, label: string, context: Buffer, length: number): Buffer {
  const fullLabel = Buffer.from(LABEL_PREFIX + label, 'latin1');
  const info = Buffer.concat([Buffer.from([length >> 8, length & 0xff, fullLabel.length]), fullLabel, Buffer.from([context.length]), context]);
  const block = createHmac(hash, secret)
    .update(info)
    .update(Buffer.from([1]))
    .digest();
  if (length > block.length) throw new Error(`HKDF-Expand-Label: ${length} bytes is more than one ${hash} block`);
  return block.subarray(0, length);
}

/**
 * The record carrying `content` of `contentType` as the `seq`-th record under `secret`, for
 * the named suite (what TLSSocket.getCipher().name reports).
 */
export function sealRecord(suiteName: string, secret: Buffer, seq: number, contentType: number, content: Buffer): Buffer {
  const suite = SUITES[suiteName];
  if (!suite) throw new Error(`TLS 1.3 suite ${suiteName} is not supported here`);
  const key = hkdfExpandLabel(suite.hash, secret, 'key', Buffer.alloc(0), suite.keyBytes);
  const iv = hkdfExpandLabel(suite.hash, secret, 'iv', Buffer.alloc(0), IV_BYTES);
  const nonce = Buffer.from(iv);
  const seqBytes = Buffer.alloc(8);
  seqBytes.writeBigUInt64BE(BigInt(seq));
  for (let i = 0; i < 8; i++) nonce[IV_BYTES - 8 + i] ^= seqBytes[i];
  // TLSInnerPlaintext: the content, then its real type; no padding.
  const inner = Buffer.concat([content, Buffer.from([contentType])]);
  const header = Buffer.alloc(RECORD_HEADER_BYTES);
  header[0] = CONTENT_APPLICATION_DATA;
  header.writeUInt16BE(LEGACY_RECORD_VERSION, 1);
  header.writeUInt16BE(inner.length + AEAD_TAG_BYTES, 3);
  const cipher = suite.cipher === 'chacha20-poly1305' ? createCipheriv(suite.cipher, key, nonce) : createCipheriv(suite.cipher, key, nonce);
  cipher.setAAD(header, { plaintextLength: inner.length });
  return Buffer.concat([header, cipher.update(inner), cipher.final(), cipher.getAuthTag()]);
}
