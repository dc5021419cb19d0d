// The proxies' side of istiod's CA (Istio's CreateCertificate): a CSR goes out over the istiod
// session, the signed chain comes back. ztunnel names the pod it asks for as the impersonated
// identity; istiod checks that the pod runs on this ztunnel's node.
import type * as http2 from 'node:http2';
import { splitPemCertificates } from '../identity/crypto';
import { IssuedCertificate, IssueOptions, issuedFromPem } from '../identity/ca';
import type { CsrSigner } from '../identity/workload-cert';
import { SpiffeId, formatSpiffeId } from '../identity/spiffe';
import { connectIstiod, IstiodEndpoint, bearer, HEADER_AUTHORIZATION } from './istiod-session';
import { CSR_PATH } from './types';

const CSR_TIMEOUT_MS = 10_000;
/** A CSR answer is two certificates; anything much larger is not one. */
const MAX_ANSWER_BYTES = 64 * 1024;

/** The request body, with Istio's field names. */
export interface CsrRequest {
  readonly csr: string;
  /** Seconds, as Istio's validity_duration. */
  readonly validityDuration: number;
  readonly metadata?: { readonly ImpersonatedIdentity?: string };
}

export interface CsrResponse {
  /** The leaf first, the root last. */
  readonly certChain: readonly string[];
}

export class CaClientError extends Error {
  override name = 'CaClientError';
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

/** One connection to istiod, kept for the CSRs that follow while it presents the current certificate. */
interface CaSession {
  readonly session: http2.ClientHttp2Session;
  /** The client certificate it presented (none before the proxy had one). */
  readonly cert: string | undefined;
  /** CSRs in flight on it: only they keep the process alive. */
  inFlight: number;
}

export class IstiodCaClient implements CsrSigner {
  private current?: CaSession;

  /** `impersonate`: ask for identities other than the caller's own (ztunnel, for its node's pods). */
  constructor(
    private readonly endpoint: IstiodEndpoint,
    private readonly impersonate = false,
  ) {}

  /** Closes the kept connection (the proxy is stopping). */
  close(): void {
    this.current?.session.close();
    this.current = undefined;
  }

  /**
   * The kept connection, or a new one: as ztunnel keeps one channel to istiod's CA, so a node's
   * pods cost one TLS handshake, not one each. A renewed client certificate opens a new one (the
   * old one finishes its requests and closes), so istiod always sees the current certificate.
   */
  private session(): CaSession {
    const cert = this.endpoint.clientCertificate?.()?.cert;
    const kept = this.current;
    if (kept && !kept.session.closed && !kept.session.destroyed && kept.cert === cert) return kept;
    kept?.session.close();
    const session = connectIstiod(this.endpoint);
    const fresh: CaSession = { session, cert, inFlight: 0 };
    // A request in flight sees the failure through its own stream; the session is forgotten.
    const forget = (): void => {
      if (this.current === fresh) this.current = undefined;
    };
    session.on('error', forget);
    session.on('close', forget);
    session.on('goaway', forget);
    this.current = fresh;
    return fresh;
  }

  async signCsr(csrPem: string, id: SpiffeId, options: IssueOptions): Promise<IssuedCertificate> {
    const identity = formatSpiffeId(id);
    const body: CsrRequest = {
      csr: csrPem,
      validityDuration: Math.round((options.lifetimeMs ?? 24 * 3600 * 1000) / 1000),
      ...(this.impersonate ? { metadata: { ImpersonatedIdentity: identity } } : {}),
    };
    const ca = this.session();
    if (ca.inFlight++ === 0) ca.session.ref();
    try {
      const { status, text } = await post(ca.session, CSR_PATH, this.endpoint.token, JSON.stringify(body));
      if (status !== 200) throw new CaClientError(`istiod refused a certificate for ${identity}: ${status} ${messageOf(text)}`, status);
      const answer = JSON.parse(text) as CsrResponse;
      const chain = (answer.certChain ?? []).flatMap(splitPemCertificates);
      if (chain.length < 2) throw new CaClientError(`istiod answered a CSR for ${identity} without a chain`, status);
      const issued = issuedFromPem(chain[0], chain[chain.length - 1]);
      if (issued.spiffeId !== identity) throw new CaClientError(`istiod signed ${issued.spiffeId || 'no identity'} for a CSR of ${identity}`, status);
      return issued;
    } finally {
      // An idle connection kept for later CSRs must not keep a process alive (`hbone-sim cert`).
      if (--ca.inFlight === 0 && !ca.session.destroyed) ca.session.unref();
    }
  }
}

function messageOf(text: string): string {
  try {
    return (JSON.parse(text) as { message?: string }).message ?? text;
  } catch {
    return text;
  }
}

function post(session: http2.ClientHttp2Session, path: string, token: string, body: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    // The connection's own failure (istiod not up yet) says more than the stream's cancellation.
    session.once('error', reject);
    const req = session.request({ ':method': 'POST', ':path': path, 'content-type': 'application/json', [HEADER_AUTHORIZATION]: bearer(token) });
    req.setTimeout(CSR_TIMEOUT_MS, () => req.close());
    let status = 0;
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('response', (h) => (status = Number(h[':status'])));
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_ANSWER_BYTES) return req.close();
      chunks.push(c);
    });
    req.on('error', reject);
    req.on('close', () => {
      session.off('error', reject);
      if (status === 0) reject(new CaClientError(`no answer from istiod to ${path}`, 0));
      else resolve({ status, text: Buffer.concat(chunks).toString('utf8') });
    });
    req.end(body);
  });
}
