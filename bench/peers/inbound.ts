// Inbound termination, ztunnel B's job, against a minimal CONNECT terminator in Go on
// golang.org/x/net/http2 (bench/peers/go/hbone-server.go): the same HBONE client (the bench's
// dialer, one certificate, one pool) opens CONNECT streams to each, and both deliver to the same sink.
//
//   ours:   client ══HBONE══► ztunnel-node-b :15008 ─► sink
//   theirs: client ══HBONE══► Go x/net/http2 server ─► sink
import * as tls from 'node:tls';
import type { Duplex } from 'node:stream';
import type { ClientHttp2Stream } from 'node:http2';
import type { Endpoint } from '../mesh';
import type { Peer } from '../core/dial';
import { cipherOf, dialHbone } from '../core/dial';
import { HbonePool } from '../../src/hbone/pool';
import type { TlsMaterial } from '../../src/identity/workload-cert';
import type { PeerComparison, PeerSkipped } from './types';
import { BEHIND_SOURCE, behindText, figure } from './figures';
import { GO_MAXPROCS, buildGoServer, findGo, peerName, startGoServer } from './go-hbone';
import { Contender, measureTransfers } from './measure';
import type { PeerChild } from './child';

export const OURS_INBOUND = 'ztunnel-node-b';
/**
 * The one TLS 1.3 suite the client offers here. Go's TLS 1.3 server picks AES-128-GCM whenever
 * the client offers it (its order cannot be configured), node:tls's server takes the client's
 * first choice (AES-256-GCM by default, what the mesh uses everywhere): offering only this one
 * makes both terminate the same cipher.
 */
export const INBOUND_TLS13_SUITE = 'TLS_AES_256_GCM_SHA384';

/** The client's cipher list: that one TLS 1.3 suite, then node:tls's usual TLS 1.2 ones (never used: TLS 1.3 only). */
function inboundCiphers(): string {
  return [INBOUND_TLS13_SUITE, ...tls.DEFAULT_CIPHERS.split(':').filter((c) => !c.startsWith('TLS_'))].join(':');
}

/**
 * Where our termination spends what the Go server does not, by figure, from a CPU profile of
 * ztunnel-node-b (HBONE_BENCH_CPU_PROF) and strace of both during the transfers, on this 2-core
 * machine (2026-12-01); shown for the figures where we are behind.
 */
export const INBOUND_BEHIND: Readonly<Record<string, string>> = {
  'CPU s/GiB':
    'write(2) calls to the sink: ztunnel-node-b writes every piece node:http2 hands it as its own write, and a 16 KiB DATA frame ' +
    'arrives split over two TLS records (9 + 16,375 bytes, 27 + 16,357...), so it made about 130,000 writes per GiB (8 KiB each) ' +
    'where the Go handler copies 64 KiB per write (about 19,000 per GiB); the native writeBuffer was 57% of ztunnel-node-b’s ' +
    'profiled CPU. A trial that corked the sink socket until the end of the event loop’s poll phase (setImmediate, one writev per ' +
    'turn) took ztunnel-node-b from about 1.7 to 1.0 CPU s/GiB against Go’s 0.65 in this job; the same change showed no gain on the L4 path (ztunnel A to ztunnel B to the sink), so it is not adopted yet',
  'MB/s': 'one Node thread does TLS, HTTP/2 and the writes in turn: the rate follows the CPU per byte (see CPU s/GiB)',
};

export interface InboundSetup {
  /** ztunnel-node-b's :15008 for the sink pod, and its pid. */
  readonly ours: Endpoint;
  readonly oursPid: number;
  /** Where the Go server listens. */
  readonly theirs: Endpoint;
  /** The sink as a CONNECT authority (its cluster ip:port); the Go server maps 10.x to 127.x as the simulator serves it. */
  readonly sinkAuthority: string;
  /** The client: its address and certificate, and the identity both servers present (the sink pod's). */
  readonly client: Omit<Peer, 'serverIp'>;
  /** The sink pod's certificate: what ztunnel B presents for it, and the Go server too. */
  readonly serverTls: TlsMaterial;
  /** For the Go server's files; the caller removes it. */
  readonly dir: string;
  readonly bytes: number;
  readonly reps: number;
  readonly progress: (line: string) => void;
  /** The Go toolchain to build with (GO by default); a path that is not executable skips the job. */
  readonly go?: string;
  readonly started?: (child: PeerChild) => void;
}

export const INBOUND_DIFFERENCES: readonly string[] = [
  'the Go server only terminates: no check that the authority is the dialled pod, no workload lookup, no AuthorizationPolicy, no TCP metrics or connection tracking, which ztunnel-node-b does on every CONNECT',
  `Go runs with GOMAXPROCS=${GO_MAXPROCS} (one thread runs Go code, as one Node thread runs ours); its runtime’s other threads (GC, network poller) count in its CPU`,
  'both advertise the same h2 settings (1 MiB stream and 4 MiB connection windows, 1 MiB max frame, 200 concurrent streams), present the sink pod’s SPIFFE certificate and require the client’s',
  `the client offers one TLS 1.3 suite, ${INBOUND_TLS13_SUITE}, so both terminate the same cipher (Go would otherwise pick AES-128-GCM)`,
];

export async function runInboundPeer(s: InboundSetup): Promise<PeerComparison | PeerSkipped> {
  const found = findGo(s.go);
  if ('missing' in found) return { job: 'inbound', peer: 'Go x/net/http2', reason: found.missing };
  const peer = peerName(found);
  let goServer: PeerChild;
  try {
    s.progress('peers inbound: building the Go HBONE server');
    const binary = await buildGoServer(found);
    goServer = await startGoServer({ binary, listen: s.theirs, tls: s.serverTls, dir: s.dir });
  } catch (err) {
    return { job: 'inbound', peer, reason: `the Go server would not build or start: ${(err as Error).message}` };
  }
  s.started?.(goServer);
  const pool = new HbonePool({ ciphers: inboundCiphers() });
  try {
    return await compare(s, pool, goServer, peer);
  } catch (err) {
    // A peer that died mid-run is the peer's failure, said and skipped; anything else is ours.
    if (goServer.alive) throw err;
    return { job: 'inbound', peer, reason: `the Go server died during the run: ${(err as Error).message}; ${goServer.output.trim().slice(-300)}` };
  } finally {
    await pool.close();
    await goServer.stop();
  }
}

async function compare(s: InboundSetup, pool: HbonePool, goServer: PeerChild, peer: string): Promise<PeerComparison> {
  const dial = (to: Endpoint) => () => dialHbone(pool, { ...s.client, serverIp: to.host }, to.port, s.sinkAuthority);
  const ours: Contender = { side: 'ours', name: OURS_INBOUND, pid: s.oursPid, dial: dial(s.ours) };
  const theirs: Contender = { side: 'theirs', name: 'go-hbone', pid: goServer.pid, dial: dial(s.theirs) };
  const ciphers = await Promise.all([ours, theirs].map(async (c) => cipherOfTunnel(await c.dial())));
  const moved = await measureTransfers([ours, theirs], { bytes: s.bytes, reps: s.reps, progress: s.progress, job: 'inbound' });
  if (!goServer.alive) throw new Error('it exited');
  const o = moved.get(ours)!;
  const t = moved.get(theirs)!;
  const figures = [figure('CPU s/GiB', 'lower', o.cpuSPerGiB, t.cpuSPerGiB), figure('MB/s', 'higher', o.mbPerS, t.mbPerS)];
  const behind = behindText(figures, INBOUND_BEHIND, BEHIND_SOURCE);
  return {
    job: 'inbound',
    oursName: OURS_INBOUND,
    peer,
    figures,
    differences: [...INBOUND_DIFFERENCES, `negotiated: ztunnel-node-b ${ciphers[0]}, Go ${ciphers[1]}`],
    ...(behind ? { behind } : {}),
    bytesPerRep: s.bytes,
    reps: s.reps,
  };
}

/** The cipher a fresh tunnel negotiated; the tunnel is then closed. */
function cipherOfTunnel(stream: Duplex): string {
  const cipher = cipherOf(stream as ClientHttp2Stream);
  stream.destroy();
  return cipher;
}
