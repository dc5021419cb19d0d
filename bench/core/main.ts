// The core micro-benchmark: how fast does one HBONE stream move bytes compared with plain TCP
// and plain mutual TLS, how does it scale to 8 and 100 concurrent streams, and how many CONNECTs
// per second does a warm pool sustain. The receivers run in a forked server process
// (bench/core/server.ts) for every case, so each case crosses a process boundary the same way.
//
//   npm run bench:core -- [--volume-mib N] [--reps N] [--only tls,hbone-1] ...   (see --help)
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { MeshCa } from '../../src/identity/ca';
import { WorkloadCertificate } from '../../src/identity/workload-cert';
import { makeSpiffeId } from '../../src/identity/spiffe';
import { HbonePool } from '../../src/hbone/pool';
import { HTTP2_SETTINGS, CONNECTION_WINDOW_BYTES } from '../../src/hbone/constants';
import { logger } from '../../src/telemetry/log';
import { progress, runEntry } from '../entry';
import { BenchOptions, CaseId, HBONE_STREAM_COUNTS, USAGE, parseOptions } from './options';
import { ENV_CA_DIR, ENV_SERVER_IP, ENV_SERVER_SPIFFE_NS, ENV_SERVER_SPIFFE_SA, ROOT_CERT_FILE, ROOT_KEY_FILE } from './ipc';
import { ServerProcess } from './server-process';
import { Peer, cipherOf, dialHbone, dialTcp, dialTls } from './dial';
import { ThroughputCase, runThroughputCases } from './throughput';
import { ConnectRateResult, runConnectRate } from './connect-rate';
import { finish } from './transfer';
import { formatConnectRate, formatThroughput, formatVerdict, saveResults, verdict } from './report';

/**
 * Loopback addresses: 127.30.<n>.1 serves, 127.30.<n>.2 dials, with <n> taken from our pid so
 * two runs on one machine do not collide on :15008.
 */
const SUBNET_PREFIX = '127.30';
const SERVER_NS = 'bench';
const SERVER_SA = 'sink';
const CLIENT_SA = 'client';
/** Log level of the server process unless HBONE_LOG says otherwise. */
const SERVER_LOG_LEVEL = 'warn';

/** Everything that must be undone however the run ends. */
class Cleanup {
  server?: ServerProcess;
  tmpDir?: string;

  /** Synchronous, so it can run from 'exit' and signal handlers. */
  now(): void {
    this.server?.kill();
    if (this.tmpDir) fs.rmSync(this.tmpDir, { recursive: true, force: true });
    this.tmpDir = undefined;
  }
}

async function writeRoot(ca: MeshCa): Promise<string> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hbone-bench-ca-'));
  fs.writeFileSync(path.join(dir, ROOT_KEY_FILE), ca.rootKeyPem, { mode: 0o600 });
  fs.writeFileSync(path.join(dir, ROOT_CERT_FILE), ca.rootPem);
  return dir;
}

async function run(opts: BenchOptions, cleanup: Cleanup): Promise<number> {
  const startedAt = new Date();
  const subnet = `${SUBNET_PREFIX}.${(process.pid % 254) + 1}`;
  const serverIp = `${subnet}.1`;
  const clientIp = `${subnet}.2`;

  const ca = await MeshCa.create();
  cleanup.tmpDir = await writeRoot(ca);
  const server = await ServerProcess.start({
    [ENV_CA_DIR]: cleanup.tmpDir,
    [ENV_SERVER_IP]: serverIp,
    [ENV_SERVER_SPIFFE_NS]: SERVER_NS,
    [ENV_SERVER_SPIFFE_SA]: SERVER_SA,
    HBONE_LOG: process.env.HBONE_LOG ?? SERVER_LOG_LEVEL,
  });
  cleanup.server = server;
  // The server read the root at start-up; the root key need not stay on disk.
  fs.rmSync(cleanup.tmpDir, { recursive: true, force: true });
  cleanup.tmpDir = undefined;

  const clientCert = await WorkloadCertificate.obtain(makeSpiffeId(SERVER_NS, CLIENT_SA), ca);
  const peer: Peer = { serverIp, clientIp, serverSpiffeId: server.ready.spiffeId, clientCert };
  const pool = new HbonePool({ log: logger('bench::pool') });
  const chunk = Buffer.alloc(opts.chunkBytes, 0xa5);
  const want = (id: CaseId): boolean => opts.cases.includes(id);

  // Other work on this machine skews a run; the load average before it starts says how much there was.
  const loadBefore = os.loadavg();
  process.stderr.write(
    `hbone core bench: ${(opts.volumeBytes / 2 ** 20).toFixed(0)} MiB per case, ${opts.reps} reps, ` +
      `${opts.chunkBytes / 1024} KiB writes; server pid ${server.pid} on ${serverIp}, client pid ${process.pid} on ${clientIp}; ` +
      `load average ${loadBefore.map((l) => l.toFixed(2)).join(' ')}\n`,
  );

  const ciphers: Record<string, string> = {};
  const cases: ThroughputCase[] = [];
  if (want('tcp')) cases.push({ id: 'tcp', label: 'tcp x1', streams: 1, open: async () => [await dialTcp(peer, server.ready.tcpPort)] });
  if (want('tls'))
    cases.push({
      id: 'tls',
      label: 'tls x1',
      streams: 1,
      open: async () => {
        const s = await dialTls(peer, server.ready.tlsPort);
        ciphers.tls = cipherOf(s);
        return [s];
      },
    });
  for (const n of HBONE_STREAM_COUNTS) {
    const id = `hbone-${n}` as CaseId;
    if (!want(id)) continue;
    cases.push({
      id,
      label: `hbone x${n}`,
      streams: n,
      open: async () => {
        const streams = await Promise.all(Array.from({ length: n }, () => dialHbone(pool, peer, server.ready.hbonePort)));
        ciphers.hbone = cipherOf(streams[0]);
        return streams;
      },
    });
  }

  const throughput = await runThroughputCases(cases, server, { volumeBytes: opts.volumeBytes, chunk, reps: opts.reps, progress });

  const connectRate: ConnectRateResult[] = [];
  const connectCases = [
    { id: 'connect-seq' as const, label: 'connect sequential', concurrency: 1 },
    { id: 'connect-par' as const, label: `connect parallel`, concurrency: opts.connectConcurrency },
  ].filter((c) => want(c.id));
  for (const c of connectCases) {
    // Warm pool: the session exists (or is made now) before the first timed CONNECT.
    if (pool.openSessions === 0) await finish(await dialHbone(pool, peer, server.ready.hbonePort));
    connectRate.push(
      await runConnectRate({ ...c, open: () => dialHbone(pool, peer, server.ready.hbonePort) }, server, {
        durationMs: opts.connectMs,
        reps: opts.reps,
        progress,
      }),
    );
  }

  const tls = throughput.find((r) => r.id === 'tls');
  const target = verdict(
    tls,
    throughput.find((r) => r.id === 'hbone-1'),
  );
  const out = [
    ...(throughput.length ? ['', formatThroughput(throughput, tls)] : []),
    ...(connectRate.length ? ['', formatConnectRate(connectRate)] : []),
    '',
    formatVerdict(target),
    `(MB/s = 10^6 bytes/s, median of ${opts.reps} interleaved reps of ${(opts.volumeBytes / 2 ** 20).toFixed(0)} MiB; ` +
      `CPU = user+system seconds per GiB moved, median; ciphers: tls ${ciphers.tls ?? '-'}, hbone ${ciphers.hbone ?? '-'}; ` +
      `HBONE sessions opened: ${pool.sessionsOpened}; connect parallel = ${opts.connectConcurrency} workers on one warm session; ` +
      `load average before ${loadBefore[0].toFixed(2)})`,
  ];
  process.stdout.write(out.join('\n') + '\n');

  const sessionsOpened = pool.sessionsOpened;
  await pool.close();
  clientCert.stop();
  await server.stop();
  cleanup.server = undefined;

  if (opts.save) {
    const file = saveResults(
      {
        bench: 'core',
        startedAt: startedAt.toISOString(),
        finishedAt: new Date().toISOString(),
        node: process.version,
        platform: `${os.platform()} ${os.release()} ${os.arch()}`,
        cpus: os.cpus().map((c) => c.model),
        options: opts,
        loadAverageBefore: loadBefore,
        loadAverageAfter: os.loadavg(),
        addresses: { server: serverIp, client: clientIp },
        ciphers,
        hbone: { settings: HTTP2_SETTINGS, connectionWindowBytes: CONNECTION_WINDOW_BYTES, sessionsOpened },
        throughput,
        connectRate,
        target: target ?? null,
      },
      startedAt,
    );
    process.stdout.write(`saved ${path.relative(process.cwd(), file)}\n`);
  }
  return 0;
}

runEntry({ name: 'bench:core', usage: USAGE, parse: (argv) => parseOptions(argv), cleanup: new Cleanup(), run });
