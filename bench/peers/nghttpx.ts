// nghttpx (Debian nghttp2-proxy) as ztunnel A's peer: an HTTP/1.1 CONNECT on its plain-TCP
// frontend becomes an h2 CONNECT stream over mutual TLS 1.3 to ztunnel-node-b, nghttpx presenting
// the client pod's mesh identity, as test/hbone/interop-nghttpx.test.ts configures it.
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import type { TlsMaterial } from '../../src/identity/workload-cert';
import { CONNECTION_WINDOW_BYTES, STREAM_WINDOW_BYTES } from '../../src/hbone/constants';
import { PeerChild } from './child';
import { findExecutable, isExecutable } from './executable';

/** NGHTTPX=PATH runs another nghttpx (a path that is not executable skips the job). */
export const ENV_NGHTTPX = 'NGHTTPX';
const READY_TIMEOUT_MS = 10_000;
const CONNECT_TIMEOUT_MS = 10_000;
export const NGHTTPX_PACKAGE = 'nghttp2-proxy';

/** The nghttpx to run, or why there is none. */
export function findNghttpx(override = process.env[ENV_NGHTTPX]): { path: string } | { missing: string } {
  if (override !== undefined) return isExecutable(override) ? { path: override } : { missing: `${ENV_NGHTTPX}=${override} is not an executable` };
  const found = findExecutable('nghttpx');
  return found ? { path: found } : { missing: `nghttpx not found (apt-get install ${NGHTTPX_PACKAGE})` };
}

/** "nghttpx 1.52.0", from `nghttpx --version` ("nghttpx nghttp2/1.52.0"). */
export function nghttpxVersion(binary: string): string {
  try {
    const text = execFileSync(binary, ['--version'], { encoding: 'utf8', timeout: 5000 });
    const m = /nghttp2\/(\S+)/.exec(text);
    return m ? `nghttpx ${m[1]}` : 'nghttpx';
  } catch {
    return 'nghttpx';
  }
}

export interface NghttpxSetup {
  readonly binary: string;
  /** Where its frontend listens (plain TCP, HTTP/1.1). */
  readonly frontend: { readonly host: string; readonly port: number };
  /** ztunnel-node-b's :15008, where the h2 CONNECT streams go. */
  readonly backend: { readonly host: string; readonly port: number };
  /** The client pod's certificate: nghttpx presents the same identity ztunnel A does for it. */
  readonly tls: TlsMaterial;
  /** A directory for its certificate files and log, removed by the caller. */
  readonly dir: string;
  /** TLS 1.3 suites to offer ztunnel B, in order (ztunnel A's, so both get the same one). */
  readonly tls13Suites: string;
}

/** nghttpx's arguments: one worker in one process, h2 windows as our HBONE pool's. */
export function nghttpxArgs(s: NghttpxSetup, files: { cert: string; key: string; ca: string; log: string }): string[] {
  return [
    '--conf=/dev/null', // never read /etc/nghttpx/nghttpx.conf
    '--http2-proxy', // forward-proxy mode: CONNECT is forwarded to the backend
    '--single-process', // no separate worker process: one pid whose CPU is the job's
    '--workers=1', // one event loop, as our ztunnel's one Node thread
    '--log-level=WARN',
    `--errorlog-file=${files.log}`,
    '--accesslog-file=/dev/null',
    `--frontend=${s.frontend.host},${s.frontend.port};no-tls`,
    `--backend=${s.backend.host},${s.backend.port};;proto=h2;tls`,
    `--backend-http2-window-size=${STREAM_WINDOW_BYTES}`,
    `--backend-http2-connection-window-size=${CONNECTION_WINDOW_BYTES}`,
    `--tls13-client-ciphers=${s.tls13Suites}`,
    `--client-private-key-file=${files.key}`,
    `--client-cert-file=${files.cert}`,
    `--cacert=${files.ca}`,
    // nghttpx verifies a backend by DNS/IP SAN and ours carry only a SPIFFE URI: it cannot
    // check ztunnel B's identity, so verification is off (a difference the report names).
    '--insecure',
  ];
}

export async function startNghttpx(s: NghttpxSetup): Promise<PeerChild> {
  const files = {
    cert: path.join(s.dir, 'nghttpx-cert-chain.pem'),
    key: path.join(s.dir, 'nghttpx-key.pem'),
    ca: path.join(s.dir, 'root-cert.pem'),
    log: path.join(s.dir, 'nghttpx.log'),
  };
  fs.writeFileSync(files.cert, s.tls.cert);
  fs.writeFileSync(files.key, s.tls.key, { mode: 0o600 });
  fs.writeFileSync(files.ca, s.tls.ca);
  try {
    return await PeerChild.start({
      name: 'nghttpx',
      command: s.binary,
      args: nghttpxArgs(s, files),
      ready: () => canConnect(s.frontend.host, s.frontend.port),
      timeoutMs: READY_TIMEOUT_MS,
    });
  } catch (err) {
    const log = fs.existsSync(files.log) ? fs.readFileSync(files.log, 'utf8').trim().slice(-500) : '';
    throw new Error(`${(err as Error).message}${log ? `; log: ${log}` : ''}`, { cause: err });
  }
}

function canConnect(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host, port });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

/**
 * A tunnel through nghttpx's frontend: HTTP/1.1 CONNECT to `authority`, resolved with the socket
 * once nghttpx answered 200 (no tunnel byte may follow that answer before the client sends).
 */
export function connectThrough(frontend: { host: string; port: number }, authority: string): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: frontend.host, port: frontend.port, allowHalfOpen: true });
    s.setNoDelay(true);
    let head = Buffer.alloc(0);
    const timer = setTimeout(() => fail(new Error(`nghttpx did not answer CONNECT ${authority} within ${CONNECT_TIMEOUT_MS} ms`)), CONNECT_TIMEOUT_MS);
    const fail = (err: Error): void => {
      clearTimeout(timer);
      s.destroy();
      reject(err);
    };
    const onData = (chunk: Buffer): void => {
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) return;
      clearTimeout(timer);
      // Left flowing, not paused: a paused socket stays paused when the caller adds its 'data'
      // listener. Nothing can arrive meanwhile: the sink speaks only after the client's payload.
      s.off('data', onData).off('error', fail).off('end', onEnd);
      const status = head.subarray(0, end).toString('latin1');
      if (!/^HTTP\/1\.1 200\b/.test(status) || end + 4 !== head.length)
        return fail(new Error(`nghttpx answered CONNECT ${authority} with ${JSON.stringify(status)}`));
      resolve(s);
    };
    const onEnd = (): void => fail(new Error(`nghttpx closed before answering CONNECT ${authority}`));
    s.on('data', onData).once('error', fail).once('end', onEnd);
    s.once('connect', () => s.write(`CONNECT ${authority} HTTP/1.1\r\nHost: ${authority}\r\n\r\n`));
  });
}
