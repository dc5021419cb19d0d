// Interop with a third-party HTTP/2 CONNECT client: nghttpx (Debian package nghttp2-proxy) as a
// forward proxy whose backend is our HBONE server. An HTTP/1.1 CONNECT on nghttpx's plain-TCP
// frontend becomes an h2 CONNECT stream over mutual TLS, with nghttpx presenting a mesh identity.
import t from 'tap';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawn, ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import type { TLSSocket } from 'node:tls';
import { hboneServer, workload, echoApp, close, forwardToAuthority } from '../fixtures/mesh';

const SERVER_IP = '127.23.0.1';
const PROXY_IP = '127.23.0.2';
const PORT_HBONE = 15008;
const NGHTTPX_IDENTITY = 'spiffe://cluster.local/ns/default/sa/nghttpx';
const PAYLOAD_BYTES = 6 * 1024;

/** Debian installs nghttpx in /usr/sbin, which is not always on a user's PATH. */
function findExecutable(name: string): string | undefined {
  const dirs = ['/usr/bin', '/usr/sbin', ...(process.env.PATH ?? '').split(path.delimiter).filter(Boolean)];
  for (const dir of dirs) {
    const candidate = path.join(dir, name);
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      if (fs.statSync(candidate).isFile()) return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

const NGHTTPX = findExecutable('nghttpx');
// setpriv (util-linux) makes the kernel SIGKILL nghttpx if this test process dies without running
// its teardown (a tap timeout ends it with SIGALRM/SIGKILL), so no nghttpx outlives the test.
const SETPRIV = findExecutable('setpriv');

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function freePort(address: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', reject);
    probe.listen(0, address, () => {
      const { port } = probe.address() as net.AddressInfo;
      probe.close(() => resolve(port));
    });
  });
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

function readLog(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return '(no log)';
  }
}

/** Sends SIGTERM, then SIGKILL if nghttpx has not exited within a second. */
async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 1000);
  await exited;
  clearTimeout(timer);
}

/** Reads an HTTP/1.1 response head; resolves with the head and any bytes that followed it. */
function readResponseHead(socket: net.Socket, timeoutMs = 10_000): Promise<{ head: string; rest: Buffer }> {
  return new Promise((resolve, reject) => {
    let buf = Buffer.alloc(0);
    const timer = setTimeout(() => done(new Error(`no response head within ${timeoutMs} ms; got ${JSON.stringify(buf.toString('latin1'))}`)), timeoutMs);
    const onData = (chunk: Buffer): void => {
      buf = Buffer.concat([buf, chunk]);
      const end = buf.indexOf('\r\n\r\n');
      if (end >= 0) done(undefined, { head: buf.subarray(0, end).toString('latin1'), rest: buf.subarray(end + 4) });
    };
    const onEnd = (): void => done(new Error(`connection ended before a response head; got ${JSON.stringify(buf.toString('latin1'))}`));
    const onError = (err: Error): void => done(err);
    const done = (err?: Error, value?: { head: string; rest: Buffer }): void => {
      clearTimeout(timer);
      socket.off('data', onData).off('end', onEnd).off('error', onError);
      socket.pause();
      if (err) reject(err);
      else resolve(value!);
    };
    socket.on('data', onData).once('end', onEnd).once('error', onError);
  });
}

/** Collects exactly `n` bytes (starting with `initial`) from the socket. */
function readExactly(socket: net.Socket, n: number, initial: Buffer, timeoutMs = 10_000): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks = [initial];
    let got = initial.length;
    const timer = setTimeout(() => done(new Error(`echo incomplete after ${timeoutMs} ms: ${got}/${n} bytes`)), timeoutMs);
    const onData = (chunk: Buffer): void => {
      chunks.push(chunk);
      got += chunk.length;
      if (got >= n) done();
    };
    const onEnd = (): void => done(new Error(`connection ended after ${got}/${n} echoed bytes`));
    const onError = (err: Error): void => done(err);
    const done = (err?: Error): void => {
      clearTimeout(timer);
      socket.off('data', onData).off('end', onEnd).off('error', onError);
      if (err) reject(err);
      else resolve(Buffer.concat(chunks));
    };
    if (got >= n) return done();
    socket.on('data', onData).once('end', onEnd).once('error', onError);
    socket.resume();
  });
}

t.test(
  'nghttpx (HTTP/2 forward proxy) tunnels a CONNECT through our HBONE server with a mesh identity',
  { skip: NGHTTPX ? false : 'nghttpx not installed: apt-get install nghttp2-proxy' },
  async (t) => {
    const serverCert = await workload('default', 'productpage');
    const clientCert = await workload('default', 'nghttpx');

    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hbone-nghttpx-'));
    t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
    const certFile = path.join(dir, 'cert-chain.pem');
    const keyFile = path.join(dir, 'key.pem');
    const rootFile = path.join(dir, 'root-cert.pem');
    const logFile = path.join(dir, 'nghttpx.log');
    const { cert, key, ca } = clientCert.tls;
    fs.writeFileSync(certFile, cert);
    fs.writeFileSync(keyFile, key, { mode: 0o600 });
    fs.writeFileSync(rootFile, ca);

    const app = await echoApp(SERVER_IP);
    t.teardown(() => close(app.server));

    interface Seen {
      peerSpiffeId: string;
      authority: string;
      protocol: string | null;
      alpn: string | false | null;
      cipher: string;
      headers: Record<string, unknown>;
    }
    const seen: Seen[] = [];
    const server = await hboneServer(SERVER_IP, serverCert, (conn) => {
      const socket = conn.stream.session!.socket as TLSSocket;
      seen.push({
        peerSpiffeId: conn.peerSpiffeId,
        authority: `${conn.authority.host}:${conn.authority.port}`,
        protocol: socket.getProtocol(),
        alpn: socket.alpnProtocol,
        cipher: socket.getCipher().standardName,
        headers: { ...conn.headers },
      });
      forwardToAuthority(conn);
    });
    t.equal(server.endpoint.port, PORT_HBONE, 'our server listens on the HBONE port');

    const frontendPort = await freePort(PROXY_IP);
    const args = [
      '--conf=/dev/null', // never read /etc/nghttpx/nghttpx.conf
      '--http2-proxy', // forward-proxy mode: CONNECT is forwarded to the backend
      '--single-process', // one process to kill, no separate worker process
      '--workers=1',
      '--log-level=WARN',
      `--errorlog-file=${logFile}`,
      `--frontend=${PROXY_IP},${frontendPort};no-tls`,
      `--backend=${SERVER_IP},${PORT_HBONE};;proto=h2;tls`,
      `--client-private-key-file=${keyFile}`,
      `--client-cert-file=${certFile}`,
      `--cacert=${rootFile}`,
      // Our server's certificate carries only a SPIFFE URI SAN, and nghttpx verifies a backend by
      // host name (DNS/IP SAN), so it cannot verify us: --insecure turns backend verification off.
      // The server side is what this test proves: nghttpx presents a mesh identity and speaks h2 CONNECT.
      '--insecure',
    ];
    const [command, argv] = SETPRIV ? [SETPRIV, ['--pdeathsig', 'KILL', '--', NGHTTPX!, ...args]] : [NGHTTPX!, args];
    t.comment(`${command} ${argv.join(' ')}`);
    const child = spawn(command, argv, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr!.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    const killOnExit = (): void => {
      child.kill('SIGKILL');
    };
    process.once('exit', killOnExit);
    t.teardown(async () => {
      process.off('exit', killOnExit);
      await stop(child);
      await server.close();
    });
    const diagnostics = (): string => `nghttpx stderr: ${stderr.trim() || '(empty)'}\nnghttpx log:\n${readLog(logFile)}`;

    // Wait (bounded) for the frontend to accept connections.
    let ready = false;
    for (let i = 0; i < 100 && !ready; i++) {
      if (child.exitCode !== null || child.signalCode !== null) break;
      ready = await canConnect(PROXY_IP, frontendPort);
      if (!ready) await sleep(50);
    }
    if (!ready) {
      t.fail(`nghttpx frontend ${PROXY_IP}:${frontendPort} never accepted a connection (exit ${child.exitCode ?? child.signalCode})\n${diagnostics()}`);
      return;
    }

    const client = net.connect({ host: PROXY_IP, port: frontendPort });
    t.teardown(() => client.destroy());
    await new Promise<void>((resolve, reject) => client.once('connect', resolve).once('error', reject));
    const target = `${SERVER_IP}:${app.port}`;
    client.write(`CONNECT ${target} HTTP/1.1\r\nHost: ${target}\r\n\r\n`);
    const { head, rest } = await readResponseHead(client).catch((err: Error) => {
      throw new Error(`${err.message}\n${diagnostics()}`);
    });
    if (!t.match(head, /^HTTP\/1\.1 200\b/, 'nghttpx answered the CONNECT with 200', { head, log: readLog(logFile) })) return;
    t.equal(rest.length, 0, 'no tunnel bytes before we sent any');

    const payload = randomBytes(PAYLOAD_BYTES);
    client.write(payload);
    const echoed = await readExactly(client, payload.length, rest);
    t.equal(echoed.length, payload.length, 'echo length');
    t.ok(echoed.equals(payload), 'echo is byte-exact');
    // No half-close check: on the client's FIN nghttpx 1.52 drops the whole tunnel and resets the
    // backend stream (RST_STREAM INTERNAL_ERROR) instead of sending END_STREAM.
    client.end();

    t.equal(seen.length, 1, 'our server saw exactly one CONNECT stream');
    const s = seen[0];
    t.equal(s?.peerSpiffeId, NGHTTPX_IDENTITY, 'the server saw nghttpx present the mesh identity');
    t.equal(s?.authority, target, 'the CONNECT :authority is the echo app');
    t.equal(s?.headers[':method'], 'CONNECT', 'nghttpx sent an h2 CONNECT');
    t.equal(s?.protocol, 'TLSv1.3', 'TLS 1.3 was negotiated');
    t.equal(s?.alpn, 'h2', 'ALPN h2 was negotiated');
    t.comment(`negotiated ${s?.protocol} ${s?.cipher} ALPN ${s?.alpn}; request headers ${JSON.stringify(s?.headers)}`);
  },
);
