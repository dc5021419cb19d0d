// ztunnel's certificates by identity, as its SecretManager keeps them: the pods of one service
// account on a node share one certificate (one CSR to istiod, one renewal), asked for once
// however many of those pods are enrolled at the same time, and given up (renewal stopped) when
// the last of them leaves. A failed request is not kept: the next pod of that identity asks again.
import type { WorkloadCertificate } from '../identity/workload-cert';
import { formatSpiffeId, SpiffeId } from '../identity/spiffe';

interface Entry {
  readonly obtaining: Promise<WorkloadCertificate>;
  cert?: WorkloadCertificate;
  /** Pods holding it, or waiting for it. */
  users: number;
}

export class CertificateCache {
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly obtain: (id: SpiffeId) => Promise<WorkloadCertificate>) {}

  /** The identity's certificate, obtained if no pod holds it yet; hand it back with release(). */
  async acquire(id: SpiffeId): Promise<WorkloadCertificate> {
    const key = formatSpiffeId(id);
    let entry = this.entries.get(key);
    if (!entry) {
      const fresh: Entry = { obtaining: this.obtain(id), users: 0 };
      this.entries.set(key, fresh);
      fresh.obtaining.then(
        (cert) => {
          fresh.cert = cert;
          // Every pod's HBONE server listens for its renewal: more than EventEmitter's 10 is expected.
          cert.setMaxListeners(0);
          // Its pods all left while it was being obtained: nobody will release it.
          if (fresh.users === 0) this.drop(key, fresh);
        },
        () => this.drop(key, fresh),
      );
      entry = fresh;
    }
    entry.users++;
    try {
      return await entry.obtaining;
    } catch (err) {
      entry.users--;
      throw err;
    }
  }

  /** A pod no longer uses it: the last one out stops its renewal. */
  release(cert: WorkloadCertificate): void {
    const key = cert.spiffeId;
    const entry = this.entries.get(key);
    if (!entry || entry.cert !== cert) return void cert.stop();
    entry.users--;
    if (entry.users <= 0) this.drop(key, entry);
  }

  /** The certificates held now, one per identity (what /config_dump lists). */
  held(): WorkloadCertificate[] {
    return [...this.entries.values()].flatMap((e) => (e.cert ? [e.cert] : []));
  }

  private drop(key: string, entry: Entry): void {
    if (this.entries.get(key) === entry) this.entries.delete(key);
    entry.cert?.stop();
  }
}
