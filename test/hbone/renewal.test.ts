// Certificate renewal in the middle of traffic: open streams outlive their certificates,
// new sessions present the renewed ones.
import t from 'tap';
import * as net from 'node:net';
import { randomBytes, X509Certificate } from 'node:crypto';
import type { TLSSocket } from 'node:tls';
import { tunnelPath, readAll, quietLog } from '../fixtures/mesh';
import { HbonePool } from '../../src/hbone/pool';
import { expectIdentity } from '../../src/hbone/tls';

const LIFETIME_MS = 3000; // renewal at 1.5 s, the first certificates expire at 3 s
const STREAMS = 20;
const RUN_MS = 4500;
const CHUNK = 16 * 1024;

t.test('renewal mid-traffic drops no stream, and new connections use the new certificate', async (t) => {
  const p = await tunnelPath('127.22.20', (s) => s.pipe(s), { lifetimeMs: LIFETIME_MS });
  t.teardown(() => p.close());
  const firstServerSerial = p.serverCert.certificate.serial;
  const firstClientSerial = p.clientCert.certificate.serial;
  const firstExpiry = Math.min(p.serverCert.certificate.notAfter.getTime(), p.clientCert.certificate.notAfter.getTime());

  // Long streams that keep sending across both renewals and past the first certificates' expiry.
  const streams = Array.from({ length: STREAMS }, async () => {
    const c: net.Socket = p.connect();
    const echoed = readAll(c);
    const sent: Buffer[] = [];
    const started = Date.now();
    while (Date.now() - started < RUN_MS) {
      const chunk = randomBytes(CHUNK);
      sent.push(chunk);
      c.write(chunk);
      await new Promise((r) => setTimeout(r, 50));
    }
    c.end();
    return (await echoed).equals(Buffer.concat(sent));
  });

  // After the first certificates have expired, a brand-new session must still be accepted:
  // only possible if both ends now present renewed certificates.
  await new Promise((r) => setTimeout(r, Math.max(0, firstExpiry - Date.now()) + 300));
  t.not(p.serverCert.certificate.serial, firstServerSerial, 'the server certificate was renewed');
  t.not(p.clientCert.certificate.serial, firstClientSerial, 'the client certificate was renewed');
  const freshPool = new HbonePool({ log: quietLog });
  t.teardown(() => freshPool.close());
  const stream = await freshPool.connect({
    source: p.clientCert,
    expect: expectIdentity(p.serverCert.spiffeId),
    address: '127.22.20.1',
    authority: p.appAddress,
  });
  const presented = (stream.session!.socket as TLSSocket).getPeerX509Certificate() as X509Certificate;
  t.equal(presented.serialNumber, p.serverCert.certificate.serial, 'the new session got the renewed server certificate');
  t.ok(Date.parse(presented.validTo) > firstExpiry, 'and it outlives the first one');
  stream.close();

  const results = await Promise.all(streams);
  t.equal(results.filter(Boolean).length, STREAMS, `all ${STREAMS} streams finished byte-exact`);
  t.ok(
    p.outbound.every((r) => 'end' in r && r.end === 'closed'),
    'none was reset',
  );
  t.equal(p.server.connectionsAccepted, 2, 'the long streams stayed on their original session');
});
