// The mesh CA: a self-signed ECDSA P-256 root that signs SPIFFE workload certificates,
// playing istiod's role (Istio's self-signed root has subject O=<trust domain>).
import { randomBytes, X509Certificate } from 'node:crypto';
import { x509, webcrypto, EC_KEY_ALGORITHM, EC_SIGNING_ALGORITHM, generateKeyPair, importPrivateKeyPem, toPem, fromPem } from './crypto';
import { DEFAULT_TRUST_DOMAIN, SpiffeId, formatSpiffeId } from './spiffe';

export const ROOT_LIFETIME_MS = 10 * 365 * 24 * 3600 * 1000; // Istio's self-signed root: 10 years.
export const DEFAULT_LEAF_LIFETIME_MS = 24 * 3600 * 1000; // Istio's workload certificates: 24 h.

export interface IssuedCertificate {
  /** The leaf, PEM. */
  readonly certPem: string;
  /** Leaf then root, PEM: what a workload presents and what `cert-chain.pem` holds. */
  readonly chainPem: string;
  readonly rootPem: string;
  readonly serial: string;
  readonly notBefore: Date;
  readonly notAfter: Date;
  readonly spiffeId: string;
}

export interface IssueOptions {
  readonly lifetimeMs?: number;
  /** DNS names beside the SPIFFE id: istiod's serving certificate names istiod.istio-system.svc. */
  readonly dnsNames?: readonly string[];
}

export class MeshCa {
  private constructor(
    readonly trustDomain: string,
    readonly rootPem: string,
    private readonly rootCert: x509.X509Certificate,
    private readonly rootKey: webcrypto.CryptoKey,
    readonly rootKeyPem: string,
  ) {}

  /** Makes a new self-signed root in memory. */
  static async create(trustDomain = DEFAULT_TRUST_DOMAIN): Promise<MeshCa> {
    const { keys, privateKeyPem } = await generateKeyPair();
    const now = Date.now();
    const root = await x509.X509CertificateGenerator.createSelfSigned({
      serialNumber: randomSerial(),
      name: `O=${trustDomain}`,
      notBefore: new Date(now - 60_000),
      notAfter: new Date(now + ROOT_LIFETIME_MS),
      signingAlgorithm: EC_SIGNING_ALGORITHM,
      keys,
      extensions: [
        new x509.BasicConstraintsExtension(true, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
        await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      ],
    });
    return new MeshCa(trustDomain, toPem(root.rawData, 'CERTIFICATE'), root, keys.privateKey, privateKeyPem);
  }

  /** Loads a root made earlier; the trust domain is read back from its subject. */
  static async fromPem(rootPem: string, rootKeyPem: string): Promise<MeshCa> {
    const root = new x509.X509Certificate(fromPem(rootPem, 'CERTIFICATE'));
    const key = await importPrivateKeyPem(rootKeyPem);
    const org = /O=([^,]+)/.exec(root.subject);
    return new MeshCa(org ? org[1] : DEFAULT_TRUST_DOMAIN, toPem(root.rawData, 'CERTIFICATE'), root, key, rootKeyPem);
  }

  /**
   * Signs a workload certificate for a public key generated elsewhere, as istiod answers a CSR.
   * The leaf carries only the SPIFFE URI SAN (marked critical, since the subject is empty).
   */
  async issue(id: SpiffeId, publicKeyPem: string, options: IssueOptions = {}): Promise<IssuedCertificate> {
    const lifetime = options.lifetimeMs ?? DEFAULT_LEAF_LIFETIME_MS;
    const spiffeId = formatSpiffeId(id);
    const publicKey = await webcrypto.subtle.importKey('spki', fromPem(publicKeyPem, 'PUBLIC KEY'), EC_KEY_ALGORITHM, true, ['verify']);
    // X.509 times have one-second resolution; start on a whole second so the half-life is exact.
    const notBefore = new Date(Math.floor(Date.now() / 1000) * 1000);
    const notAfter = new Date(notBefore.getTime() + lifetime);
    const leaf = await x509.X509CertificateGenerator.create({
      serialNumber: randomSerial(),
      subject: '',
      issuer: this.rootCert.subject,
      notBefore,
      notAfter,
      signingAlgorithm: EC_SIGNING_ALGORITHM,
      publicKey,
      signingKey: this.rootKey,
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
        new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth]),
        await x509.AuthorityKeyIdentifierExtension.create(this.rootCert),
        new x509.SubjectAlternativeNameExtension(
          [{ type: 'url', value: spiffeId }, ...(options.dnsNames ?? []).map((value) => ({ type: 'dns' as const, value }))],
          true,
        ),
      ],
    });
    const certPem = toPem(leaf.rawData, 'CERTIFICATE');
    return {
      certPem,
      chainPem: certPem + this.rootPem,
      rootPem: this.rootPem,
      serial: new X509Certificate(certPem).serialNumber,
      notBefore,
      notAfter,
      spiffeId,
    };
  }
}

function randomSerial(): string {
  const bytes = randomBytes(16);
  bytes[0] &= 0x7f; // keep it positive in DER
  return bytes.toString('hex');
}

/** An IssuedCertificate read back from a leaf and its root, as a CA client receives them. */
export function issuedFromPem(certPem: string, rootPem: string): IssuedCertificate {
  const leaf = new X509Certificate(certPem);
  const uri = /URI:(spiffe:\/\/[^,\s]+)/.exec(leaf.subjectAltName ?? '');
  return {
    certPem,
    chainPem: certPem + rootPem,
    rootPem,
    serial: leaf.serialNumber,
    notBefore: new Date(leaf.validFrom),
    notAfter: new Date(leaf.validTo),
    spiffeId: uri ? uri[1] : '',
  };
}
