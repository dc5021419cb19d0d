// The cluster's own CA, apart from the mesh's: as in Kubernetes, the API server's certificate
// and the admin's client certificate (kubeconfig) come from the cluster CA, never from Istio's
// root. Made fresh by `up` for each mesh and kept in memory; only the kubeconfig file (mode
// 0600) holds the admin's key.
import { randomBytes } from 'node:crypto';
import { x509, EC_SIGNING_ALGORITHM, generateKeyPair, toPem } from './crypto';

const LIFETIME_MS = 365 * 24 * 3600 * 1000;
/** kubeadm's admin: CN kubernetes-admin in the system:masters group. */
export const ADMIN_SUBJECT = 'CN=kubernetes-admin, O=system:masters';
export const ADMIN_GROUP = 'system:masters';

export interface KeyAndCert {
  readonly certPem: string;
  readonly keyPem: string;
}

export interface ClusterCredentials {
  readonly caPem: string;
  readonly server: KeyAndCert;
  readonly admin: KeyAndCert;
}

/** A cluster CA, a server certificate for `serverIp`, and the admin's client certificate. */
export async function makeClusterCredentials(serverIp: string): Promise<ClusterCredentials> {
  const caKeys = await generateKeyPair();
  const now = Date.now();
  const validity = { notBefore: new Date(now - 60_000), notAfter: new Date(now + LIFETIME_MS) };
  const ca = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: 'CN=kubernetes',
    ...validity,
    signingAlgorithm: EC_SIGNING_ALGORITHM,
    keys: caKeys.keys,
    extensions: [new x509.BasicConstraintsExtension(true, undefined, true), new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign, true)],
  });
  const leaf = async (subject: string, usage: string, extra: x509.Extension[]): Promise<KeyAndCert> => {
    const keys = await generateKeyPair();
    const cert = await x509.X509CertificateGenerator.create({
      serialNumber: serial(),
      subject,
      issuer: ca.subject,
      ...validity,
      signingAlgorithm: EC_SIGNING_ALGORITHM,
      publicKey: keys.keys.publicKey,
      signingKey: caKeys.keys.privateKey,
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
        new x509.ExtendedKeyUsageExtension([usage]),
        ...extra,
      ],
    });
    return { certPem: toPem(cert.rawData, 'CERTIFICATE'), keyPem: keys.privateKeyPem };
  };
  return {
    caPem: toPem(ca.rawData, 'CERTIFICATE'),
    server: await leaf('CN=kube-apiserver', x509.ExtendedKeyUsage.serverAuth, [new x509.SubjectAlternativeNameExtension([{ type: 'ip', value: serverIp }])]),
    admin: await leaf(ADMIN_SUBJECT, x509.ExtendedKeyUsage.clientAuth, []),
  };
}

function serial(): string {
  const bytes = randomBytes(16);
  bytes[0] &= 0x7f;
  return bytes.toString('hex');
}
