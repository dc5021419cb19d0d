import t from 'tap';
import * as net from 'node:net';
import { hostAddress } from '../../src/mesh/model';
import { loadOrCreateCa } from '../../src/identity/ca-store';
import { WorkloadCertificate } from '../../src/identity/workload-cert';
import { makeSpiffeId } from '../../src/identity/spiffe';
import { HboneServer } from '../../src/hbone/server';
import { logger } from '../../src/telemetry/log';
import { Mesh, startMeshWithout, waypointAddresses, waypointScenario } from '../../test/waypoint/fixtures/scenario';

const N = 82;
const A = waypointAddresses(N);
let mesh: Mesh; let srv: HboneServer; let cert: WorkloadCertificate;
const seen: string[] = [];
const extra = `  - { listen: ${A.capture.host}:15104, source: sleep-7656cf8794-8tp9n, target: probe:8080 }
`;
const pol = `  - apiVersion: security.istio.io/v1
    kind: AuthorizationPolicy
    metadata: { name: probe-deny-secret, namespace: default }
    spec:
      targetRefs:
      - { kind: Service, group: "", name: probe }
      action: DENY
      rules:
      - to:
        - operation: { paths: [ /secret ] }
`;
t.before(async () => {
  let y = waypointScenario(N).replace('\npolicies:\n', '\n' + extra.replace(/^/, '') + '\npolicies:\n' + pol);
  mesh = await startMeshWithout(y, 'scratch', ['ztunnel-node-d']);
  cert = await WorkloadCertificate.obtain(makeSpiffeId('default', 'probe'), await loadOrCreateCa(mesh.caDir));
  srv = new HboneServer({ address: hostAddress(A.pod.probe), certificate: cert, log: logger('p', () => undefined), handler: (conn) => {
    const s = conn.accept(); let head = ''; let done = false;
    s.on('data', (c: Buffer) => { if (done) return; head += c.toString('latin1'); if (!head.includes('\r\n\r\n')) return; done = true; seen.push(head.split('\r\n')[0]); const body = 'probe saw ' + head.split('\r\n')[0]; s.end(`HTTP/1.1 200 OK\r\ncontent-length: ${body.length}\r\n\r\n${body}`); });
    s.on('error', () => undefined);
  }});
  await srv.listen();
});
t.teardown(async () => { await srv?.close(0); cert?.stop(); await mesh?.stop(); });

function raw(port: number, data: string, waitMs = 1500): Promise<string> {
  return new Promise((resolve) => {
    const s = net.connect({ host: A.capture.host, port });
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => s.destroy(), waitMs);
    s.on('data', (c: Buffer) => chunks.push(c));
    s.on('close', () => { clearTimeout(timer); resolve(Buffer.concat(chunks).toString('latin1')); });
    s.on('error', () => undefined);
    s.write(data);
  });
}
t.test('explore', async (t) => {
  const cases: Array<[string, number, string]> = [
    ['origin-form /secret', 15104, 'GET /secret HTTP/1.1\r\nhost: probe:8080\r\nconnection: close\r\n\r\n'],
    ['absolute-form /secret', 15104, 'GET http://probe:8080/secret HTTP/1.1\r\nhost: probe:8080\r\nconnection: close\r\n\r\n'],
    ['query /secret?x', 15104, 'GET /secret?x=1 HTTP/1.1\r\nhost: probe:8080\r\nconnection: close\r\n\r\n'],
    ['dot /a/../secret', 15104, 'GET /a/../secret HTTP/1.1\r\nhost: probe:8080\r\nconnection: close\r\n\r\n'],
    ['pipelined ok+garbage', 15102, 'GET /reviews/0 HTTP/1.1\r\nhost: r\r\n\r\nGARBAGE / HTTP/9.9\r\n\r\n'],
    ['pipelined 2 ok', 15102, 'GET /reviews/0 HTTP/1.1\r\nhost: r\r\nend-user: jason\r\n\r\nGET /reviews/1 HTTP/1.1\r\nhost: r\r\nconnection: close\r\n\r\n'],
    ['http/1.0', 15102, 'GET /reviews/0 HTTP/1.0\r\n\r\n'],
    ['absolute-form reviews/1', 15102, 'GET http://reviews:9080/reviews/1 HTTP/1.1\r\nhost: reviews:9080\r\nconnection: close\r\n\r\n'],
  ];
  for (const [what, port, data] of cases) {
    const r = await raw(port, data);
    t.comment(`${what}: ${JSON.stringify(r.replace(/\r\n(date|content-type|keep-alive):[^\r]*/gi, '').slice(0, 600))}`);
  }
  t.comment(`probe saw: ${JSON.stringify(seen)}`);
  t.pass();
});
