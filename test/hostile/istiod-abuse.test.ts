// istiod's :15012 against broken and hostile callers (in-process istiod on 127.111, real TLS):
// no token, a forged one, garbage and oversized messages on the ADS stream, a request for an
// unknown type, a flood of CSRs for identities the caller may not have. Each gets its answer or
// a closed stream, istiod stays up, and a well-behaved proxy keeps its subscription throughout.
import t from 'tap';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as http2 from 'node:http2';
import { loadScenario } from '../../src/mesh/load';
import { loadOrCreateCa } from '../../src/identity/ca-store';
import { makeSpiffeId } from '../../src/identity/spiffe';
import { WorkloadCertificate } from '../../src/identity/workload-cert';
import { newTokenKey, signToken } from '../../src/identity/sa-token';
import { Istiod } from '../../src/istiod/istiod';
import { IstiodCaClient } from '../../src/xds/ca-client';
import { joinControlPlane } from '../../src/xds/bootstrap';
import { TYPE_ADDRESS, TYPE_AUTHORIZATION, ADS_PATH } from '../../src/xds/types';
import { MAX_MESSAGE_BYTES } from '../../src/xds/ndjson';
import { ZTUNNEL_NAMESPACE, ZTUNNEL_SERVICE_ACCOUNT } from '../../src/mesh/control-plane';
import { logger } from '../../src/telemetry/log';

const QUIET = logger('test', () => undefined);
const ISTIOD = '127.111.255.1';

const SCENARIO = `name: abuse
nodes: [ { name: node-a, ip: 10.111.0.1 } ]
workloads:
  - { name: sleep, namespace: default, serviceAccount: sleep, node: node-a, ip: 10.111.1.1, labels: { app: sleep }, run: { app: sleep, port: 80 } }
`;

t.test('istiod holds against broken and hostile callers, and a good proxy keeps its stream', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hbone-istiod-abuse-'));
  const file = path.join(dir, 'abuse.yaml');
  fs.writeFileSync(file, SCENARIO);
  const ca = await loadOrCreateCa(path.join(dir, 'certs'));
  const key = newTokenKey();
  const istiod = new Istiod({ scenario: loadScenario(file), ca, tokenKey: key, log: QUIET });
  await istiod.start();
  t.teardown(async () => {
    await istiod.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  const token = signToken(key, { namespace: ZTUNNEL_NAMESPACE, serviceAccount: ZTUNNEL_SERVICE_ACCOUNT, pod: 'ztunnel-node-a', node: 'node-a' });
  // The well-behaved proxy, subscribed before the abuse starts.
  let applied = 0;
  const good = await joinControlPlane({
    istiod: `${ISTIOD}:15012`,
    caDir: path.join(dir, 'certs'),
    token,
    identity: makeSpiffeId(ZTUNNEL_NAMESPACE, ZTUNNEL_SERVICE_ACCOUNT),
    node: { id: 'ztunnel~10.111.0.1~ztunnel-node-a.istio-system~istio-system.svc.cluster.local', proxyType: 'ztunnel' },
    handlers: ([TYPE_ADDRESS, TYPE_AUTHORIZATION] as const).map((typeUrl) => ({ typeUrl, apply: () => void applied++ })),
    log: QUIET,
  });
  t.teardown(() => good.stop());

  /** One ADS stream with `headers`, fed `body`; resolves with its status and how it ended. */
  const ads = (headers: Record<string, string>, body: (s: http2.ClientHttp2Stream) => void) =>
    new Promise<{ status: number; ended: string }>((resolve) => {
      const own = good.own.tls;
      const s = http2.connect(`https://${ISTIOD}:15012`, { ca: ca.rootPem, servername: 'istiod.istio-system.svc', cert: own.cert, key: own.key });
      s.on('error', () => undefined);
      const req = s.request({ ':method': 'POST', ':path': ADS_PATH, ...headers }, { endStream: false });
      let status = 0;
      req.on('response', (h) => (status = Number(h[':status'])));
      req.on('error', () => undefined);
      req.resume();
      const timer = setTimeout(() => finish('still open'), 3000);
      const finish = (ended: string) => {
        clearTimeout(timer);
        s.destroy();
        resolve({ status, ended });
      };
      req.on('close', () => finish(`closed (rst ${req.rstCode})`));
      body(req);
    });
  const auth = { authorization: `Bearer ${token}` };

  t.match(await ads({}, (r) => r.end()), { status: 401 }, 'no token');
  const forged = signToken(newTokenKey(), { namespace: ZTUNNEL_NAMESPACE, serviceAccount: ZTUNNEL_SERVICE_ACCOUNT, pod: 'x', node: 'node-a' });
  t.match(await ads({ authorization: `Bearer ${forged}` }, (r) => r.end()), { status: 401 }, 'a forged token');
  t.match(await ads(auth, (r) => r.write('this is not json\n')), { status: 200, ended: /closed/ }, 'garbage: the stream is closed');
  t.match(
    await ads(auth, (r) => r.write(JSON.stringify({ typeUrl: 'type.googleapis.com/evil.Type', node: { id: 'x', proxyType: 'ztunnel' } }) + '\n')),
    { ended: /closed/ },
    'an unknown type: closed',
  );
  t.match(
    await ads(auth, (r) => r.write(Buffer.alloc(MAX_MESSAGE_BYTES + 1024, 0x41))),
    { ended: /closed/ },
    'a message over the limit, without a newline: closed, not buffered',
  );
  t.match(await ads(auth, (r) => r.write(JSON.stringify({ typeUrl: TYPE_ADDRESS }) + '\n')), { ended: /closed/ }, 'a first request without its node: closed');

  // 200 CSRs for an identity ztunnel node-a may not have, at once.
  const impersonating = new IstiodCaClient({ ...good.endpoint, clientCertificate: () => ({ cert: good.own.tls.cert, key: good.own.tls.key }) }, true);
  const results = await Promise.all(
    Array.from({ length: 200 }, () =>
      WorkloadCertificate.obtain(makeSpiffeId('default', 'not-on-this-node'), impersonating).then(
        () => 'issued',
        (err: Error) => (/403/.test(err.message) ? '403' : err.message),
      ),
    ),
  );
  t.same([...new Set(results)], ['403'], 'every one refused with 403');

  // The good proxy's stream is still there: a new push reaches it.
  const before = applied;
  const s = loadScenario(file);
  istiod.setConfig({
    ...s,
    policies: [{ apiVersion: 'security.istio.io/v1', kind: 'AuthorizationPolicy', metadata: { name: 'p', namespace: 'default' }, spec: {}, origin: 'test' }],
  });
  for (let i = 0; i < 100 && applied === before; i++) await new Promise((r) => setTimeout(r, 20));
  t.ok(applied > before, 'the well-behaved proxy still gets pushes');
  t.equal(istiod.version.endsWith('/2'), true, 'istiod is still serving');
});
