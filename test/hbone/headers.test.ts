// The CONNECT headers ztunnel sends, and their arrival at the server.
import t from 'tap';
import { baggageOf, connectHeaders, childTraceparent, newTraceparent, traceIdOf } from '../../src/hbone/headers';
import { HbonePool } from '../../src/hbone/pool';
import { expectIdentity } from '../../src/hbone/tls';
import { hboneServer, workload, quietLog } from '../fixtures/mesh';
import type { IncomingHttpHeaders } from 'node:http2';

t.test('baggage, forwarded and traceparent are formatted as ztunnel sends them', async (t) => {
  t.equal(
    baggageOf({ namespace: 'default', workloadName: 'reviews-v2', app: 'reviews', version: 'v2' }),
    'k8s.cluster.name=Kubernetes,k8s.namespace.name=default,k8s.deployment.name=reviews-v2,service.name=reviews,service.version=v2',
  );
  const h = connectHeaders({
    source: { namespace: 'default', workloadName: 'sleep' },
    client: { address: '10.4.1.7', port: 41234 },
    originalDst: '10.4.0.5:9080',
  });
  t.equal(h.forwarded, 'for="10.4.1.7:41234"');
  t.equal(h['x-envoy-original-dst-host'], '10.4.0.5:9080');
  t.match(h.traceparent, /^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
  t.notOk('x-envoy-original-dst-host' in connectHeaders({ source: { namespace: 'a', workloadName: 'b' }, client: { address: '10.0.0.1', port: 1 } }));
});

t.test('a child traceparent keeps the trace id and gets a new span id', async (t) => {
  const parent = newTraceparent();
  const child = childTraceparent(parent);
  t.equal(traceIdOf(child), traceIdOf(parent));
  t.not(child.split('-')[2], parent.split('-')[2]);
  t.not(traceIdOf(childTraceparent('garbage')), undefined, 'a broken parent starts a new trace');
  t.not(traceIdOf(childTraceparent(`00-${'0'.repeat(32)}-${'1'.repeat(16)}-01`)), '0'.repeat(32), 'the all-zero trace id is invalid');
});

t.test('the server sees exactly :method, :authority and the HBONE headers', async (t) => {
  const serverCert = await workload('default', 'productpage');
  const clientCert = await workload('default', 'sleep');
  let seen: IncomingHttpHeaders | undefined;
  const server = await hboneServer('127.28.0.1', serverCert, (conn) => {
    seen = conn.headers;
    conn.accept().end();
  });
  const pool = new HbonePool({ log: quietLog });
  t.teardown(async () => {
    await pool.close();
    await server.close();
  });
  const headers = connectHeaders({
    source: { namespace: 'default', workloadName: 'sleep', app: 'sleep' },
    client: { address: '10.4.1.7', port: 5000 },
    originalDst: '10.4.0.5:9080',
  });
  const stream = await pool.connect({
    source: clientCert,
    expect: expectIdentity(serverCert.spiffeId),
    address: '127.28.0.1',
    authority: '10.4.0.5:9080',
    headers,
  });
  stream.resume();
  stream.end();
  t.equal(seen?.[':method'], 'CONNECT');
  t.equal(seen?.[':authority'], '10.4.0.5:9080');
  t.notOk(seen?.[':path'], 'classic CONNECT: no :path');
  t.notOk(seen?.[':scheme'], 'classic CONNECT: no :scheme');
  for (const name of ['baggage', 'forwarded', 'traceparent', 'x-envoy-original-dst-host']) t.equal(seen?.[name], headers[name], name);
});
