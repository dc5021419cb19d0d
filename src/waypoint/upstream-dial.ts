// How an Envoy of the mesh (a waypoint, an ingress gateway) reaches an endpoint: a CONNECT over a
// pooled HBONE session to a pod in the mesh, as itself (Envoy's connect_originate), or plain TCP
// from its own address to a pod outside it.
import type * as net from 'node:net';
import type { ClientHttp2Stream } from 'node:http2';
import type { WorkloadCertificate } from '../identity/workload-cert';
import { HboneConnectError, HbonePool } from '../hbone/pool';
import { dialTcp } from '../hbone/tcp';
import { HEADER_ORIGINAL_DST, HEADER_TRACEPARENT } from '../hbone/constants';
import type { Workload } from '../mesh/model';
import { hostAddress } from '../mesh/model';
import type { MeshState } from '../mesh/state';

export interface UpstreamDialOptions {
  readonly pool: HbonePool;
  readonly state: MeshState;
  /** The proxy's own pod: the source address of what it opens. */
  readonly pod: Workload;
  /** Its certificate, current (it renews). */
  readonly certificate: () => WorkloadCertificate;
}

export class UpstreamDial {
  constructor(private readonly o: UpstreamDialOptions) {}

  /** A CONNECT to the pod `target` (ip:port), as the proxy, with the request's trace. */
  originate(target: string, traceparent: string): Promise<ClientHttp2Stream> {
    return this.o.pool.connect({
      source: this.o.certificate(),
      expect: { kind: 'trustDomain', trustDomain: this.o.state.trustDomain },
      address: hostAddress(target.slice(0, target.lastIndexOf(':'))),
      sourceIp: hostAddress(this.o.pod.ip),
      authority: target,
      headers: { [HEADER_ORIGINAL_DST]: target, [HEADER_TRACEPARENT]: traceparent },
    });
  }

  /** A connection to `target`: HBONE to a pod in the mesh, plain TCP to one outside it. */
  open(target: string, traceparent: string): Promise<ClientHttp2Stream | net.Socket> {
    return this.inMesh(target) ? this.originate(target, traceparent) : this.dialPlain(target);
  }

  /** Whether the endpoint `target` (pod ip:port) is a pod in the mesh, reached over HBONE. */
  inMesh(target: string): boolean {
    const pod = this.o.state.podByIp(target.slice(0, target.lastIndexOf(':')));
    return !pod || this.o.state.speaksHbone(pod);
  }

  /** Plain TCP from the proxy's address, as Envoy sends to an endpoint without HBONE. */
  private dialPlain(target: string): Promise<net.Socket> {
    const cut = target.lastIndexOf(':');
    return dialTcp(hostAddress(target.slice(0, cut)), Number(target.slice(cut + 1)), hostAddress(this.o.pod.ip)).catch((err: Error) => {
      throw new HboneConnectError(`plain connect to ${target} failed: ${err.message}`);
    });
  }
}
