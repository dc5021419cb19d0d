// How a proxy joins the control plane, as ztunnel and istio-agent do at start: read the mesh
// root (public), get its own certificate from istiod with its service account token, then open
// its ADS stream over mutual TLS and wait for the first version of every type it needs.
// istiod may not be up yet (the runner starts everything at once): connection failures are
// retried until a deadline; a refusal (401, 403) is final.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ROOT_CERT_FILE } from '../identity/ca-store';
import { WorkloadCertificate } from '../identity/workload-cert';
import type { SpiffeId } from '../identity/spiffe';
import { Logger } from '../telemetry/log';
import { errorMessage } from '../error-message';
import { AdsClient, TypeHandler } from './ads-client';
import { CaClientError, IstiodCaClient } from './ca-client';
import type { IstiodEndpoint } from './istiod-session';
import type { XdsNode } from './types';

/** How long a proxy waits for istiod to answer before it gives up starting. */
export const ISTIOD_WAIT_MS = 15_000;
const RETRY_MS = 100;

/** A proxy's way to istiod: its address, its service account token, the certificate lifetime it asks for. */
export interface IstiodLink {
  /** istiod's host:port (:15012). */
  readonly address: string;
  readonly token: string;
  /** SECRET_TTL: the lifetime asked for every certificate (renewed at half of it); 24h by default. */
  readonly secretTtlMs?: number;
}

export interface BootstrapOptions {
  /** istiod's host:port (:15012). */
  readonly istiod: string;
  readonly caDir: string;
  readonly token: string;
  /** The proxy's own identity: its certificate authenticates it to istiod (mutual TLS). */
  readonly identity: SpiffeId;
  readonly node: XdsNode;
  readonly handlers: readonly TypeHandler[];
  readonly log: Logger;
  /** The lifetime asked of istiod for the proxy's own certificate. */
  readonly certLifetimeMs?: number;
}

export interface ControlPlaneLink {
  readonly endpoint: IstiodEndpoint;
  /** The proxy's own certificate, renewed through istiod. */
  readonly own: WorkloadCertificate;
  /** istiod's CA for the identities of other workloads (ztunnel: its node's pods). */
  readonly ca: IstiodCaClient;
  readonly ads: AdsClient;
  stop(): void;
}

export async function joinControlPlane(o: BootstrapOptions): Promise<ControlPlaneLink> {
  const deadline = Date.now() + ISTIOD_WAIT_MS;
  const colon = o.istiod.lastIndexOf(':');
  const rootPem = await untilDeadline(deadline, o.log, 'the mesh root', () => fs.readFileSync(path.join(o.caDir, ROOT_CERT_FILE), 'utf8'));
  let own: WorkloadCertificate | undefined;
  const endpoint: IstiodEndpoint = {
    address: o.istiod.slice(0, colon),
    port: Number(o.istiod.slice(colon + 1)),
    rootPem,
    token: o.token,
    clientCertificate: () => (own ? { cert: own.tls.cert, key: own.tls.key } : undefined),
  };
  own = await untilDeadline(deadline, o.log, 'istiod', () =>
    WorkloadCertificate.obtain(o.identity, new IstiodCaClient(endpoint), { lifetimeMs: o.certLifetimeMs }),
  );
  own.on('error', (err) => o.log.warn('certificate renewal failed', { identity: own!.spiffeId, error: err.message }));
  const ads = new AdsClient({ endpoint, node: o.node, handlers: o.handlers, log: o.log });
  ads.start();
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      ads.ready,
      new Promise((_resolve, reject) => {
        timer = setTimeout(
          () => reject(new Error(`no configuration from istiod at ${o.istiod} within ${ISTIOD_WAIT_MS} ms`)),
          Math.max(0, deadline - Date.now()),
        );
      }),
    ]);
  } catch (err) {
    ads.stop();
    own.stop();
    throw err;
  } finally {
    clearTimeout(timer);
  }
  const ownCert = own;
  const ca = new IstiodCaClient(endpoint, true);
  return {
    endpoint,
    own: ownCert,
    ca,
    ads,
    stop: () => {
      ads.stop();
      ownCert.stop();
      ca.close();
    },
  };
}

/** Retries `attempt` while istiod (or the root it writes) is not there yet. */
async function untilDeadline<T>(deadline: number, log: Logger, what: string, attempt: () => T | Promise<T>): Promise<T> {
  for (let tries = 1; ; tries++) {
    try {
      return await attempt();
    } catch (err) {
      const final = err instanceof CaClientError && err.status !== 0;
      if (final || Date.now() > deadline) throw new Error(`cannot reach ${what}: ${errorMessage(err)}`, { cause: err });
      if (tries === 10) log.info(`waiting for ${what}`, { error: errorMessage(err) });
      await new Promise((r) => setTimeout(r, RETRY_MS));
    }
  }
}
