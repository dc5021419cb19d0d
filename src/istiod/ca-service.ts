// istiod's CA (Istio's IstioCertificateService.CreateCertificate): verifies the CSR, decides
// whether the caller may have that identity, and signs. A caller gets its own identity; a
// ztunnel may also ask for the identity of a pod on its own node (the impersonated identity),
// as Istio's node authorizer allows; anything else is refused and logged.
import type { MeshCa } from '../identity/ca';
import { verifyCsr } from '../identity/csr';
import { parseSpiffeId } from '../identity/spiffe';
import { MeshState } from '../mesh/state';
import { Logger } from '../telemetry/log';
import type { CsrRequest, CsrResponse } from '../xds/ca-client';
import type { Caller } from './authenticate';

/** Istio's bounds on validity_duration: at most its max workload certificate TTL (90 days). */
const MAX_VALIDITY_SECONDS = 90 * 24 * 3600;
const MIN_VALIDITY_SECONDS = 1;

export class CsrRefused extends Error {
  override name = 'CsrRefused';
  constructor(
    message: string,
    /** 400 for a malformed request, 403 for an identity the caller may not have. */
    readonly status: 400 | 403,
  ) {
    super(message);
  }
}

export class CaService {
  /** Certificates signed since start, for istiod's debug page and tests. */
  issued = 0;
  refused = 0;

  constructor(
    private readonly ca: MeshCa,
    private readonly state: () => MeshState,
    private readonly log: Logger,
  ) {}

  async createCertificate(caller: Caller, body: unknown): Promise<CsrResponse> {
    try {
      return await this.sign(caller, body);
    } catch (err) {
      if (err instanceof CsrRefused) {
        this.refused++;
        this.log.warn('CSR refused', { caller: caller.description, status: err.status, reason: err.message });
      }
      throw err;
    }
  }

  private async sign(caller: Caller, body: unknown): Promise<CsrResponse> {
    const req = body as Partial<CsrRequest>;
    if (typeof req.csr !== 'string') throw new CsrRefused('the request has no csr', 400);
    const validity = req.validityDuration ?? 24 * 3600;
    if (typeof validity !== 'number' || validity < MIN_VALIDITY_SECONDS || validity > MAX_VALIDITY_SECONDS) {
      throw new CsrRefused(`validityDuration must be ${MIN_VALIDITY_SECONDS} to ${MAX_VALIDITY_SECONDS} seconds`, 400);
    }
    let csr;
    try {
      csr = await verifyCsr(req.csr);
    } catch (err) {
      throw new CsrRefused((err as Error).message, 400);
    }
    if (csr.uris.length !== 1) throw new CsrRefused(`the CSR must name exactly one SPIFFE id, not ${csr.uris.length}`, 400);
    const wanted = csr.uris[0];
    const impersonated = req.metadata?.ImpersonatedIdentity;
    if (impersonated !== undefined && impersonated !== wanted)
      throw new CsrRefused(`the CSR names ${wanted} but the request impersonates ${impersonated}`, 400);
    this.authorize(caller, wanted);
    let id;
    try {
      id = parseSpiffeId(wanted);
    } catch (err) {
      throw new CsrRefused((err as Error).message, 400);
    }
    const issued = await this.ca.issue(id, csr.publicKeyPem, { lifetimeMs: validity * 1000 });
    this.issued++;
    this.log.info('certificate issued', { caller: caller.description, identity: wanted, serial: issued.serial, not_after: issued.notAfter.toISOString() });
    return { certChain: [issued.certPem, issued.rootPem] };
  }

  /** The caller's own identity, or (a ztunnel only) that of a pod on its node. */
  private authorize(caller: Caller, wanted: string): void {
    if (wanted === caller.spiffeId) return;
    if (!caller.isZtunnel) throw new CsrRefused(`${caller.description} (${caller.spiffeId}) may not obtain a certificate for ${wanted}`, 403);
    if (!caller.mutualTls) throw new CsrRefused(`ztunnel on ${caller.node} must present its own certificate to ask for ${wanted}`, 403);
    if (caller.node === undefined) throw new CsrRefused(`a ztunnel token bound to no node may not impersonate ${wanted}`, 403);
    const state = this.state();
    const onNode = state.podsOnNode(caller.node).some((p) => `spiffe://${state.trustDomain}/ns/${p.namespace}/sa/${p.serviceAccount}` === wanted);
    if (!onNode) throw new CsrRefused(`no pod with identity ${wanted} runs on node ${caller.node}; ztunnel on ${caller.node} may not impersonate it`, 403);
  }
}
