// A refused client certificate gets the TLS alert ztunnel (rustls) would send, naming why, not a
// bare TCP close; and a peer of another trust domain is refused in the handshake, before any
// HTTP/2. Checked with Node's TLS client (its error codes name the alert it read) and with
// `openssl s_client`.
import t from 'tap';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tls from 'node:tls';
import { spawn, spawnSync } from 'node:child_process';
import { HbonePool } from '../../src/hbone/pool';
import { expectIdentity } from '../../src/hbone/tls';
import type { TlsMaterial } from '../../src/identity/workload-cert';
import { logger } from '../../src/telemetry/log';
import { HboneServer } from '../../src/hbone/server';
import { workload, testCa, echoApp, close, quietLog, forwardToAuthority } from '../fixtures/mesh';
import { oddLeaf, expiredWindow, futureWindow } from './fixtures/leaves';

const SERVER_IP = '127.101.1.1';
const CLIENT_IP = '127.101.1.2';
const PEER = 'spiffe://cluster.local/ns/default/sa/sleep';

interface Outcome {
  /** The client finished its side of the handshake (TLS 1.3: before the server judged it). */
  readonly secure: boolean;
  /** Node's error code for what ended the connection; undefined for a clean close. */
  readonly code?: string;
  readonly message?: string;
}

function handshake(port: number, material: Partial<TlsMaterial> | undefined, ca: string, extra: tls.ConnectionOptions = {}): Promise<Outcome> {
  return new Promise((resolve) => {
    let secure = false;
    let error: NodeJS.ErrnoException | undefined;
    const s = tls.connect({
      host: SERVER_IP,
      port,
      ca,
      cert: material?.cert,
      key: material?.key,
      ALPNProtocols: ['h2'],
      minVersion: 'TLSv1.3',
      checkServerIdentity: () => undefined,
      ...extra,
    });
    s.on('secureConnect', () => (secure = true));
    // Read whatever comes: the alert arrives after the client's Finished.
    s.on('data', () => undefined);
    s.on('error', (err) => (error = err));
    s.on('close', () => resolve({ secure, code: error?.code, message: error?.message }));
  });
}

t.test('each refused certificate gets the alert that names why', async (t) => {
  const serverCert = await workload('default', 'productpage');
  const ca = await testCa();
  const rogue = await testCa('cluster.local', 'rogue');
  const lines: string[] = [];
  let handled = 0;
  const server = new HboneServer({ address: SERVER_IP, certificate: serverCert, handler: () => handled++, log: logger('hbone::server', (l) => lines.push(l)) });
  await server.listen();
  t.teardown(async () => {
    await server.close();
    serverCert.stop();
  });
  const port = server.endpoint.port;
  const root = serverCert.tls.ca;
  const cases: Array<[string, Partial<TlsMaterial> | undefined, string, string]> = [
    ['another CA', await oddLeaf(rogue, { spiffeId: PEER }), 'ERR_SSL_TLSV1_ALERT_UNKNOWN_CA', 'unknown_ca'],
    ['expired', await oddLeaf(ca, { spiffeId: PEER, ...expiredWindow() }), 'ERR_SSL_SSLV3_ALERT_CERTIFICATE_EXPIRED', 'certificate_expired'],
    [
      'not yet valid (rustls and BoringSSL say certificate_expired too)',
      await oddLeaf(ca, { spiffeId: PEER, ...futureWindow() }),
      'ERR_SSL_SSLV3_ALERT_CERTIFICATE_EXPIRED',
      'certificate_expired',
    ],
    [
      'an unknown critical extension',
      await oddLeaf(ca, { spiffeId: PEER, unknownCriticalExtension: true }),
      'ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE',
      'bad_certificate',
    ],
    [
      'another trust domain',
      await oddLeaf(ca, { spiffeId: 'spiffe://evil.local/ns/default/sa/sleep' }),
      'ERR_SSL_SSLV3_ALERT_CERTIFICATE_UNKNOWN',
      'certificate_unknown',
    ],
    ['no SPIFFE identity', await oddLeaf(ca, { spiffeId: 'https://sleep.default.example' }), 'ERR_SSL_SSLV3_ALERT_CERTIFICATE_UNKNOWN', 'certificate_unknown'],
    ['no certificate at all', undefined, 'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED', 'certificate_required'],
  ];
  for (const [what, material, code, alert] of cases) {
    const out = await handshake(port, material, root);
    t.equal(out.code, code, `${what}: ${alert} (${out.message ?? 'closed without an error'})`);
    t.ok(
      lines.some((l) => l.includes('connection failed') && l.includes(`alert=${alert}`) && l.includes('direction=inbound')),
      `${what}: logged as ztunnel's "connection failed" with alert=${alert}`,
    );
  }
  t.same(server.refusedHandshakes, { unknown_ca: 1, certificate_expired: 2, bad_certificate: 1, certificate_unknown: 2, certificate_required: 1 });
  t.equal(server.connectionsAccepted, 0, 'no refused peer reached HTTP/2');
  t.equal(handled, 0, 'no refused peer reached the handler');
  t.match(lines.join('\n'), /peer did not present the expected trustdomain \(cluster\.local\), got spiffe:\/\/evil\.local\/ns\/default\/sa\/sleep/);
});

t.test('the alert is sealed right under every TLS 1.3 suite, and after a resumption', async (t) => {
  const serverCert = await workload('default', 'productpage');
  const rogue = await oddLeaf(await testCa('cluster.local', 'rogue'), { spiffeId: PEER });
  const server = new HboneServer({ address: SERVER_IP, certificate: serverCert, handler: () => undefined, log: quietLog });
  await server.listen();
  t.teardown(async () => {
    await server.close();
    serverCert.stop();
  });
  const port = server.endpoint.port;
  for (const suite of ['TLS_AES_128_GCM_SHA256', 'TLS_AES_256_GCM_SHA384', 'TLS_CHACHA20_POLY1305_SHA256']) {
    const out = await handshake(port, rogue, serverCert.tls.ca, { ciphers: suite });
    t.equal(out.code, 'ERR_SSL_TLSV1_ALERT_UNKNOWN_CA', `${suite}: ${out.message}`);
  }
  // OpenSSL sends two session tickets after a full handshake and at most one after a resumption:
  // the alert's record number must follow. The refused client still got tickets; it resumes.
  let session: Buffer | undefined;
  await new Promise<void>((resolve) => {
    const s = tls.connect({
      host: SERVER_IP,
      port,
      ca: serverCert.tls.ca,
      cert: rogue.cert,
      key: rogue.key,
      ALPNProtocols: ['h2'],
      checkServerIdentity: () => undefined,
    });
    s.on('session', (b: Buffer) => (session = b));
    s.on('data', () => undefined);
    s.on('error', () => undefined);
    s.on('close', () => resolve());
  });
  t.ok(session, 'the refused client was handed a session ticket');
  let reused = false;
  const resumed = await new Promise<Outcome>((resolve) => {
    let error: NodeJS.ErrnoException | undefined;
    const s = tls.connect({
      host: SERVER_IP,
      port,
      ca: serverCert.tls.ca,
      cert: rogue.cert,
      key: rogue.key,
      session,
      ALPNProtocols: ['h2'],
      checkServerIdentity: () => undefined,
    });
    s.on('secureConnect', () => (reused = s.isSessionReused()));
    s.on('data', () => undefined);
    s.on('error', (err) => (error = err));
    s.on('close', () => resolve({ secure: true, code: error?.code, message: error?.message }));
  });
  t.ok(reused, 'the second handshake was a resumption');
  t.equal(resumed.code, 'ERR_SSL_TLSV1_ALERT_UNKNOWN_CA', `a resumed session is judged again and refused: ${resumed.message}`);
});

const OPENSSL_MISSING = spawnSync('openssl', ['version'], { encoding: 'utf8' }).status !== 0;

t.test('openssl s_client reads the alert too', { skip: OPENSSL_MISSING ? 'openssl is not installed' : false }, async (t) => {
  const serverCert = await workload('default', 'productpage');
  const server = new HboneServer({ address: SERVER_IP, certificate: serverCert, handler: () => undefined, log: quietLog });
  await server.listen();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hbone-alert-'));
  t.teardown(async () => {
    await server.close();
    serverCert.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  const expired = await oddLeaf(await testCa(), { spiffeId: PEER, ...expiredWindow() });
  fs.writeFileSync(path.join(dir, 'cert.pem'), expired.cert);
  fs.writeFileSync(path.join(dir, 'key.pem'), expired.key);
  fs.writeFileSync(path.join(dir, 'root.pem'), serverCert.tls.ca);
  const run = await new Promise<string>((resolve) => {
    const p = spawn(
      'openssl',
      ['s_client', '-connect', `${SERVER_IP}:${server.endpoint.port}`, '-tls1_3', '-alpn', 'h2', '-cert', 'cert.pem', '-key', 'key.pem', '-CAfile', 'root.pem'],
      { cwd: dir },
    );
    let out = '';
    p.stdout.on('data', (d: Buffer) => (out += d));
    p.stderr.on('data', (d: Buffer) => (out += d));
    // Keep stdin open: s_client reads the server's records until the alert closes it.
    const timer = setTimeout(() => p.kill(), 5000);
    p.on('exit', () => {
      clearTimeout(timer);
      resolve(out);
    });
  });
  t.match(run, /alert certificate expired|SSL alert number 45/, 'openssl names the alert');
});

t.test('an honest peer on the same server is served, before and after refusals', async (t) => {
  const serverCert = await workload('default', 'productpage');
  const clientCert = await workload('default', 'sleep');
  const app = await echoApp(SERVER_IP);
  const server = new HboneServer({ address: SERVER_IP, certificate: serverCert, handler: forwardToAuthority, log: quietLog });
  await server.listen();
  let pool = new HbonePool({ log: quietLog });
  t.teardown(async () => {
    await pool.close();
    await server.close();
    await close(app.server);
    serverCert.stop();
    clientCert.stop();
  });
  const echo = async (): Promise<string> => {
    const stream = await pool.connect({
      source: clientCert,
      expect: expectIdentity(serverCert.spiffeId),
      address: SERVER_IP,
      sourceIp: CLIENT_IP,
      authority: `${SERVER_IP}:${app.port}`,
    });
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.end('ping');
    await new Promise((r) => stream.on('end', r));
    return Buffer.concat(chunks).toString();
  };
  t.equal(await echo(), 'ping');
  const rogue = await oddLeaf(await testCa('cluster.local', 'rogue'), { spiffeId: PEER });
  for (let i = 0; i < 5; i++) t.equal((await handshake(server.endpoint.port, rogue, serverCert.tls.ca)).code, 'ERR_SSL_TLSV1_ALERT_UNKNOWN_CA');
  t.equal(await echo(), 'ping', 'the pooled session still carries tunnels');
  await pool.close();
  pool = new HbonePool({ log: quietLog });
  t.equal(await echo(), 'ping', 'and a new session is admitted');
  t.equal(server.connectionsAccepted, 2, 'two honest sessions, no refused one');
});
