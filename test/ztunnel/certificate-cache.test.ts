// ztunnel's certificates by identity (src/ztunnel/certificate-cache.ts): pods of one service
// account share one certificate, obtained once even when they enroll together; the last pod out
// stops its renewal; a failed request is not kept.
import t from 'tap';
import { MeshCa } from '../../src/identity/ca';
import { WorkloadCertificate } from '../../src/identity/workload-cert';
import { makeSpiffeId, SpiffeId } from '../../src/identity/spiffe';
import { CertificateCache } from '../../src/ztunnel/certificate-cache';

const WEB = makeSpiffeId('default', 'web');
const DB = makeSpiffeId('default', 'db');

async function cacheWithCa(): Promise<{ cache: CertificateCache; asked: string[]; failNext: () => void }> {
  const ca = await MeshCa.create();
  const asked: string[] = [];
  let fail = false;
  const cache = new CertificateCache(async (id: SpiffeId) => {
    asked.push(`${id.namespace}/${id.serviceAccount}`);
    if (fail) {
      fail = false;
      throw new Error('istiod refused');
    }
    return await WorkloadCertificate.obtain(id, ca);
  });
  return { cache, asked, failNext: () => (fail = true) };
}

t.test('pods of one identity share one certificate, asked for once even when enrolled together', async (t) => {
  const { cache, asked } = await cacheWithCa();
  const [a, b, c] = await Promise.all([cache.acquire(WEB), cache.acquire(WEB), cache.acquire(DB)]);
  t.equal(a, b, 'the same certificate for two pods of web');
  t.not(a, c);
  t.same(asked.sort(), ['default/db', 'default/web'], 'one request per identity');
  t.same(
    cache
      .held()
      .map((x) => x.spiffeId)
      .sort(),
    ['spiffe://cluster.local/ns/default/sa/db', 'spiffe://cluster.local/ns/default/sa/web'],
  );
  // More pods than EventEmitter's default of 10 listen for its renewal without a warning.
  t.equal(a.getMaxListeners(), 0);
  for (const x of [a, b, c]) cache.release(x);
});

t.test('the last pod out gives it up; the next pod of that identity gets a new one', async (t) => {
  const { cache, asked } = await cacheWithCa();
  const a = await cache.acquire(WEB);
  const b = await cache.acquire(WEB);
  cache.release(a);
  t.equal(cache.held().length, 1, 'still held by the other pod');
  cache.release(b);
  t.same(cache.held(), [], 'given up with its last pod');
  const again = await cache.acquire(WEB);
  t.not(again, a, 'a new certificate');
  t.equal(asked.length, 2);
  cache.release(again);
});

t.test('a failed request is not kept: every waiting pod sees it, the next one asks again', async (t) => {
  const { cache, asked, failNext } = await cacheWithCa();
  failNext();
  const both = await Promise.allSettled([cache.acquire(WEB), cache.acquire(WEB)]);
  t.same(
    both.map((r) => r.status),
    ['rejected', 'rejected'],
  );
  t.same(cache.held(), []);
  const cert = await cache.acquire(WEB);
  t.equal(cert.spiffeId, 'spiffe://cluster.local/ns/default/sa/web');
  t.equal(asked.length, 2, 'asked again after the failure');
  cache.release(cert);
});
