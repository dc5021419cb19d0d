// The pod's TLS endpoint on the HAProxy side of the L7 comparison: what ztunnel B's inbound is on
// ours, without HBONE. Mutual TLS 1.3 in (the pod's mesh certificate, the client's required and
// checked against the mesh root), plain TCP to http-echo behind it, bytes piped both ways. Its
// own process, as ztunnel B is; its CPU is no part of the comparison.
//
//   node dist/bench/peers/pod-tls-main.js LISTEN_HOST:PORT UPSTREAM_HOST:PORT CERT_DIR
// CERT_DIR holds cert-chain.pem, key.pem and root-cert.pem (Istio's file names).
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import * as tls from 'node:tls';

export const CERT_CHAIN_FILE = 'cert-chain.pem';
export const KEY_FILE = 'key.pem';
export const ROOT_CERT_FILE = 'root-cert.pem';

function hostPort(text: string | undefined): { host: string; port: number } {
  const m = /^(.+):(\d+)$/.exec(text ?? '');
  if (!m) throw new Error(`not HOST:PORT: ${JSON.stringify(text)}`);
  return { host: m[1], port: Number(m[2]) };
}

function main(argv: string[]): void {
  const listen = hostPort(argv[0]);
  const upstream = hostPort(argv[1]);
  const dir = argv[2];
  if (!dir) throw new Error('usage: pod-tls-main.js LISTEN_HOST:PORT UPSTREAM_HOST:PORT CERT_DIR');
  const read = (f: string) => fs.readFileSync(path.join(dir, f), 'utf8');
  const server = tls.createServer(
    { cert: read(CERT_CHAIN_FILE), key: read(KEY_FILE), ca: read(ROOT_CERT_FILE), requestCert: true, rejectUnauthorized: true, minVersion: 'TLSv1.3' },
    (down) => {
      const up = net.connect(upstream);
      down.setNoDelay(true);
      up.setNoDelay(true);
      down.pipe(up).pipe(down);
      // Either side's end or error ends both: no half-open pair left behind.
      const end = (): void => {
        down.destroy();
        up.destroy();
      };
      down.once('error', end).once('close', end);
      up.once('error', end).once('close', end);
    },
  );
  server.on('tlsClientError', () => undefined);
  server.listen(listen.port, listen.host);
  for (const signal of ['SIGTERM', 'SIGINT'] as const) process.once(signal, () => process.exit(0));
  // The bench holds our stdin: when it goes away, however it went, so do we.
  process.stdin.on('end', () => process.exit(0));
  process.stdin.on('error', () => process.exit(0));
  process.stdin.resume();
}

if (require.main === module) main(process.argv.slice(2));
