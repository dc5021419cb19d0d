// mTLS handshake, identities, and every way a connection is refused.
import t from 'tap';
import * as http2 from 'node:http2';
import type { TLSSocket } from 'node:tls';
import { HbonePool, HboneConnectError } from '../../src/hbone/pool';
import { expectIdentity, clientTlsOptions } from '../../src/hbone/tls';
import { InboundConnect } from '../../src/hbone/server';
import { hboneServer, workload, testCa, echoApp, close, quietLog } from '../fixtures/mesh';

const SERVER_IP = '127.21.0.1';
const CLIENT_IP = '127.21.0.2';

t.test('mTLS handshake: TLS 1.3, ALPN h2, and the peer identity on both ends', async (t) => {
  const serverCert = await workload('default', 'productpage');
  const clientCert = await workload('default', 'sleep');
  const app = await echoApp(SERVER_IP);
  let seen: InboundConnect | undefined;
  let protocol: string | null = null;
  let alpn: string | false | null = null;
  const server = await hboneServer(SERVER_IP, serverCert, (conn) => {
    seen = conn;
    const socket = conn.stream.session!.socket as TLSSocket;
    protocol = socket.getProtocol();
    alpn = socket.alpnProtocol;
    conn.accept().end();
  });
  const pool = new HbonePool({ log: quietLog });
  t.teardown(async () => {
    await pool.close();
    await server.close();
    await close(app.server);
  });
  const stream = await pool.connect({
    source: clientCert,
    expect: expectIdentity(serverCert.spiffeId),
    address: SERVER_IP,
    sourceIp: CLIENT_IP,
    authority: `${SERVER_IP}:${app.port}`,
    headers: { 'x-envoy-original-dst-host': `${SERVER_IP}:${app.port}` },
  });
  stream.resume();
  stream.end();
  t.equal(seen?.peerSpiffeId, 'spiffe://cluster.local/ns/default/sa/sleep');
  t.same(seen?.peer, { trustDomain: 'cluster.local', namespace: 'default', serviceAccount: 'sleep' });
  t.equal(seen?.authority.port, app.port);
  t.equal(seen?.remote.address, CLIENT_IP, 'the client dialled from the source pod address');
  t.equal(seen?.local.port, 15008);
  t.equal(seen?.headers['x-envoy-original-dst-host'], `${SERVER_IP}:${app.port}`);
  t.equal(protocol, 'TLSv1.3');
  t.equal(alpn, 'h2');
});

async function expectRefusal(opts: { serverCa?: string; clientTd?: string; clientCaName?: string; expected?: string; authority?: string }): Promise<Error> {
  const serverCert = await workload('default', 'productpage', { ca: await testCa('cluster.local', opts.serverCa ?? 'default') });
  const clientCert = await workload('default', 'sleep', {
    trustDomain: opts.clientTd,
    ca: await testCa('cluster.local', opts.clientCaName ?? 'default'),
  });
  const app = await echoApp(SERVER_IP);
  const server = await hboneServer(SERVER_IP, serverCert);
  const pool = new HbonePool({ log: quietLog });
  const err = await pool
    .connect({
      source: clientCert,
      expect: expectIdentity(opts.expected ?? serverCert.spiffeId),
      address: SERVER_IP,
      authority: opts.authority ?? `${SERVER_IP}:${app.port}`,
    })
    .then(
      () => undefined,
      (e: Error) => e,
    )
    .finally(async () => {
      await pool.close();
      await server.close();
      await close(app.server);
    });
  if (!err) throw new Error('the connection was accepted');
  return err;
}

t.test('a client certificate from another CA is refused by the server', async (t) => {
  const err = await expectRefusal({ clientCaName: 'rogue' });
  t.match(err.message, /alert|socket hang up|ECONNRESET|certificate|closed/i);
});

t.test('a server certificate from another CA is refused by the client', async (t) => {
  const err = await expectRefusal({ serverCa: 'rogue' });
  t.match(err.message, /unable to verify|self.signed|certificate/i);
});

t.test('a client from another trust domain is refused in the handshake (TLS alert certificate_unknown)', async (t) => {
  const err = await expectRefusal({ clientTd: 'evil.local' });
  t.equal((err as NodeJS.ErrnoException).code, 'ERR_SSL_SSLV3_ALERT_CERTIFICATE_UNKNOWN', err.message);
});

t.test('the client refuses a server whose SAN is not the expected identity, naming both', async (t) => {
  const err = await expectRefusal({ expected: 'spiffe://cluster.local/ns/default/sa/reviews' });
  t.match(err.message, 'expected spiffe://cluster.local/ns/default/sa/reviews');
  t.match(err.message, 'got spiffe://cluster.local/ns/default/sa/productpage');
});

t.test('a bad authority is answered 400', async (t) => {
  for (const authority of ['productpage', 'productpage:http', '10.4.0.5:0', '10.4.0.5:99999']) {
    const err = await expectRefusal({ authority });
    t.ok(err instanceof HboneConnectError, authority);
    t.equal((err as HboneConnectError).status, 400, `${authority} -> 400`);
  }
});

t.test('a method other than CONNECT is answered 400', async (t) => {
  const serverCert = await workload('default', 'productpage');
  const clientCert = await workload('default', 'sleep');
  const server = await hboneServer(SERVER_IP, serverCert, () => t.fail('handler must not see a GET'));
  t.teardown(() => server.close());
  const session = http2.connect(`https://${SERVER_IP}:15008`, clientTlsOptions(clientCert.tls, expectIdentity(serverCert.spiffeId)));
  t.teardown(() => session.destroy());
  for (const method of ['GET', 'POST']) {
    const status = await new Promise<number>((resolve, reject) => {
      const req = session.request({ ':method': method, ':path': '/', ':authority': `${SERVER_IP}:9080` }, { endStream: method === 'GET' });
      req.on('response', (h) => resolve(Number(h[':status'])));
      req.on('error', reject);
      if (method === 'POST') req.end('x');
      req.resume();
    });
    t.equal(status, 400, `${method} -> 400`);
  }
});
