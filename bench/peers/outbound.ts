// Outbound encapsulation, ztunnel A's job, against nghttpx doing the same: plain TCP in, an h2
// CONNECT over mutual TLS 1.3 out, to the same ztunnel-node-b, the same sink, from the same client.
//
//   ours:   client ─► capture ─► ztunnel-node-a ══HBONE══► ztunnel-node-b ─► sink
//   theirs: client ─► nghttpx (HTTP/1.1 CONNECT) ══h2 CONNECT, mTLS══► ztunnel-node-b ─► sink
import * as net from 'node:net';
import * as tls from 'node:tls';
import type { Endpoint } from '../mesh';
import type { TlsMaterial } from '../../src/identity/workload-cert';
import type { PeerComparison, PeerSkipped } from './types';
import { BEHIND_SOURCE, behindText, figure } from './figures';
import { connectThrough, findNghttpx, nghttpxVersion, startNghttpx } from './nghttpx';
import { Contender, TUNNEL_CONCURRENCY, measureTransfers, measureTunnels } from './measure';
import type { PeerChild } from './child';

export const OURS_OUTBOUND = 'ztunnel-node-a';

/**
 * Where our encapsulation spends what nghttpx does not, by figure, from a CPU profile of
 * ztunnel-node-a (HBONE_BENCH_CPU_PROF, the new-tunnels runs alone) and strace of both during the
 * transfers, on this 2-core machine (2026-12-01); shown for the figures where we are behind.
 */
export const OUTBOUND_BEHIND: Readonly<Record<string, string>> = {
  'tunnels/s': 'with the client and ztunnel-node-b on the same two cores, the rate follows the CPU each tunnel costs (see CPU ms/tunnel)',
  'CPU ms/tunnel':
    'per tunnel ztunnel-node-a spends about 0.15 to 0.25 ms of CPU where nghttpx spends about 0.06, and most of it is ' +
    'JavaScript per connection and per stream, each of which nghttpx does in C without a collector. In a profile of about ' +
    '8,000 tunnels, self time per tunnel: socket set-up, reads and writes through node:net 40 µs, the simulator’s own code ' +
    '40 µs (routing the capture to its workload, the pool’s pick, connection records and TCP metrics), garbage collection ' +
    '32 µs, node:http2’s JavaScript 25 µs, native work (TLS records, syscalls) about 55 µs; inclusive, handleOutbound took ' +
    '79 µs (the pool’s CONNECT stream open 50 µs of it) and the access-log line on stdout 15 µs',
  'CPU s/GiB':
    'not in the bytes’ handling as such: 53% of ztunnel-node-a’s profiled CPU during the transfers was native work outside ' +
    'JavaScript (OpenSSL’s AES-GCM and nghttp2’s framing, what nghttpx does too) and it makes fewer syscalls (about 18,000 ' +
    'writes per GiB against nghttpx’s 132,000); what nghttpx does not pay is the garbage collector (7%) and the hand-off of ' +
    'each 64 KiB read through JavaScript streams into node:http2',
  'MB/s': 'at one connection the rate follows the CPU per byte: see CPU s/GiB',
};

export interface OutboundSetup {
  /** ztunnel-node-a's capture whose target is the sink (the peers suite adds it to the mesh). */
  readonly capture: Endpoint;
  /** ztunnel-node-a's pid. */
  readonly oursPid: number;
  /** ztunnel-node-b's :15008 for the sink pod: nghttpx's backend. */
  readonly backend: Endpoint;
  /** Where nghttpx's frontend listens. */
  readonly frontend: Endpoint;
  /** The sink as a CONNECT authority (its cluster ip:port). */
  readonly sinkAuthority: string;
  /** The client pod's certificate: the identity ztunnel A presents for it, and nghttpx too. */
  readonly clientTls: TlsMaterial;
  /** For nghttpx's files; the caller removes it. */
  readonly dir: string;
  readonly bytes: number;
  readonly reps: number;
  readonly tunnelSeconds: number;
  readonly warmupSeconds: number;
  readonly progress: (line: string) => void;
  /** The nghttpx to run (NGHTTPX by default); a path that is not executable skips the job. */
  readonly nghttpx?: string;
  /** Told of nghttpx once it runs, so the bench's exit handler can kill it. */
  readonly started?: (child: PeerChild) => void;
}

/** The TLS 1.3 suites node:tls offers, in its order: nghttpx is told to offer the same, so ztunnel B picks the same one for both. */
export function nodeTls13Suites(): string {
  return tls.DEFAULT_CIPHERS.split(':')
    .filter((c) => c.startsWith('TLS_'))
    .join(':');
}

export const OUTBOUND_DIFFERENCES: readonly string[] = [
  'nghttpx cannot check ztunnel-node-b’s SPIFFE identity (it verifies a backend by DNS/IP SAN, so it runs with --insecure); ztunnel-node-a checks the SAN on every new HBONE connection',
  'nghttpx’s client speaks HTTP/1.1 CONNECT and waits for its 200 before sending; ours is a transparent capture (the client just connects), and ztunnel-node-a resolves the destination workload, picks a pool connection by identity and keeps TCP metrics for every connection',
  'nghttpx turns the client’s FIN into a stream reset (no half-close); ztunnel-node-a passes half-close through as END_STREAM, which costs it a round trip at close',
  'every tunnel through nghttpx ends with its RST_STREAM, and node:http2 (under ztunnel-node-b) answers a session’s thousandth reset or so (then more than 33 a second) with GOAWAY INTERNAL_ERROR: in the new-tunnels runs nghttpx reconnects every thousand tunnels or so and loses the few then in flight (counted as failures, not in the rate)',
  'nghttpx has no setting for its SETTINGS_MAX_FRAME_SIZE (16 KiB; ztunnel-node-a advertises 1 MiB): it bounds only the frames ztunnel-node-b sends back, here the 8-byte acknowledgements (ztunnel-node-a itself sends DATA in nghttp2’s 16 KiB frames)',
  'both run one event loop (nghttpx --single-process --workers=1; Node’s one thread) with the same h2 windows (1 MiB stream, 4 MiB connection) and offer the same TLS 1.3 suites in the same order',
];

function dialTcp(to: Endpoint): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: to.host, port: to.port, allowHalfOpen: true });
    s.setNoDelay(true);
    s.once('error', reject);
    s.once('connect', () => {
      s.off('error', reject);
      resolve(s);
    });
  });
}

export async function runOutboundPeer(s: OutboundSetup): Promise<PeerComparison | PeerSkipped> {
  const found = findNghttpx(s.nghttpx);
  if ('missing' in found) return { job: 'outbound', peer: 'nghttpx', reason: found.missing };
  const peer = nghttpxVersion(found.path);
  let nghttpx: PeerChild;
  try {
    nghttpx = await startNghttpx({
      binary: found.path,
      frontend: s.frontend,
      backend: s.backend,
      tls: s.clientTls,
      dir: s.dir,
      tls13Suites: nodeTls13Suites(),
    });
  } catch (err) {
    return { job: 'outbound', peer, reason: `nghttpx would not start: ${(err as Error).message}` };
  }
  s.started?.(nghttpx);
  try {
    return await compare(s, nghttpx, peer);
  } catch (err) {
    // A peer that died mid-run is the peer's failure, said and skipped; anything else is ours.
    if (nghttpx.alive) throw err;
    return { job: 'outbound', peer, reason: `nghttpx died during the run: ${(err as Error).message}; ${nghttpx.output.trim().slice(-300)}` };
  } finally {
    await nghttpx.stop();
  }
}

async function compare(s: OutboundSetup, nghttpx: PeerChild, peer: string): Promise<PeerComparison> {
  const ours: Contender = { side: 'ours', name: OURS_OUTBOUND, pid: s.oursPid, dial: () => dialTcp(s.capture) };
  const theirs: Contender = { side: 'theirs', name: 'nghttpx', pid: nghttpx.pid, dial: () => connectThrough(s.frontend, s.sinkAuthority) };
  const both = [ours, theirs];
  const moved = await measureTransfers(both, { bytes: s.bytes, reps: s.reps, progress: s.progress, job: 'outbound' });
  const tunnels = await measureTunnels(both, {
    seconds: s.tunnelSeconds,
    warmupSeconds: s.warmupSeconds,
    reps: s.reps,
    progress: s.progress,
    job: 'outbound',
  });
  if (!nghttpx.alive) throw new Error('nghttpx exited');
  const o = moved.get(ours)!;
  const t = moved.get(theirs)!;
  const ot = tunnels.get(ours)!;
  const tt = tunnels.get(theirs)!;
  const figures = [
    figure('CPU s/GiB', 'lower', o.cpuSPerGiB, t.cpuSPerGiB),
    figure('MB/s', 'higher', o.mbPerS, t.mbPerS),
    figure('tunnels/s', 'higher', ot.perSecond, tt.perSecond),
    figure('CPU ms/tunnel', 'lower', ot.cpuMsPerTunnel, tt.cpuMsPerTunnel),
  ];
  const behind = behindText(figures, OUTBOUND_BEHIND, BEHIND_SOURCE);
  return {
    job: 'outbound',
    oursName: OURS_OUTBOUND,
    peer,
    figures,
    differences: [
      ...OUTBOUND_DIFFERENCES,
      `tunnels/s: ${TUNNEL_CONCURRENCY} at once, each opened, crossed by an empty payload the sink acknowledges, and dropped`,
    ],
    ...(behind ? { behind } : {}),
    bytesPerRep: s.bytes,
    reps: s.reps,
    failures: { ours: ot.failures, theirs: tt.failures },
  };
}
