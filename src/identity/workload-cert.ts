// A workload's own certificate and key, renewed at half-life as ztunnel's SecretManager does.
// Renewal only changes what new connections present; open TLS sessions keep theirs.
import { EventEmitter } from 'node:events';
import { generateKeyPair } from './crypto';
import { createCsr } from './csr';
import { IssuedCertificate, IssueOptions } from './ca';
import { SpiffeId, formatSpiffeId } from './spiffe';

const RENEW_RETRY_MS = 1000;

/** What TLS needs to present this identity; handed to node:tls as-is. */
export interface TlsMaterial {
  readonly cert: string; // leaf + root chain, PEM
  readonly key: string;
  readonly ca: string; // the mesh root, the only trust anchor
}

/** Something that can sign a workload's public key: the in-process CA. */
export interface CertificateIssuer {
  issue(id: SpiffeId, publicKeyPem: string, options?: IssueOptions): Promise<IssuedCertificate>;
}

/** A CA reached over the wire (istiod's): it gets a CSR, so the key never leaves this process. */
export interface CsrSigner {
  signCsr(csrPem: string, id: SpiffeId, options: IssueOptions): Promise<IssuedCertificate>;
}

/** Where a workload's certificate comes from: the CA in this process, or istiod's over the wire. */
export type CertificateSource = CertificateIssuer | CsrSigner;

export interface WorkloadCertificateEvents {
  renewed: [IssuedCertificate];
  error: [Error];
}

export class WorkloadCertificate extends EventEmitter<WorkloadCertificateEvents> {
  private current!: IssuedCertificate;
  private key!: string;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  private constructor(
    readonly id: SpiffeId,
    private readonly issuer: CertificateSource,
    private readonly options: IssueOptions,
  ) {
    super();
  }

  /** Generates a key, gets it signed and schedules renewal at half-life. */
  static async obtain(id: SpiffeId, issuer: CertificateSource, options: IssueOptions = {}): Promise<WorkloadCertificate> {
    const wc = new WorkloadCertificate(id, issuer, options);
    await wc.refresh();
    return wc;
  }

  get spiffeId(): string {
    return formatSpiffeId(this.id);
  }

  get certificate(): IssuedCertificate {
    return this.current;
  }

  get tls(): TlsMaterial {
    return { cert: this.current.chainPem, key: this.key, ca: this.current.rootPem };
  }

  /** Half-life of the current certificate: when the next renewal happens. */
  get renewAt(): Date {
    const { notBefore, notAfter } = this.current;
    return new Date(notBefore.getTime() + (notAfter.getTime() - notBefore.getTime()) / 2);
  }

  /** Stops renewing; the current certificate stays usable until it expires. */
  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
  }

  private async refresh(): Promise<void> {
    let issued: IssuedCertificate;
    let key: string;
    if ('signCsr' in this.issuer) {
      const csr = await createCsr(this.spiffeId);
      issued = await this.issuer.signCsr(csr.csrPem, this.id, this.options);
      key = csr.privateKeyPem;
    } else {
      const pair = await generateKeyPair();
      issued = await this.issuer.issue(this.id, pair.publicKeyPem, this.options);
      key = pair.privateKeyPem;
    }
    const first = this.current === undefined;
    this.current = issued;
    this.key = key;
    if (!first) this.emit('renewed', issued);
    this.schedule();
  }

  private schedule(delayMs = Math.max(0, this.renewAt.getTime() - Date.now())): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => void this.renew(), delayMs);
    // A certificate timer alone must not keep a process alive.
    this.timer.unref();
  }

  private async renew(): Promise<void> {
    try {
      await this.refresh();
    } catch (err) {
      // Keep serving with the current certificate and try again soon.
      if (this.listenerCount('error') > 0) this.emit('error', err as Error);
      this.schedule(RENEW_RETRY_MS);
    }
  }
}
