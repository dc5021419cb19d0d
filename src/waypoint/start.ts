// One waypoint with what its process wires around it: its configuration and certificate from
// istiod (xDS and CA), or, run alone, from the scenario file and the CA on disk
// (src/cli/waypoint.ts runs it as a process).
import type { Scenario, Workload } from '../mesh/model';
import { MeshState } from '../mesh/state';
import { loadOrCreateCa } from '../identity/ca-store';
import { makeSpiffeId } from '../identity/spiffe';
import { logger } from '../telemetry/log';
import { joinControlPlane, ControlPlaneLink, IstiodLink } from '../xds/bootstrap';
import { addressHandler, authorizationHandler, routeHandler } from '../xds/mesh-handlers';
import { TYPE_URLS, TypeUrl } from '../xds/types';
import type { TypeHandler } from '../xds/ads-client';
import type { CertificateSource, WorkloadCertificate } from '../identity/workload-cert';
import { Waypoint } from './waypoint';

export interface WaypointProcessOptions {
  readonly scenario: Scenario;
  readonly pod: Workload;
  readonly caDir: string;
  /** istiod's host:port and this waypoint's service account token; without them, the file and the local CA. */
  readonly istiod?: IstiodLink;
}

export interface WaypointProcess {
  readonly waypoint: Waypoint;
  stop(): Promise<void>;
}

/** A proxy pod's line to istiod, joined: its certificate, and the version it last ACKed. */
export interface JoinedProxy {
  readonly link: ControlPlaneLink;
  readonly configVersion: () => string | undefined;
}

/**
 * Joins istiod as a waypoint or gateway pod does: its own certificate from the CA, then one ADS
 * stream for addresses, policies and routes, whose pushes keep `state` current.
 */
export async function joinAsProxy(
  scenario: Scenario,
  pod: Workload,
  state: MeshState,
  caDir: string,
  istiod: IstiodLink,
  wrap: (h: TypeHandler) => TypeHandler = (h) => h,
): Promise<JoinedProxy> {
  const link = await joinControlPlane({
    istiod: istiod.address,
    caDir,
    token: istiod.token,
    certLifetimeMs: istiod.secretTtlMs,
    // The proxy's own identity is both its mesh identity and what it shows istiod.
    identity: makeSpiffeId(pod.namespace, pod.serviceAccount, scenario.trustDomain),
    node: { id: `router~${pod.ip}~${pod.name}.${pod.namespace}~${pod.namespace}.svc.cluster.local`, proxyType: 'router' },
    handlers: proxyHandlers(state).map(wrap),
    log: logger('xds'),
  });
  const ads = link.ads;
  return { link, configVersion: () => newestVersion((t) => ads.versionOf(t)) };
}

/** The xDS types a waypoint or gateway takes, each applied to its MeshState. */
export function proxyHandlers(state: MeshState): TypeHandler[] {
  return [addressHandler(state), authorizationHandler(state), routeHandler(state)];
}

/** The newest version of any type it took, as Envoy's dump shows the version it applied. */
export function newestVersion(versionOf: (t: TypeUrl) => string | undefined): string | undefined {
  return TYPE_URLS.map(versionOf)
    .filter((v): v is string => v !== undefined)
    .sort((a, b) => Number(b.split('/').pop()) - Number(a.split('/').pop()))[0];
}

/** What a proxy's process needs of the proxy it runs (a Waypoint, an IngressGateway). */
export interface ProxyRole {
  start(): Promise<void>;
  stop(): Promise<void>;
}

/** How a proxy is made: its state, and its certificate source (istiod's CA or the one on disk). */
export interface ProxyParts {
  readonly scenario: Scenario;
  readonly pod: Workload;
  readonly state: MeshState;
  readonly ca: CertificateSource;
  readonly certificate?: WorkloadCertificate;
  readonly configVersion?: () => string | undefined;
}

/**
 * Starts a proxy pod's process: joined to istiod when it has a link (its certificate, then its
 * configuration), else on the scenario file and the CA on disk; a failed start leaves nothing.
 */
export async function startProxy<P extends ProxyRole>(o: WaypointProcessOptions, make: (parts: ProxyParts) => P): Promise<{ proxy: P; stop(): Promise<void> }> {
  const { scenario, pod } = o;
  const state = new MeshState(scenario);
  let link: ControlPlaneLink | undefined;
  let proxy: P;
  if (o.istiod) {
    const joined = await joinAsProxy(scenario, pod, state, o.caDir, o.istiod);
    link = joined.link;
    proxy = make({ scenario, pod, state, ca: link.ca, certificate: link.own, configVersion: joined.configVersion });
  } else {
    proxy = make({ scenario, pod, state, ca: await loadOrCreateCa(o.caDir, scenario.trustDomain) });
  }
  try {
    await proxy.start();
  } catch (err) {
    link?.stop();
    await proxy.stop();
    throw err;
  }
  return {
    proxy,
    stop: async () => {
      link?.stop();
      await proxy.stop();
    },
  };
}

export async function startWaypoint(o: WaypointProcessOptions): Promise<WaypointProcess> {
  const { proxy, stop } = await startProxy(o, (parts) => new Waypoint(parts));
  return { waypoint: proxy, stop };
}
