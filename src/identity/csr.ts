// Certificate signing requests (PKCS #10), as a workload's agent sends them to istiod's CA: the
// key pair is generated where it is used, and only the CSR (public key, SPIFFE URI SAN, signed
// with the private key) travels. istiod verifies the signature and reads the identity asked for.
import { x509, EC_SIGNING_ALGORITHM, generateKeyPair, toPem, fromPem } from './crypto';

const SUBJECT_ALT_NAME_OID = '2.5.29.17';

export interface CsrAndKey {
  readonly csrPem: string;
  readonly privateKeyPem: string;
}

/** A new key pair and a CSR for `spiffeId` signed with it. */
export async function createCsr(spiffeId: string): Promise<CsrAndKey> {
  const pair = await generateKeyPair();
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    keys: pair.keys,
    signingAlgorithm: EC_SIGNING_ALGORITHM,
    extensions: [new x509.SubjectAlternativeNameExtension([{ type: 'url', value: spiffeId }], true)],
  });
  return { csrPem: toPem(csr.rawData, 'CERTIFICATE REQUEST'), privateKeyPem: pair.privateKeyPem };
}

export interface VerifiedCsr {
  /** The SPIFFE ids the CSR names in its URI SANs. */
  readonly uris: readonly string[];
  readonly publicKeyPem: string;
}

/** Parses a CSR and checks its self-signature; throws with the reason when it is not one. */
export async function verifyCsr(csrPem: string): Promise<VerifiedCsr> {
  let csr: x509.Pkcs10CertificateRequest;
  try {
    csr = new x509.Pkcs10CertificateRequest(fromPem(csrPem, 'CERTIFICATE REQUEST'));
  } catch (err) {
    throw new Error(`not a PKCS #10 CSR: ${(err as Error).message}`, { cause: err });
  }
  if (!(await csr.verify())) throw new Error('the CSR signature does not verify');
  // Read by OID: a CSR's extensions come back as generic Extension objects.
  const raw = csr.getExtension(SUBJECT_ALT_NAME_OID);
  const san = raw ? new x509.SubjectAlternativeNameExtension(raw.rawData) : undefined;
  const uris = (san?.names.toJSON() ?? []).filter((n) => n.type === 'url').map((n) => n.value);
  return { uris, publicKeyPem: toPem(csr.publicKey.rawData, 'PUBLIC KEY') };
}
