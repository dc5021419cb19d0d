// SSLKEYLOGFILE: both ends append NSS key-log lines for every HBONE session.
import t from 'tap';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { HbonePool } from '../../src/hbone/pool';
import { expectIdentity } from '../../src/hbone/tls';
import { hboneServer, workload, echoApp, close, quietLog } from '../fixtures/mesh';

const SERVER_IP = '127.25.0.1';
const TLS13_LABELS = [
  'CLIENT_HANDSHAKE_TRAFFIC_SECRET',
  'SERVER_HANDSHAKE_TRAFFIC_SECRET',
  'CLIENT_TRAFFIC_SECRET_0',
  'SERVER_TRAFFIC_SECRET_0',
  'EXPORTER_SECRET',
];

t.test('every TLS session appends its secrets in NSS key-log format', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hbone-keylog-'));
  const file = path.join(dir, 'keys.log');
  process.env.SSLKEYLOGFILE = file;
  const serverCert = await workload('default', 'productpage');
  const clientCert = await workload('default', 'sleep');
  const app = await echoApp(SERVER_IP);
  const server = await hboneServer(SERVER_IP, serverCert);
  const pool = new HbonePool({ log: quietLog, disablePooling: true });
  t.teardown(async () => {
    delete process.env.SSLKEYLOGFILE;
    await pool.close();
    await server.close();
    await close(app.server);
    fs.rmSync(dir, { recursive: true, force: true });
  });
  for (let i = 0; i < 2; i++) {
    const stream = await pool.connect({
      source: clientCert,
      expect: expectIdentity(serverCert.spiffeId),
      address: SERVER_IP,
      authority: `${SERVER_IP}:${app.port}`,
    });
    stream.end('x');
    stream.resume();
    await new Promise((r) => stream.once('close', r));
  }
  await new Promise((r) => setTimeout(r, 100));
  const lines = fs.readFileSync(file, 'utf8').trim().split('\n');
  for (const line of lines) t.match(line, /^[A-Z_0-9]+ [0-9a-f]{64} [0-9a-f]{64,96}$/, 'label, client random, secret');
  const randoms = new Set(lines.map((l) => l.split(' ')[1]));
  t.equal(randoms.size, 2, 'two TLS sessions');
  for (const random of randoms) {
    const labels = lines.filter((l) => l.split(' ')[1] === random).map((l) => l.split(' ')[0]);
    for (const label of TLS13_LABELS) t.ok(labels.includes(label), `${label} logged`);
    // Both the client and the server log each session: the same secret twice.
    t.equal(labels.length, 2 * TLS13_LABELS.length, 'logged by both ends');
  }
});
