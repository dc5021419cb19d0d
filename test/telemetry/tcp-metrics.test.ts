import t from 'tap';
import { register as globalRegistry } from 'prom-client';
import {
  TcpMetrics,
  TcpLabelInput,
  tcpLabels,
  TCP_LABEL_NAMES,
  TCP_CONNECTIONS_OPENED,
  TCP_CONNECTIONS_CLOSED,
  TCP_SENT_BYTES,
  TCP_RECEIVED_BYTES,
  RESPONSE_FLAGS,
} from '../../src/telemetry/tcp-metrics';
import { parsePromText, findSamples, sumSamples } from '../../src/telemetry/prom-text';
import { sourceLabels, destinationLabels, serviceLabels, canonicalService } from '../../src/telemetry/workload-labels';
import type { Workload, Service } from '../../src/mesh/model';

const sleep: Workload = {
  name: 'sleep-7656cf8794-r7zb9',
  namespace: 'default',
  serviceAccount: 'sleep',
  node: 'node-a',
  ip: '10.4.0.9',
  labels: { app: 'sleep' },
  app: { kind: 'sleep', port: 80 },
  workloadName: 'sleep',
};
const productpageV1: Workload = {
  name: 'productpage-v1-0',
  namespace: 'default',
  serviceAccount: 'bookinfo-productpage',
  node: 'node-b',
  ip: '10.4.0.5',
  labels: { app: 'productpage', version: 'v1' },
  app: { kind: 'productpage', port: 9080 },
  workloadName: 'productpage-v1',
};
const productpageSvc: Service = {
  name: 'productpage',
  namespace: 'default',
  vip: '10.8.4.226',
  ports: [{ name: 'http', port: 9080, targetPort: 9080 }],
  selector: { app: 'productpage' },
  labels: {},
};

function labels(reporter: 'source' | 'destination'): TcpLabelInput {
  const opts = { trustDomain: 'cluster.local' };
  return {
    reporter,
    ...sourceLabels(sleep, opts),
    ...destinationLabels(productpageV1, opts),
    ...serviceLabels(productpageSvc),
    connection_security_policy: 'mutual_tls',
  };
}

t.test('workload label helpers fill canonical names as Istio does', async (t) => {
  t.same(canonicalService(productpageV1), { name: 'productpage', revision: 'v1' });
  t.same(canonicalService(sleep), { name: 'sleep', revision: 'latest' });
  t.same(canonicalService({ labels: {}, workloadName: 'ratings-v1' }), { name: 'ratings-v1', revision: 'latest' });
  t.same(canonicalService({ labels: { 'service.istio.io/canonical-name': 'pp', app: 'x', 'app.kubernetes.io/version': '2' }, workloadName: 'w' }), {
    name: 'pp',
    revision: '2',
  });
  t.match(serviceLabels(productpageSvc), {
    destination_service: 'productpage.default.svc.cluster.local',
    destination_service_name: 'productpage',
    destination_service_namespace: 'default',
  });
});

t.test('tcpLabels fills unknowns and writes principals with spiffe://', async (t) => {
  const l = tcpLabels({ reporter: 'destination', source_principal: 'cluster.local/ns/default/sa/sleep', destination_workload: '' });
  t.same(Object.keys(l), [...TCP_LABEL_NAMES], 'every label, in ztunnel order');
  t.equal(l.source_principal, 'spiffe://cluster.local/ns/default/sa/sleep');
  t.equal(l.destination_principal, 'unknown');
  t.equal(l.destination_workload, 'unknown', 'empty strings are unknown');
  t.equal(l.request_protocol, 'tcp');
  t.equal(l.response_flags, '-');
  t.equal(l.connection_security_policy, 'unknown', 'passthrough is unknown');
  t.equal(
    tcpLabels({ reporter: 'source', source_principal: 'spiffe://cluster.local/ns/a/sa/b' }).source_principal,
    'spiffe://cluster.local/ns/a/sa/b',
    'no double prefix',
  );
});

t.test('one connection recorded and scraped', async (t) => {
  const m = new TcpMetrics();
  const c = m.open(labels('source'));
  c.received(80);
  c.received(20);
  c.sent(1480);
  c.close();
  c.close();
  t.equal(c.receivedBytes, 100);
  t.equal(c.sentBytes, 1480);
  t.equal(c.closed, true);

  const text = await m.metrics();
  t.match(m.contentType, /^text\/plain; version=0\.0\.4/);
  t.match(text, /# TYPE istio_tcp_connections_opened_total counter/);
  t.match(text, /# HELP istio_tcp_sent_bytes_total The size of total bytes sent during response in case of a TCP connection/);

  const samples = parsePromText(text);
  const opened = findSamples(samples, TCP_CONNECTIONS_OPENED);
  t.equal(opened.length, 1);
  t.same(opened[0].labels, {
    reporter: 'source',
    source_workload: 'sleep',
    source_canonical_service: 'sleep',
    source_canonical_revision: 'latest',
    source_workload_namespace: 'default',
    source_principal: 'spiffe://cluster.local/ns/default/sa/sleep',
    source_app: 'sleep',
    source_version: 'latest',
    source_cluster: 'Kubernetes',
    destination_service: 'productpage.default.svc.cluster.local',
    destination_service_namespace: 'default',
    destination_service_name: 'productpage',
    destination_workload: 'productpage-v1',
    destination_canonical_service: 'productpage',
    destination_canonical_revision: 'v1',
    destination_workload_namespace: 'default',
    destination_principal: 'spiffe://cluster.local/ns/default/sa/bookinfo-productpage',
    destination_app: 'productpage',
    destination_version: 'v1',
    destination_cluster: 'Kubernetes',
    request_protocol: 'tcp',
    response_flags: '-',
    connection_security_policy: 'mutual_tls',
  });
  t.equal(opened[0].value, 1);
  t.equal(sumSamples(samples, TCP_CONNECTIONS_CLOSED, { reporter: 'source', response_flags: '-' }), 1, 'closed once');
  t.equal(sumSamples(samples, TCP_RECEIVED_BYTES, { reporter: 'source' }), 100, 'received = request direction');
  t.equal(sumSamples(samples, TCP_SENT_BYTES, { reporter: 'source' }), 1480, 'sent = response direction');
});

t.test('two reporters are kept apart; a denial closes with DENY', async (t) => {
  const m = new TcpMetrics();
  m.record(labels('source'), { receivedBytes: 10, sentBytes: 20 });
  m.record(labels('destination'), { receivedBytes: 10, sentBytes: 20 });
  m.record(labels('destination'), { receivedBytes: 0, sentBytes: 0, responseFlags: RESPONSE_FLAGS.policyDenied });
  m.record(labels('source'), { receivedBytes: 0, sentBytes: 0, responseFlags: RESPONSE_FLAGS.connectFailed });

  const samples = parsePromText(await m.metrics());
  t.equal(sumSamples(samples, TCP_CONNECTIONS_OPENED, { reporter: 'source' }), 2);
  t.equal(sumSamples(samples, TCP_CONNECTIONS_OPENED, { reporter: 'destination' }), 2);
  t.equal(findSamples(samples, TCP_CONNECTIONS_OPENED).length, 2, 'opened always carries response_flags "-": one series per reporter');
  t.equal(sumSamples(samples, TCP_CONNECTIONS_CLOSED, { reporter: 'destination', response_flags: 'DENY' }), 1);
  t.equal(sumSamples(samples, TCP_CONNECTIONS_CLOSED, { reporter: 'destination', response_flags: '-' }), 1);
  t.equal(sumSamples(samples, TCP_CONNECTIONS_CLOSED, { reporter: 'source', response_flags: 'CONNECT' }), 1);
  t.equal(sumSamples(samples, TCP_RECEIVED_BYTES, { reporter: 'destination' }), 10);
  t.equal(sumSamples(samples, TCP_SENT_BYTES, { reporter: 'source' }), 20);
  t.equal(sumSamples(samples, TCP_SENT_BYTES), 40);
});

t.test('bytes of a live connection show at each scrape and are counted once', async (t) => {
  const m = new TcpMetrics();
  const c = m.open(labels('destination'));
  c.received(100);
  c.sent(7);
  let samples = parsePromText(await m.metrics());
  t.equal(sumSamples(samples, TCP_RECEIVED_BYTES), 100, 'flushed by the scrape');
  t.equal(sumSamples(samples, TCP_SENT_BYTES), 7);
  t.equal(sumSamples(samples, TCP_CONNECTIONS_CLOSED), 0, 'still open');
  c.received(50);
  c.close(RESPONSE_FLAGS.none);
  c.sent(3);
  samples = parsePromText(await m.metrics());
  t.equal(sumSamples(samples, TCP_RECEIVED_BYTES), 150);
  t.equal(sumSamples(samples, TCP_SENT_BYTES), 10, 'bytes after close still count');
  t.equal(sumSamples(samples, TCP_CONNECTIONS_CLOSED), 1);
  samples = parsePromText(await m.metrics());
  t.equal(sumSamples(samples, TCP_RECEIVED_BYTES), 150, 'a second scrape adds nothing');
});

t.test('each TcpMetrics has its own registry, never the global one', async (t) => {
  const a = new TcpMetrics();
  const b = new TcpMetrics();
  a.record({ reporter: 'source' }, { receivedBytes: 1, sentBytes: 1 });
  t.equal(sumSamples(parsePromText(await b.metrics()), TCP_CONNECTIONS_OPENED), 0);
  t.equal(globalRegistry.getSingleMetric(TCP_CONNECTIONS_OPENED), undefined);
});
