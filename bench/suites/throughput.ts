// Throughput: a fixed volume over each path, with 1 and with 8 connections, every repetition of
// every case interleaved so a busy moment of the shared machine lands on all paths alike.
// The sender's clock stops when the receiver has confirmed every byte:
//  - tcp and l4 end at the sink app: write, half-close, read back the sink's decimal count;
//  - tls and hbone end at the core bench's server process, which acknowledges by length
//    (node:tls handles half-close poorly, see bench/core/transfer.ts);
//  - l7 is an HTTP/1.1 upload through the waypoint to http-echo, answered with the count.
import * as http from 'node:http';
import * as net from 'node:net';
import type { Duplex, Writable } from 'node:stream';
import type { BenchMesh, Endpoint } from '../mesh';
import { ROLES } from '../mesh';
import type { ServerProcess } from '../core/server-process';
import type { Peer } from '../core/dial';
import { dialHbone, dialTls } from '../core/dial';
import { transfer, finish } from '../core/transfer';
import { median } from '../core/measure';
import { HbonePool } from '../../src/hbone/pool';
import { UPLOAD_PATH } from '../../src/apps/http-echo';
import { startSampling } from '../proc';
import type { ThroughputPath, ThroughputResult } from '../results';

export const CONNECTION_COUNTS = [1, 8] as const;
export const PATHS: readonly ThroughputPath[] = ['tcp', 'tls', 'hbone', 'l4', 'l7'];
/** Application write size: what a TCP read typically hands a proxy on loopback. */
const CHUNK_BYTES = 64 * 1024;
/** Warm-up moves this share of the volume, untimed, so the JIT has settled before the clock runs. */
const WARMUP_FRACTION = 1 / 8;
const BYTES_PER_MB = 1e6;
const BYTES_PER_GIB = 2 ** 30;
/** The process the bench runs in: the client application of every path. */
export const CLIENT = 'bench-client';
/** The core bench's server process: the TLS and raw HBONE receiver. */
export const CORE_SERVER = 'bench-server';

/** The processes each path crosses: the report shows CPU for these. */
export const PROCESSES: Readonly<Record<ThroughputPath, readonly string[]>> = {
  tcp: [CLIENT, ROLES.sink],
  tls: [CLIENT, CORE_SERVER],
  hbone: [CLIENT, CORE_SERVER],
  l4: [CLIENT, ROLES.ztunnelA, ROLES.ztunnelB, ROLES.sink],
  l7: [CLIENT, ROLES.ztunnelA, ROLES.waypoint, ROLES.ztunnelB, ROLES.httpEcho],
};

export interface ThroughputSetup {
  readonly mesh: BenchMesh;
  readonly server: ServerProcess;
  readonly peer: Peer;
  readonly bytes: number;
  readonly reps: number;
  readonly progress: (line: string) => void;
}

interface Case {
  readonly path: ThroughputPath;
  readonly connections: number;
}

/** One connection's share: send `bytes`, resolve once the receiver confirmed all of them. */
type Mover = (bytes: number) => Promise<void>;

export async function runThroughput(s: ThroughputSetup): Promise<ThroughputResult[]> {
  const chunk = Buffer.alloc(CHUNK_BYTES, 0xa5);
  const pool = new HbonePool({});
  const movers: Record<ThroughputPath, () => Promise<Mover>> = {
    tcp: async () => sinkMover(await dial(s.mesh.addresses.direct.sink, s.mesh.addresses.client), chunk),
    l4: async () => sinkMover(await dial(s.mesh.addresses.capture.sink), chunk),
    tls: async () => lengthMover(await dialTls(s.peer, s.server.ready.tlsPort), chunk),
    hbone: async () => lengthMover(await dialHbone(pool, s.peer, s.server.ready.hbonePort), chunk),
    l7: async () => uploadMover(s.mesh.addresses.capture.httpL7, chunk),
  };
  const pids = new Map([...s.mesh.pids, [CLIENT, process.pid], [CORE_SERVER, s.server.pid]]);
  const cases: Case[] = PATHS.flatMap((path) => CONNECTION_COUNTS.map((connections) => ({ path, connections })));
  const share = (c: Case, total: number): number => Math.floor(total / c.connections);

  const round = async (c: Case, perConnection: number) => {
    const ms = await Promise.all(Array.from({ length: c.connections }, () => movers[c.path]()));
    const sampled = startSampling(pids);
    const t0 = process.hrtime.bigint();
    await Promise.all(ms.map((m) => m(perConnection)));
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    return { seconds, cpu: sampled() };
  };

  try {
    for (const c of cases) await round(c, Math.max(1, Math.floor(share(c, s.bytes) * WARMUP_FRACTION)));
    const reps = new Map<Case, Array<{ mbPerS: number; cpuSPerGiB: Record<string, number> }>>(cases.map((c) => [c, []]));
    for (let i = 0; i < s.reps; i++) {
      for (const c of cases) {
        const bytes = share(c, s.bytes) * c.connections;
        const { seconds, cpu } = await round(c, share(c, s.bytes));
        const gib = bytes / BYTES_PER_GIB;
        const cpuSPerGiB = Object.fromEntries(PROCESSES[c.path].map((p) => [p, cpu.get(p)!.cpuS / gib]));
        const mbPerS = bytes / seconds / BYTES_PER_MB;
        reps.get(c)!.push({ mbPerS, cpuSPerGiB });
        s.progress(`throughput ${c.path} x${c.connections}: rep ${i + 1}/${s.reps} ${mbPerS.toFixed(0)} MB/s`);
      }
    }
    return cases.map((c) => {
      const rs = reps.get(c)!;
      return {
        path: c.path,
        connections: c.connections,
        bytesPerRep: share(c, s.bytes) * c.connections,
        repsMbPerS: rs.map((r) => r.mbPerS),
        mbPerS: median(rs.map((r) => r.mbPerS)),
        cpuSPerGiB: Object.fromEntries(PROCESSES[c.path].map((p) => [p, median(rs.map((r) => r.cpuSPerGiB[p]))])),
      };
    });
  } finally {
    await pool.close();
  }
}

function dial(to: Endpoint, localAddress?: string): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: to.host, port: to.port, localAddress, allowHalfOpen: true });
    s.setNoDelay(true);
    s.once('error', reject);
    s.once('connect', () => {
      s.off('error', reject);
      resolve(s);
    });
  });
}

/** The sink app's protocol: payload, FIN, then the sink's decimal count and its FIN. */
function sinkMover(socket: net.Socket, chunk: Buffer): Mover {
  return async (bytes) => {
    let answer = '';
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => (answer += d));
    const ended = new Promise<void>((resolve, reject) => {
      socket.once('end', resolve);
      socket.once('error', reject);
    });
    await pump(socket, bytes, chunk);
    socket.end();
    await ended;
    socket.destroy();
    if (answer !== String(bytes)) throw new Error(`the sink counted ${JSON.stringify(answer)} bytes, expected ${bytes}`);
  };
}

/** The core bench's protocol: length, payload, 8-byte acknowledgement; then both sides end. */
function lengthMover(stream: Duplex, chunk: Buffer): Mover {
  return async (bytes) => {
    await transfer(stream, bytes, chunk);
    await finish(stream);
  };
}

/** An HTTP/1.1 POST of `bytes` to http-echo's upload path, through the capture; it answers the count. */
function uploadMover(to: Endpoint, chunk: Buffer): Mover {
  return (bytes) =>
    new Promise<void>((resolve, reject) => {
      const req = http.request(
        { host: to.host, port: to.port, method: 'POST', path: UPLOAD_PATH, agent: false, headers: { host: 'http-l7', 'content-length': bytes } },
        (res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (d: string) => (body += d));
          res.on('end', () =>
            res.statusCode === 200 && body === String(bytes)
              ? resolve()
              : reject(new Error(`upload answered ${res.statusCode} ${JSON.stringify(body.slice(0, 200))}, expected 200 ${bytes}`)),
          );
        },
      );
      req.on('error', reject);
      req.on('socket', (s) => (s as net.Socket).setNoDelay(true));
      pump(req, bytes, chunk).then(() => req.end(), reject);
    });
}

/** Writes `total` bytes in chunk-sized writes, waiting for 'drain' whenever a write says so. */
function pump(w: Writable, total: number, chunk: Buffer): Promise<void> {
  return new Promise((resolve) => {
    let left = total;
    const pump = (): void => {
      while (left > 0) {
        const n = Math.min(left, chunk.length);
        left -= n;
        if (!w.write(n === chunk.length ? chunk : chunk.subarray(0, n))) return void w.once('drain', pump);
      }
      resolve();
    };
    pump();
  });
}
