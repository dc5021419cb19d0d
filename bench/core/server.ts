// The bench's receiving process, forked by bench/core/main.ts: a raw TCP sink, a TLS 1.3 sink and an
// HBONE server (mTLS h2 CONNECT on :15008) whose handler accepts every CONNECT and drains it.
// All three run the same sink (transfer.ts), so the cases differ only in the transport.
// It answers CPU-usage queries over IPC and exits when told to, or when the parent goes away.
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import * as tls from 'node:tls';
import { MeshCa } from '../../src/identity/ca';
import { WorkloadCertificate } from '../../src/identity/workload-cert';
import { makeSpiffeId } from '../../src/identity/spiffe';
import { HboneServer } from '../../src/hbone/server';
import { PORT_HBONE } from '../../src/hbone/constants';
import { serverSecureContextOptions } from '../../src/hbone/tls';
import { logger } from '../../src/telemetry/log';
import { attachSink } from './transfer';
import { ENV_CA_DIR, ENV_SERVER_IP, ENV_SERVER_SPIFFE_NS, ENV_SERVER_SPIFFE_SA, ROOT_CERT_FILE, ROOT_KEY_FILE, FromServer, ToServer } from './ipc';

/** How long open connections may take to close on stop before the process exits anyway. */
const STOP_GRACE_MS = 1000;

function send(msg: FromServer): void {
  if (process.connected) process.send?.(msg);
}

function required(name: string): string {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set; this process is started by bench/core/main.ts`);
  return v;
}

function listen(server: net.Server, address: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, address, () => {
      server.off('error', reject);
      resolve((server.address() as net.AddressInfo).port);
    });
  });
}

async function main(): Promise<void> {
  if (!process.send) throw new Error('bench/core/server.js must be forked with an IPC channel');
  const caDir = required(ENV_CA_DIR);
  const address = required(ENV_SERVER_IP);
  const ca = await MeshCa.fromPem(fs.readFileSync(path.join(caDir, ROOT_CERT_FILE), 'utf8'), fs.readFileSync(path.join(caDir, ROOT_KEY_FILE), 'utf8'));
  // The key is generated here, where it is used; only the root travels between the processes.
  const cert = await WorkloadCertificate.obtain(makeSpiffeId(required(ENV_SERVER_SPIFFE_NS), required(ENV_SERVER_SPIFFE_SA)), ca);

  const sockets = new Set<net.Socket>();
  const track = (s: net.Socket): void => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
  };

  const tcp = net.createServer((s) => {
    track(s);
    s.setNoDelay(true);
    attachSink(s);
  });
  // Mutual TLS 1.3 with the same mesh certificates HBONE uses; only HTTP/2 is missing.
  const tlsServer = tls.createServer({ ...serverSecureContextOptions(cert.tls), requestCert: true, rejectUnauthorized: true }, (s) => {
    track(s);
    attachSink(s);
  });
  tlsServer.on('connection', (s: net.Socket) => s.setNoDelay(true));
  tlsServer.on('tlsClientError', () => undefined);
  const hbone = new HboneServer({
    address,
    port: PORT_HBONE,
    certificate: cert,
    log: logger('bench::hbone'),
    handler: (conn) => attachSink(conn.accept()),
  });

  const tcpPort = await listen(tcp, address, 0);
  const tlsPort = await listen(tlsServer, address, 0);
  await hbone.listen();

  let stopping = false;
  const stop = (code: number): void => {
    if (stopping) return;
    stopping = true;
    cert.stop();
    const force = setTimeout(() => process.exit(code), STOP_GRACE_MS);
    force.unref();
    for (const s of sockets) s.destroy();
    void Promise.all([new Promise((r) => tcp.close(r)), new Promise((r) => tlsServer.close(r)), hbone.close(0)]).then(() => process.exit(code)); // exit (not just return) so --cpu-prof writes its profile
  };

  process.on('message', (msg: ToServer) => {
    if (msg.type === 'cpu') send({ type: 'cpu', id: msg.id, usage: process.cpuUsage() });
    else if (msg.type === 'stop') stop(0);
  });
  // The parent died or closed the channel: never outlive it.
  process.on('disconnect', () => stop(0));
  process.on('SIGINT', () => stop(130));
  process.on('SIGTERM', () => stop(143));

  send({ type: 'ready', pid: process.pid, tcpPort, tlsPort, hbonePort: PORT_HBONE, spiffeId: cert.spiffeId });
}

main().catch((err: Error) => {
  send({ type: 'failed', error: err.stack ?? err.message });
  process.exit(1);
});
