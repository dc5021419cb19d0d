// istiod as the mesh's CA in a held mesh (block 10.112), every proxy asking for 4-second
// certificates (SECRET_TTL, istio-agent's variable): every certificate renews through istiod
// at half-life while traffic flows, and no open connection drops, through ztunnel alone (L4)
// or through the waypoint on one kept-alive connection; once the first certificates have
// expired, new connections still succeed. `hbone-sim cert` asks the running istiod for a
// client certificate, with a token from the API server (TokenRequest).
import t from 'tap';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as http from 'node:http';
import * as path from 'node:path';
import * as tls from 'node:tls';
import { randomBytes, X509Certificate } from 'node:crypto';
import { tempScenario, runCli, processesMentioning, simWith } from '../runner/fixtures/cli';
import { heldMeshScenario } from '../runner/fixtures/held-mesh';

const SECRET_TTL_S = 4;
/** Past the first certificates' expiry: two renewals of every certificate. */
const RUN_MS = (SECRET_TTL_S + 1.5) * 1000;
const STREAMS = 4;

const SCENARIO = heldMeshScenario('rotation', 112);

/** Serial numbers of the leaf certificates a ztunnel holds, by identity (its config dump). */
function leafSerials(dumpJson: string): Map<string, string> {
  const dump = JSON.parse(dumpJson) as { certificates: { identity: string; certChain: { serialNumber: string }[] }[] };
  return new Map(dump.certificates.map((c) => [c.identity, c.certChain[0].serialNumber]));
}

/** Sends a chunk every 100 ms for `ms` through the L4 capture and checks the echo byte for byte. */
async function l4Stream(ms: number): Promise<{ exact: boolean; error?: string }> {
  const c = net.connect({ host: '127.112.0.100', port: 9000 });
  const got: Buffer[] = [];
  let error: string | undefined;
  c.on('data', (d: Buffer) => got.push(d));
  c.on('error', (e: NodeJS.ErrnoException) => (error = e.code ?? e.message));
  const ended = new Promise((r) => c.on('close', r));
  const sent: Buffer[] = [];
  const started = Date.now();
  while (Date.now() - started < ms && error === undefined) {
    const chunk = randomBytes(4096);
    sent.push(chunk);
    c.write(chunk);
    await new Promise((r) => setTimeout(r, 100));
  }
  c.end();
  await ended;
  return { exact: Buffer.concat(got).equals(Buffer.concat(sent)), error };
}

/** A mutual-TLS handshake with a pod's 15008 using the files `hbone-sim cert` wrote: its outcome and the certificate presented. */
function handshake(host: string, dir: string): Promise<{ outcome: string; peer?: X509Certificate }> {
  return new Promise((resolve) => {
    const s = tls.connect({
      host,
      port: 15008,
      cert: fs.readFileSync(path.join(dir, 'cert-chain.pem')),
      key: fs.readFileSync(path.join(dir, 'key.pem')),
      ca: fs.readFileSync(path.join(dir, 'root-cert.pem')),
      ALPNProtocols: ['h2'],
      checkServerIdentity: () => undefined,
    });
    s.on('secureConnect', () => {
      resolve({ outcome: s.authorized ? 'authorized' : String(s.authorizationError), peer: s.getPeerX509Certificate() });
      s.destroy();
    });
    s.on('error', (e) => resolve({ outcome: e.message }));
  });
}

t.test('certificates rotate through istiod with no open connection dropped', async (t) => {
  const tmp = tempScenario(SCENARIO, 'rotation');
  const home = path.join(tmp.dir, 'home');
  const env = { HBONE_SIM_HOME: home, SECRET_TTL: `${SECRET_TTL_S}s` };
  t.teardown(() => tmp.cleanup());
  const up = runCli(['up', tmp.file, '--ca-dir', tmp.caDir], { env });
  await up.waitForOutput(/kubeconfig: /, 30_000);
  const sim = simWith(env);
  const serials = () => leafSerials(sim('x', 'ztunnel-config', 'certificates', '--node', 'node-b', '-o', 'json').out);

  t.test('open L4 streams and a kept-alive L7 connection outlive two renewals of every certificate', async (t) => {
    const before = serials();
    t.ok(before.size >= 2, `node-b's ztunnel holds its pods' certificates (${[...before.keys()].join(', ')})`);
    const firstExpiry = Date.now() + SECRET_TTL_S * 1000;

    // One kept-alive connection through the waypoint: a POST every 200 ms, all on one socket.
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const sockets = new Set<unknown>();
    const statuses: number[] = [];
    const l7 = (async () => {
      const started = Date.now();
      while (Date.now() - started < RUN_MS) {
        statuses.push(
          await new Promise<number>((resolve) => {
            const req = http.request({ host: '127.112.0.100', port: 8080, method: 'POST', path: '/echo', agent }, (res) => {
              res.resume();
              res.on('end', () => resolve(res.statusCode ?? 0));
            });
            req.on('socket', (s) => sockets.add(s));
            req.on('error', () => resolve(0));
            req.end('x');
          }),
        );
        await new Promise((r) => setTimeout(r, 200));
      }
    })();
    const streams = await Promise.all(Array.from({ length: STREAMS }, () => l4Stream(RUN_MS)));
    await l7;
    agent.destroy();
    t.same(
      streams.map((s) => s.error ?? (s.exact ? 'exact' : 'corrupt')),
      Array(STREAMS).fill('exact'),
      `${STREAMS} L4 streams, open ${RUN_MS} ms, each echoed byte for byte`,
    );
    t.ok(statuses.length >= 20, `${statuses.length} requests through the waypoint`);
    t.same([...new Set(statuses)], [200], 'every request through the waypoint answered 200');
    t.equal(sockets.size, 1, 'all on one kept-alive connection');

    const after = serials();
    for (const [identity, serial] of before) t.not(after.get(identity), serial, `${identity}: renewed`);
    t.ok(Date.now() > firstExpiry, 'the first certificates have expired');
    const fresh = await l4Stream(300);
    t.equal(fresh.exact && fresh.error === undefined, true, 'a new connection after the first certificates expired');
    // A new TLS session to the pod and to the waypoint: each presents a renewed certificate.
    const client = path.join(tmp.dir, 'rotation-client');
    t.equal(sim('cert', '--spiffe', 'spiffe://cluster.local/ns/default/sa/sleep', '--out', client).code, 0);
    for (const [who, host] of [
      ['the echo pod (its ztunnel)', '127.112.2.1'],
      ['the waypoint', '127.112.2.9'],
    ]) {
      const h = await handshake(host, client);
      t.equal(h.outcome, 'authorized', `${who}: a new mutual-TLS session`);
      t.ok(h.peer && Date.parse(h.peer.validTo) > firstExpiry, `${who} presents a renewed certificate (valid to ${h.peer?.validTo})`);
    }
  });

  t.test('cert: a client certificate from the running istiod, with a TokenRequest token', async (t) => {
    const out = path.join(tmp.dir, 'client');
    const r = sim('cert', '--spiffe', 'spiffe://cluster.local/ns/default/sa/sleep', '--out', out, '--lifetime', '1h');
    t.equal(r.code, 0, r.err);
    t.match(r.out, /^issued spiffe:\/\/cluster\.local\/ns\/default\/sa\/sleep by istiod of mesh rotation \(serial [0-9A-F]+\)\n/);
    const leaf = new X509Certificate(fs.readFileSync(path.join(out, 'cert-chain.pem')));
    // Signed by this mesh's root (in the test's CA directory), not by certs/ on disk: istiod signed it.
    const root = new X509Certificate(fs.readFileSync(path.join(tmp.caDir, 'root-cert.pem')));
    t.ok(leaf.verify(root.publicKey), 'the mesh root signed it');
    t.equal(leaf.subjectAltName, 'URI:spiffe://cluster.local/ns/default/sa/sleep');
    const lifetimeS = (Date.parse(leaf.validTo) - Date.parse(leaf.validFrom)) / 1000;
    t.ok(lifetimeS > 3500 && lifetimeS < 3700, `the lifetime asked for (${lifetimeS} s)`);
    t.equal(fs.statSync(path.join(out, 'key.pem')).mode & 0o777, 0o600, "the key is the owner's only");

    // The mesh takes it: mutual TLS with the echo pod's HBONE port (ztunnel's, in the pod's network).
    t.equal((await handshake('127.112.2.1', out)).outcome, 'authorized', "the echo pod's 15008 completes mutual TLS with it");

    const refused = sim('cert', '--spiffe', 'spiffe://other.domain/ns/default/sa/sleep', '--out', path.join(tmp.dir, 'other'));
    t.equal(refused.code, 1);
    t.match(refused.err, /istiod refused a certificate for spiffe:\/\/other\.domain\/ns\/default\/sa\/sleep: 403 .*may not obtain/);
    t.notOk(fs.existsSync(path.join(tmp.dir, 'other', 'key.pem')), 'nothing written');

    const local = sim(
      'cert',
      '--spiffe',
      'spiffe://cluster.local/ns/default/sa/sleep',
      '--out',
      path.join(tmp.dir, 'local'),
      '--ca-dir',
      path.join(tmp.dir, 'local-ca'),
    );
    t.equal(local.code, 0, local.err);
    t.match(local.out, /by the local CA \(serial/);
  });

  t.test('Ctrl-C: the mesh stops and nothing is left', async (t) => {
    process.kill(-up.pid, 'SIGINT');
    t.equal((await up.waitExit(20_000)).code, 130);
    t.same(processesMentioning(tmp.dir), []);
  });
});
