// Peers: our components beside other implementations of the same job, on the same machine, in
// the same run, with the same client, certificates and sink (issue 14 §3).
//  - outbound: ztunnel-node-a's encapsulation against nghttpx (bench/peers/outbound.ts);
//  - inbound: ztunnel-node-b's termination against a Go x/net/http2 server (bench/peers/inbound.ts);
//  - l7: the waypoint against HAProxy (bench/peers/l7.ts): paced 1,000 rps through each.
// One mesh holds both ztunnels, with a capture of the client pod's to the peers' sink; a missing
// or broken peer is skipped, and said, and the suite goes on.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { BenchMesh, ROLES, benchAddresses } from '../mesh';
import type { Endpoint } from '../mesh';
import { WorkloadCertificate } from '../../src/identity/workload-cert';
import { makeSpiffeId } from '../../src/identity/spiffe';
import { PORT_HBONE } from '../../src/mesh/ports';
import type { PeerComparison, PeerSkipped, PeersResult } from '../peers/types';
import type { PeerChild } from '../peers/child';
import { runOutboundPeer } from '../peers/outbound';
import { runInboundPeer } from '../peers/inbound';
import { startPeerSink } from '../peers/sink';
import { runL7Peer } from '../peers/l7';

/** The peers' sink listens on the sink pod's address at this port (the mesh's own sink has 9000). */
export const PEER_SINK_PORT = 9009;
/** ztunnel-node-a's capture to it, beside the bench mesh's 15101-15103. */
const CAPTURE_PORT = 15104;
/** Addresses of the peers in the block (10.<n>.6.x, served at 127.<n>.6.x): nothing of the mesh's is there. */
const PEERS_SUBNET = 6;
const NGHTTPX_PORT = 3128;
const NAMESPACE = 'bench';
const CLIENT_SA = 'client';
const SINK_SA = 'sink';

export interface PeersSetup {
  readonly block: number;
  /** Bytes per timed transfer, per implementation and repetition. */
  readonly bytes: number;
  readonly reps: number;
  /** Length of one new-tunnels repetition, and the untimed one before them. */
  readonly tunnelSeconds: number;
  readonly warmupSeconds: number;
  readonly progress: (line: string) => void;
  /** The mesh, for the bench's exit handler: told when it runs and when it has stopped. */
  readonly meshStarted?: (mesh: BenchMesh) => void;
  readonly meshStopped?: (mesh: BenchMesh) => void;
  /** Each peer process once it runs, for the bench's exit handler (child.ts kills them too). */
  readonly started?: (child: PeerChild) => void;
  /** The L7 hop's paced runs: counted seconds each, repetitions of its four paths. */
  readonly l7: { readonly seconds: number; readonly reps: number };
  /** When the waypoint is behind HAProxy on CPU, profile it for this long on a mesh of its own in this free block. */
  readonly l7Profile?: { readonly block: number; readonly seconds: number };
  /** Peers to run instead of what PATH and the environment name (tests point them nowhere). */
  readonly nghttpx?: string;
  readonly go?: string;
}

/** Where everything of the suite listens in block 10.<n>. */
export function peersAddresses(n: number) {
  const a = benchAddresses(n);
  const sinkPod = a.direct.sink.host;
  return {
    client: a.client,
    /** The peers' sink, on the sink pod's address. */
    sink: { host: sinkPod, port: PEER_SINK_PORT },
    sinkAuthority: `10.${n}.2.1:${PEER_SINK_PORT}`,
    capture: { host: a.capture.sink.host, port: CAPTURE_PORT },
    /** ztunnel-node-b's :15008 for the sink pod. */
    ztunnelB: { host: sinkPod, port: PORT_HBONE },
    nghttpx: { host: `127.${n}.${PEERS_SUBNET}.1`, port: NGHTTPX_PORT },
    goHbone: { host: `127.${n}.${PEERS_SUBNET}.2`, port: PORT_HBONE },
  } satisfies Record<string, Endpoint | string>;
}

export async function runPeers(s: PeersSetup): Promise<PeersResult> {
  const at = peersAddresses(s.block);
  const comparisons: PeerComparison[] = [];
  const skipped: PeerSkipped[] = [];
  const add = (r: PeerComparison | PeerSkipped): void => {
    if ('reason' in r) {
      skipped.push(r);
      s.progress(`peers ${r.job}: ${r.peer} skipped: ${r.reason}`);
    } else comparisons.push(r);
  };
  const mesh = await BenchMesh.start({ block: s.block, captures: [{ listen: at.capture, target: at.sinkAuthority }] });
  s.meshStarted?.(mesh);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hbone-bench-peers-'));
  // Whatever of these started is stopped in the finally, however the suite ends.
  let sink: PeerChild | undefined;
  let clientCert: WorkloadCertificate | undefined;
  let sinkCert: WorkloadCertificate | undefined;
  try {
    sink = await startPeerSink(at.sink);
    s.started?.(sink);
    // The client pod's identity (ztunnel A presents it for the client, nghttpx too) and the sink pod's (ztunnel B presents it, the Go server too).
    clientCert = await WorkloadCertificate.obtain(makeSpiffeId(NAMESPACE, CLIENT_SA, mesh.scenario.trustDomain), mesh.ca);
    sinkCert = await WorkloadCertificate.obtain(makeSpiffeId(NAMESPACE, SINK_SA, mesh.scenario.trustDomain), mesh.ca);
    add(
      await runOutboundPeer({
        capture: at.capture,
        oursPid: mesh.pid(ROLES.ztunnelA),
        backend: at.ztunnelB,
        frontend: at.nghttpx,
        sinkAuthority: at.sinkAuthority,
        clientTls: clientCert.tls,
        dir,
        bytes: s.bytes,
        reps: s.reps,
        tunnelSeconds: s.tunnelSeconds,
        warmupSeconds: s.warmupSeconds,
        progress: s.progress,
        ...(s.nghttpx !== undefined ? { nghttpx: s.nghttpx } : {}),
        ...(s.started ? { started: s.started } : {}),
      }),
    );
    add(
      await runInboundPeer({
        ours: at.ztunnelB,
        oursPid: mesh.pid(ROLES.ztunnelB),
        theirs: at.goHbone,
        sinkAuthority: at.sinkAuthority,
        client: { clientIp: at.client, clientCert, serverSpiffeId: sinkCert.spiffeId },
        serverTls: sinkCert.tls,
        dir,
        bytes: s.bytes,
        reps: s.reps,
        progress: s.progress,
        ...(s.go !== undefined ? { go: s.go } : {}),
        ...(s.started ? { started: s.started } : {}),
      }),
    );
    add(
      await runL7Peer({
        mesh,
        seconds: s.l7.seconds,
        reps: s.l7.reps,
        warmupSeconds: s.warmupSeconds,
        progress: s.progress,
        ...(s.l7Profile ? { profile: s.l7Profile } : {}),
      }),
    );
    const broken = mesh.crashed();
    if (broken.length) throw new Error(`mesh process died during the peers suite: ${broken.join('; ')}`);
    return { comparisons, skipped };
  } finally {
    clientCert?.stop();
    sinkCert?.stop();
    await sink?.stop();
    await mesh.stop();
    s.meshStopped?.(mesh);
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
