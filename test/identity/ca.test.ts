// The mesh CA, the certificate files, and renewal at half-life.
import t, { Test } from 'tap';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { X509Certificate } from 'node:crypto';
import { execFileSync, spawnSync } from 'node:child_process';
import { MeshCa, DEFAULT_LEAF_LIFETIME_MS } from '../../src/identity/ca';
import { generateKeyPair, splitPemCertificates } from '../../src/identity/crypto';
import { loadOrCreateCa, ROOT_CERT_FILE, ROOT_KEY_FILE } from '../../src/identity/ca-store';
import { makeSpiffeId } from '../../src/identity/spiffe';
import { WorkloadCertificate } from '../../src/identity/workload-cert';
import { writeWorkloadCert } from '../../src/identity/cert-files';

function tmpdir(t: Test): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hbone-ca-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

t.test('the root is a self-signed ECDSA P-256 CA that may only sign certificates', async (t) => {
  const ca = await MeshCa.create('cluster.local');
  const root = new X509Certificate(ca.rootPem);
  t.ok(root.ca, 'CA:TRUE');
  t.equal(root.subject, 'O=cluster.local');
  t.ok(root.verify(root.publicKey), 'self-signed');
  t.equal(root.publicKey.asymmetricKeyDetails?.namedCurve, 'prime256v1');
  t.ok(root.checkIssued(root));
  const text = execFileSync('openssl', ['x509', '-noout', '-ext', 'keyUsage,basicConstraints'], { input: ca.rootPem, encoding: 'utf8' });
  t.match(text, /Key Usage: critical\s+Certificate Sign, CRL Sign/);
  t.match(text, /Basic Constraints: critical\s+CA:TRUE/);
});

t.test('a leaf carries only the SPIFFE URI SAN, lives 24 h, and chains to the root', async (t) => {
  const ca = await MeshCa.create();
  const { publicKeyPem } = await generateKeyPair();
  const issued = await ca.issue(makeSpiffeId('default', 'sleep'), publicKeyPem);
  const leaf = new X509Certificate(issued.certPem);
  t.equal(leaf.subjectAltName, 'URI:spiffe://cluster.local/ns/default/sa/sleep');
  t.notOk(leaf.subject, 'no subject: the SAN is the identity');
  t.notOk(leaf.ca);
  t.equal(Date.parse(leaf.validTo) - Date.parse(leaf.validFrom), DEFAULT_LEAF_LIFETIME_MS);
  t.ok(leaf.verify(new X509Certificate(ca.rootPem).publicKey), 'signed by the root');
  const chain = splitPemCertificates(issued.chainPem);
  t.equal(chain.length, 2, 'chain is leaf + root');
  t.equal(new X509Certificate(chain[1]).fingerprint256, new X509Certificate(ca.rootPem).fingerprint256);
  t.equal(issued.serial, leaf.serialNumber);
});

t.test('the root is created once under the CA directory and reloaded after', async (t) => {
  const dir = tmpdir(t);
  // Several processes may start at once: concurrent callers must agree on one root.
  const [a, b, c] = await Promise.all([loadOrCreateCa(dir), loadOrCreateCa(dir), loadOrCreateCa(dir)]);
  t.equal(a.rootPem, b.rootPem);
  t.equal(a.rootPem, c.rootPem);
  t.equal(fs.statSync(path.join(dir, ROOT_KEY_FILE)).mode & 0o077, 0, 'the key is private to its owner');
  const again = await loadOrCreateCa(dir);
  t.equal(again.rootPem, a.rootPem);
  t.equal(again.trustDomain, 'cluster.local');
  t.equal(fs.readFileSync(path.join(dir, ROOT_CERT_FILE), 'utf8'), a.rootPem);
});

t.test('root keys are never tracked by git', async (t) => {
  const top = path.resolve(__dirname, '..', '..');
  const out = spawnSync('git', ['check-ignore', '-q', 'certs/root-key.pem'], { cwd: top });
  t.equal(out.status, 0, 'certs/root-key.pem is git-ignored');
  const tracked = spawnSync('git', ['ls-files', 'certs'], { cwd: top, encoding: 'utf8' }).stdout.trim().split('\n');
  t.same(
    tracked.filter((f) => f && f !== 'certs/README.md'),
    [],
    'certs/ tracks only its README',
  );
});

t.test('hbone-sim cert writes files that openssl accepts, and refuses a malformed ID', async (t) => {
  const dir = tmpdir(t);
  const out = path.join(dir, 'sleep');
  // The compiled command, as a user runs it (npm test builds first).
  const cli = path.resolve(__dirname, '..', '..', 'dist', 'src', 'cli', 'main.js');
  const run = (args: string[]) => spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8' });
  const ok = run(['cert', '--spiffe', 'spiffe://cluster.local/ns/default/sa/sleep', '--out', out, '--ca-dir', path.join(dir, 'ca')]);
  t.equal(ok.status, 0, ok.stderr);
  for (const f of ['cert-chain.pem', 'key.pem', 'root-cert.pem']) t.ok(fs.existsSync(path.join(out, f)), f);
  const verify = execFileSync('openssl', ['verify', '-CAfile', path.join(out, 'root-cert.pem'), path.join(out, 'cert-chain.pem')], { encoding: 'utf8' });
  t.match(verify, /OK/);
  const text = execFileSync('openssl', ['x509', '-in', path.join(out, 'cert-chain.pem'), '-noout', '-ext', 'subjectAltName'], { encoding: 'utf8' });
  t.match(text, 'URI:spiffe://cluster.local/ns/default/sa/sleep');
  const keyMatches = execFileSync('openssl', ['pkey', '-in', path.join(out, 'key.pem'), '-pubout'], { encoding: 'utf8' });
  const certKey = execFileSync('openssl', ['x509', '-in', path.join(out, 'cert-chain.pem'), '-noout', '-pubkey'], { encoding: 'utf8' });
  t.equal(keyMatches, certKey, 'the key belongs to the certificate');

  const bad = run(['cert', '--spiffe', 'spiffe://cluster.local/default/sleep', '--out', path.join(dir, 'bad')]);
  t.equal(bad.status, 2);
  t.match(bad.stderr, /malformed SPIFFE ID "spiffe:\/\/cluster.local\/default\/sleep"/);
  t.notOk(fs.existsSync(path.join(dir, 'bad')), 'nothing written');
});

t.test('writeWorkloadCert honours --lifetime', async (t) => {
  const dir = tmpdir(t);
  const w = await writeWorkloadCert({ spiffe: 'spiffe://cluster.local/ns/a/sa/b', out: dir, caDir: path.join(dir, 'ca'), lifetimeMs: 3600_000 });
  const leaf = new X509Certificate(fs.readFileSync(w.chain));
  t.equal(Date.parse(leaf.validTo) - Date.parse(leaf.validFrom), 3600_000);
});

t.test('a workload certificate renews itself at half-life with a new key', async (t) => {
  const ca = await MeshCa.create();
  const wc = await WorkloadCertificate.obtain(makeSpiffeId('default', 'sleep'), ca, { lifetimeMs: 2000 });
  // The renewal timer is unref'd (it must not keep a process alive); keep this one alive.
  const keepAlive = setTimeout(() => undefined, 10_000);
  t.teardown(() => {
    wc.stop();
    clearTimeout(keepAlive);
  });
  const first = wc.certificate;
  const firstKey = wc.tls.key;
  t.equal(wc.renewAt.getTime() - first.notBefore.getTime(), 1000, 'renewal is scheduled at half-life');
  const [renewed] = await new Promise<[typeof first]>((r) => wc.once('renewed', (c) => r([c])));
  t.not(renewed.serial, first.serial);
  t.not(wc.tls.key, firstKey, 'a fresh key pair');
  t.equal(wc.certificate.serial, renewed.serial);
  t.ok(Date.now() < first.notAfter.getTime(), 'renewed before the old one expired');
});
