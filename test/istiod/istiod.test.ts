// istiod in-process on 127.108 with real TLS: its CA signs only what a caller may have (a
// ztunnel: its own identity and its node's pods'), every request needs a valid token, ADS
// needs mutual TLS, pushes are ACKed, a NACK leaves the proxy on its last good version and
// shows as STALE in syncz, and a new config reaches the proxy with only what changed.
import t, { Test } from 'tap';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as http from 'node:http';
import { loadScenario } from '../../src/mesh/load';
import type { Scenario } from '../../src/mesh/model';
import { loadOrCreateCa } from '../../src/identity/ca-store';
import { createCsr } from '../../src/identity/csr';
import { makeSpiffeId } from '../../src/identity/spiffe';
import { WorkloadCertificate } from '../../src/identity/workload-cert';
import { newTokenKey, signToken } from '../../src/identity/sa-token';
import { Istiod } from '../../src/istiod/istiod';
import { IstiodCaClient, CaClientError } from '../../src/xds/ca-client';
import { joinControlPlane } from '../../src/xds/bootstrap';
import type { TypeHandler } from '../../src/xds/ads-client';
import { TYPE_ADDRESS, TYPE_AUTHORIZATION } from '../../src/xds/types';
import { ZTUNNEL_NAMESPACE, ZTUNNEL_SERVICE_ACCOUNT } from '../../src/mesh/control-plane';
import type { IstiodEndpoint } from '../../src/xds/istiod-session';
import { logger } from '../../src/telemetry/log';

const QUIET = logger('test', () => undefined);

const SCENARIO = (policyAction: string) => `name: cp
nodes:
  - { name: node-a, ip: 10.108.0.1 }
  - { name: node-b, ip: 10.108.0.2 }
workloads:
  - { name: sleep, namespace: default, serviceAccount: sleep, node: node-a, ip: 10.108.1.1, labels: { app: sleep }, run: { app: sleep, port: 80 } }
  - { name: echo, namespace: default, serviceAccount: echo, node: node-b, ip: 10.108.2.1, labels: { app: echo }, run: { app: echo, port: 8080 } }
services:
  - { name: echo, namespace: default, vip: 10.108.8.1, selector: { app: echo }, ports: [ { name: tcp, port: 8080 } ] }
policies:
  - apiVersion: security.istio.io/v1
    kind: AuthorizationPolicy
    metadata: { name: echo-policy, namespace: default }
    spec:
      selector: { matchLabels: { app: echo } }
      action: ${policyAction}
      rules: [ { from: [ { source: { principals: [ cluster.local/ns/default/sa/sleep ] } } ] } ]
`;

interface Fixture {
  dir: string;
  istiod: Istiod;
  key: string;
  rootPem: string;
  scenario(action: string): Scenario;
  endpoint(token: string, own?: WorkloadCertificate): IstiodEndpoint;
  ztunnelToken(node: string): string;
}

async function start(t: Test): Promise<Fixture> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hbone-istiod-'));
  const scenario = (action: string): Scenario => {
    const file = path.join(dir, `cp-${action}.yaml`);
    fs.writeFileSync(file, SCENARIO(action));
    return loadScenario(file);
  };
  const ca = await loadOrCreateCa(path.join(dir, 'certs'));
  const key = newTokenKey();
  const istiod = new Istiod({ scenario: scenario('ALLOW'), ca, tokenKey: key, log: QUIET });
  await istiod.start();
  t.teardown(async () => {
    await istiod.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  return {
    dir,
    istiod,
    key,
    rootPem: ca.rootPem,
    scenario,
    endpoint: (token, own) => ({
      address: '127.108.255.1',
      port: 15012,
      rootPem: ca.rootPem,
      token,
      clientCertificate: () => (own ? { cert: own.tls.cert, key: own.tls.key } : undefined),
    }),
    ztunnelToken: (node) => signToken(key, { namespace: ZTUNNEL_NAMESPACE, serviceAccount: ZTUNNEL_SERVICE_ACCOUNT, pod: `ztunnel-${node}`, node }),
  };
}

const id = (ns: string, sa: string) => makeSpiffeId(ns, sa);

async function refusal(p: Promise<unknown>): Promise<{ status: number; message: string }> {
  try {
    await p;
  } catch (err) {
    return { status: err instanceof CaClientError ? err.status : -1, message: (err as Error).message };
  }
  return { status: 200, message: 'issued' };
}

function getJson(url: string): Promise<unknown> {
  return new Promise((resolve, reject) => {
    http
      .get(url, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve(JSON.parse(Buffer.concat(chunks).toString('utf8'))));
      })
      .on('error', reject);
  });
}

t.test("the CA: a ztunnel gets its own identity, then its node's pods' and no other", async (t) => {
  const f = await start(t);
  const token = f.ztunnelToken('node-a');
  const own = await WorkloadCertificate.obtain(id('istio-system', 'ztunnel'), new IstiodCaClient(f.endpoint(token)));
  t.teardown(() => own.stop());
  t.equal(own.spiffeId, 'spiffe://cluster.local/ns/istio-system/sa/ztunnel', 'bootstrap with the token alone');

  const withMtls = new IstiodCaClient(f.endpoint(token, own), true);
  const sleep = await WorkloadCertificate.obtain(id('default', 'sleep'), withMtls);
  t.teardown(() => sleep.stop());
  t.equal(sleep.spiffeId, 'spiffe://cluster.local/ns/default/sa/sleep', 'sleep runs on node-a: issued');

  const other = await refusal(WorkloadCertificate.obtain(id('default', 'echo'), withMtls));
  t.equal(other.status, 403, 'echo runs on node-b: refused');
  t.match(other.message, /no pod with identity spiffe:\/\/cluster.local\/ns\/default\/sa\/echo runs on node node-a/);

  const noMtls = await refusal(WorkloadCertificate.obtain(id('default', 'sleep'), new IstiodCaClient(f.endpoint(token), true)));
  t.equal(noMtls.status, 403, 'impersonation without the ztunnel presenting its own certificate is refused');

  const metrics = await new Promise<string>((resolve) =>
    http.get('http://127.108.255.1:15014/metrics', (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () => resolve(text));
    }),
  );
  t.match(metrics, /citadel_server_success_cert_issuance_count 2\n/);
  t.match(metrics, /citadel_server_csr_refused_count 2\n/);
});

t.test('the CA: a waypoint gets only its own identity; bad tokens, certificates and CSRs are refused', async (t) => {
  const f = await start(t);
  const waypointToken = signToken(f.key, { namespace: 'default', serviceAccount: 'waypoint', pod: 'waypoint-0', node: 'node-a' });
  const own = await WorkloadCertificate.obtain(id('default', 'waypoint'), new IstiodCaClient(f.endpoint(waypointToken)));
  t.teardown(() => own.stop());
  const other = await refusal(WorkloadCertificate.obtain(id('default', 'sleep'), new IstiodCaClient(f.endpoint(waypointToken, own), true)));
  t.equal(other.status, 403);
  t.match(
    other.message,
    /default\/waypoint-0 \(spiffe:\/\/cluster.local\/ns\/default\/sa\/waypoint\) may not obtain a certificate for spiffe:\/\/cluster.local\/ns\/default\/sa\/sleep/,
  );

  const forged = signToken(newTokenKey(), { namespace: 'default', serviceAccount: 'sleep', pod: 'sleep', node: 'node-a' });
  const bad = await refusal(WorkloadCertificate.obtain(id('default', 'sleep'), new IstiodCaClient(f.endpoint(forged))));
  t.equal(bad.status, 401, 'a token not signed by the API server key');
  t.match(bad.message, /token refused: the token signature does not verify/);

  // A valid token, but the certificate presented is another identity's.
  const sleepToken = signToken(f.key, { namespace: 'default', serviceAccount: 'sleep', pod: 'sleep', node: 'node-a' });
  const riding = await refusal(WorkloadCertificate.obtain(id('default', 'sleep'), new IstiodCaClient(f.endpoint(sleepToken, own))));
  t.equal(riding.status, 401);
  t.match(
    riding.message,
    /client certificate names spiffe:\/\/cluster.local\/ns\/default\/sa\/waypoint, not the token's spiffe:\/\/cluster.local\/ns\/default\/sa\/sleep/,
  );

  // A CSR whose signature was tampered with.
  const client = new IstiodCaClient(f.endpoint(sleepToken));
  const csr = await createCsr('spiffe://cluster.local/ns/default/sa/sleep');
  const lines = csr.csrPem.split('\n');
  lines[3] = lines[3].slice(0, 10) + (lines[3][10] === 'A' ? 'B' : 'A') + lines[3].slice(11);
  const tampered = await refusal(client.signCsr(lines.join('\n'), id('default', 'sleep'), {}));
  t.equal(tampered.status, 400);
});

t.test('ADS: the first push is ACKed (SYNCED); a change sends only what changed; a NACK keeps the last good version (STALE)', async (t) => {
  const f = await start(t);
  const seen: { type: string; version: string; names: string[] }[] = [];
  let refuse = false;
  const handler = (typeUrl: typeof TYPE_ADDRESS | typeof TYPE_AUTHORIZATION): TypeHandler => ({
    typeUrl,
    apply: (resources, version) => {
      if (refuse && typeUrl === TYPE_AUTHORIZATION) throw new Error('this proxy cannot use DENY today');
      seen.push({ type: typeUrl, version, names: [...resources.keys()].sort() });
    },
  });
  const link = await joinControlPlane({
    istiod: '127.108.255.1:15012',
    caDir: path.join(f.dir, 'certs'),
    token: f.ztunnelToken('node-a'),
    identity: id(ZTUNNEL_NAMESPACE, ZTUNNEL_SERVICE_ACCOUNT),
    node: { id: 'ztunnel~10.108.0.1~ztunnel-node-a.istio-system~istio-system.svc.cluster.local', proxyType: 'ztunnel' },
    handlers: [handler(TYPE_ADDRESS), handler(TYPE_AUTHORIZATION)],
    log: QUIET,
  });
  t.teardown(() => link.stop());
  const first = f.istiod.version;
  t.same(
    seen.map((s) => s.type),
    [TYPE_ADDRESS, TYPE_AUTHORIZATION],
  );
  t.same(seen[0].names, ['Kubernetes//Pod/default/echo', 'Kubernetes//Pod/default/sleep', 'default/echo.default.svc.cluster.local']);
  t.same(seen[1].names, ['default/echo-policy']);

  const syncz = async () =>
    (await getJson('http://127.108.255.1:15014/debug/syncz')) as { proxy: string; types: Record<string, { status: string; acked?: string; nack?: string }> }[];
  const waitFor = async (pred: () => boolean | Promise<boolean>) => {
    for (let i = 0; i < 100 && !(await pred()); i++) await new Promise((r) => setTimeout(r, 20));
  };
  await waitFor(async () => (await syncz())[0]?.types.AUTHZ?.status === 'SYNCED');
  let rows = await syncz();
  t.equal(rows.length, 1);
  t.same(rows[0].types.WDS, { status: 'SYNCED', sent: first, acked: first });
  t.same(rows[0].types.AUTHZ, { status: 'SYNCED', sent: first, acked: first });

  // A policy change: one Authorization update, no Address push (nothing changed there).
  seen.length = 0;
  f.istiod.setConfig(f.scenario('DENY'));
  const second = f.istiod.version;
  await waitFor(() => link.ads.versionOf(TYPE_AUTHORIZATION) === second);
  t.same(
    seen.map((s) => s.type),
    [TYPE_AUTHORIZATION],
    'only the changed type is pushed',
  );
  t.equal(link.ads.versionOf(TYPE_ADDRESS), first, 'Address stays on the version it had');

  // The proxy refuses the next Authorization: it keeps `second`, istiod shows the NACK.
  refuse = true;
  seen.length = 0;
  f.istiod.setConfig(f.scenario('ALLOW'));
  const third = f.istiod.version;
  await waitFor(async () => (await syncz())[0]?.types.AUTHZ?.nack !== undefined);
  rows = await syncz();
  t.match(rows[0].types.AUTHZ, { status: 'STALE', sent: third, acked: second, nack: 'this proxy cannot use DENY today' });
  t.equal(link.ads.versionOf(TYPE_AUTHORIZATION), second, 'the proxy is still on its last good version');
  t.same(seen, [], 'nothing was applied');

  // The next good version is taken.
  refuse = false;
  f.istiod.setConfig(f.scenario('DENY'));
  const fourth = f.istiod.version;
  await waitFor(() => link.ads.versionOf(TYPE_AUTHORIZATION) === fourth);
  await waitFor(async () => (await syncz())[0]?.types.AUTHZ?.status === 'SYNCED');
  rows = await syncz();
  t.same(rows[0].types.AUTHZ, { status: 'SYNCED', sent: fourth, acked: fourth });
});

t.test('ADS: a handler that settles later (a proxy handing the push to its workers) is ACKed once it settles', async (t) => {
  const f = await start(t);
  let settle: (() => void) | undefined;
  const later: TypeHandler = {
    typeUrl: TYPE_AUTHORIZATION,
    apply: () => (settle === undefined ? undefined : new Promise<void>((r) => (settle = r))),
  };
  const link = await joinControlPlane({
    istiod: '127.108.255.1:15012',
    caDir: path.join(f.dir, 'certs'),
    token: f.ztunnelToken('node-a'),
    identity: id(ZTUNNEL_NAMESPACE, ZTUNNEL_SERVICE_ACCOUNT),
    node: { id: 'ztunnel~10.108.0.1~ztunnel-node-a.istio-system~istio-system.svc.cluster.local', proxyType: 'ztunnel' },
    handlers: [{ typeUrl: TYPE_ADDRESS, apply: () => undefined }, later],
    log: QUIET,
  });
  t.teardown(() => link.stop());
  const first = f.istiod.version;
  const authz = async () =>
    ((await getJson('http://127.108.255.1:15014/debug/syncz')) as { types: Record<string, { status: string; acked?: string }> }[])[0]?.types.AUTHZ;
  settle = () => undefined;
  f.istiod.setConfig(f.scenario('DENY'));
  const second = f.istiod.version;
  for (let i = 0; i < 100 && link.ads.versionOf(TYPE_AUTHORIZATION) !== second; i++) await new Promise((r) => setTimeout(r, 20));
  t.equal(link.ads.versionOf(TYPE_AUTHORIZATION), second, 'applied here');
  await new Promise((r) => setTimeout(r, 200));
  t.match(await authz(), { acked: first }, 'but not ACKed while it has not settled');
  settle();
  let row = await authz();
  for (let i = 0; i < 100 && row?.acked !== second; i++) {
    await new Promise((r) => setTimeout(r, 20));
    row = await authz();
  }
  t.match(row, { status: 'SYNCED', acked: second }, 'ACKed once it settled');
});

t.test('ADS needs mutual TLS and a token', async (t) => {
  const f = await start(t);
  const http2 = await import('node:http2');
  const status = (headers: Record<string, string>, cert?: WorkloadCertificate) =>
    new Promise<number>((resolve, reject) => {
      const s = http2.connect('https://127.108.255.1:15012', {
        ca: f.rootPem,
        servername: 'istiod.istio-system.svc',
        ...(cert ? { cert: cert.tls.cert, key: cert.tls.key } : {}),
      });
      s.on('error', reject);
      const req = s.request({ ':method': 'POST', ':path': '/envoy.service.discovery.v3.AggregatedDiscoveryService/DeltaAggregatedResources', ...headers });
      req.on('response', (h) => {
        resolve(Number(h[':status']));
        s.destroy();
      });
      req.on('error', reject);
      req.end();
    });
  t.equal(await status({}), 401, 'no token');
  const token = f.ztunnelToken('node-a');
  t.equal(await status({ authorization: `Bearer ${token}` }), 403, 'a token but no client certificate');
});
