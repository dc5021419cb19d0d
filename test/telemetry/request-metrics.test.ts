import t from 'tap';
import { register as globalRegistry } from 'prom-client';
import {
  RequestMetrics,
  RequestRecord,
  requestLabels,
  REQUEST_LABEL_NAMES,
  REQUESTS_TOTAL,
  REQUEST_DURATION,
  REQUEST_BYTES,
  RESPONSE_BYTES,
  DURATION_BUCKETS_MS,
  BYTE_BUCKETS,
  HTTP_RESPONSE_FLAGS,
} from '../../src/telemetry/request-metrics';
import { parsePromText, findSamples, sumSamples } from '../../src/telemetry/prom-text';
import { sourceLabels, destinationLabels, serviceLabels } from '../../src/telemetry/workload-labels';
import type { Workload, Service } from '../../src/mesh/model';

const sleep: Workload = {
  name: 'sleep-7656cf8794-8tp9n',
  namespace: 'default',
  serviceAccount: 'sleep',
  node: 'node-a',
  ip: '10.4.1.7',
  labels: { app: 'sleep' },
  app: { kind: 'sleep', port: 80 },
  workloadName: 'sleep',
};
const productpageV1: Workload = {
  name: 'productpage-v1-675fc69cf-vvwsk',
  namespace: 'default',
  serviceAccount: 'bookinfo-productpage',
  node: 'node-b',
  ip: '10.4.0.5',
  labels: { app: 'productpage', version: 'v1' },
  app: { kind: 'productpage', port: 9080 },
  workloadName: 'productpage-v1',
};
const productpage: Service = {
  name: 'productpage',
  namespace: 'default',
  vip: '10.8.4.226',
  ports: [{ name: 'http', port: 9080, targetPort: 9080 }],
  selector: { app: 'productpage' },
  labels: {},
};

function request(over: Partial<RequestRecord> = {}): RequestRecord {
  const opts = { trustDomain: 'cluster.local' };
  return {
    ...sourceLabels(sleep, opts),
    ...destinationLabels(productpageV1, opts),
    ...serviceLabels(productpage),
    responseCode: 200,
    durationMs: 3.2,
    requestBytes: 80,
    responseBytes: 1480,
    ...over,
  };
}

/** The cumulative count of the bucket with upper bound `le` (prom-client writes "+Inf" and plain numbers). */
function bucket(samples: ReturnType<typeof parsePromText>, name: string, le: string, labels: Record<string, string> = {}): number {
  return sumSamples(samples, `${name}_bucket`, { ...labels, le });
}

t.test('requestLabels: Istio defaults for a waypoint', async (t) => {
  const l = requestLabels({ responseCode: 403, source_principal: 'cluster.local/ns/default/sa/notsleep' });
  t.same(Object.keys(l), [...REQUEST_LABEL_NAMES], 'every label, in the stats filter order');
  t.equal(l.reporter, 'waypoint');
  t.equal(l.source_principal, 'spiffe://cluster.local/ns/default/sa/notsleep');
  t.equal(l.source_canonical_revision, 'latest', 'the stats filter writes latest, not unknown');
  t.equal(l.destination_workload, 'unknown');
  t.equal(l.request_protocol, 'http');
  t.equal(l.response_code, '403');
  t.equal(l.grpc_response_status, '', 'empty for plain HTTP');
  t.equal(l.response_flags, '-', 'an RBAC denial carries no flag');
  t.equal(l.connection_security_policy, 'mutual_tls');
  t.equal(requestLabels({ responseCode: 0 }).response_code, '0', 'no response sent');
  t.equal(requestLabels({ responseCode: 503, response_flags: HTTP_RESPONSE_FLAGS.upstreamConnectFailure }).response_flags, 'UF');
});

t.test('one request recorded and scraped', async (t) => {
  const m = new RequestMetrics();
  const counted = m.record(request());
  const text = await m.metrics();
  t.match(m.contentType, /^text\/plain; version=0\.0\.4/);
  t.match(text, /# TYPE istio_requests_total counter/);
  t.match(text, /# TYPE istio_request_duration_milliseconds histogram/);
  t.match(text, /# TYPE istio_request_bytes histogram/);
  t.match(text, /# TYPE istio_response_bytes histogram/);

  const samples = parsePromText(text);
  const total = findSamples(samples, REQUESTS_TOTAL);
  t.equal(total.length, 1);
  t.equal(total[0].value, 1);
  t.same(total[0].labels, {
    reporter: 'waypoint',
    source_workload: 'sleep',
    source_canonical_service: 'sleep',
    source_canonical_revision: 'latest',
    source_workload_namespace: 'default',
    source_principal: 'spiffe://cluster.local/ns/default/sa/sleep',
    source_app: 'sleep',
    source_version: 'latest',
    source_cluster: 'Kubernetes',
    destination_workload: 'productpage-v1',
    destination_workload_namespace: 'default',
    destination_principal: 'spiffe://cluster.local/ns/default/sa/bookinfo-productpage',
    destination_app: 'productpage',
    destination_version: 'v1',
    destination_service: 'productpage.default.svc.cluster.local',
    destination_canonical_service: 'productpage',
    destination_canonical_revision: 'v1',
    destination_service_name: 'productpage',
    destination_service_namespace: 'default',
    destination_cluster: 'Kubernetes',
    request_protocol: 'http',
    response_code: '200',
    grpc_response_status: '',
    response_flags: '-',
    connection_security_policy: 'mutual_tls',
  });
  t.same(counted, total[0].labels, 'record() returns the labels it counted under');
  t.same(Object.keys(total[0].labels), [...REQUEST_LABEL_NAMES], 'exposed in the stats filter order');

  // Histograms: every Istio bucket is present, cumulative, with sum and count.
  const les = findSamples(samples, `${REQUEST_DURATION}_bucket`).map((s) => s.labels.le);
  t.same(les, [...DURATION_BUCKETS_MS.map(String), '+Inf']);
  t.same(
    findSamples(samples, `${REQUEST_BYTES}_bucket`).map((s) => s.labels.le),
    [...BYTE_BUCKETS.map(String), '+Inf'],
  );
  t.equal(bucket(samples, REQUEST_DURATION, '1'), 0, '3.2 ms is above 1');
  t.equal(bucket(samples, REQUEST_DURATION, '5'), 1);
  t.equal(bucket(samples, REQUEST_DURATION, '+Inf'), 1);
  t.equal(sumSamples(samples, `${REQUEST_DURATION}_sum`), 3.2);
  t.equal(sumSamples(samples, `${REQUEST_DURATION}_count`), 1);
  t.equal(bucket(samples, REQUEST_BYTES, '10'), 0);
  t.equal(bucket(samples, REQUEST_BYTES, '100'), 1, '80 bytes');
  t.equal(sumSamples(samples, `${REQUEST_BYTES}_sum`), 80);
  t.equal(bucket(samples, RESPONSE_BYTES, '1000'), 0);
  t.equal(bucket(samples, RESPONSE_BYTES, '10000'), 1, '1480 bytes');
  t.equal(sumSamples(samples, `${RESPONSE_BYTES}_sum`), 1480);
});

t.test('allowed, denied and failed requests are separate series', async (t) => {
  const m = new RequestMetrics();
  m.record(request());
  m.record(request({ durationMs: 12 }));
  const notsleep = { ...sleep, name: 'notsleep-6bd7d54dd-wz4rl', serviceAccount: 'notsleep', labels: { app: 'notsleep' }, workloadName: 'notsleep' };
  m.record(request({ ...sourceLabels(notsleep, { trustDomain: 'cluster.local' }), responseCode: 403, durationMs: 0.3, responseBytes: 120 }));
  m.record(request({ responseCode: 503, response_flags: HTTP_RESPONSE_FLAGS.upstreamConnectFailure, responseBytes: 190 }));
  m.record(request({ responseCode: 404, response_flags: HTTP_RESPONSE_FLAGS.noRoute }));

  const samples = parsePromText(await m.metrics());
  t.equal(sumSamples(samples, REQUESTS_TOTAL), 5);
  t.equal(sumSamples(samples, REQUESTS_TOTAL, { response_code: '200', source_workload: 'sleep' }), 2);
  t.equal(
    sumSamples(samples, REQUESTS_TOTAL, { response_code: '403', response_flags: '-', source_principal: 'spiffe://cluster.local/ns/default/sa/notsleep' }),
    1,
  );
  t.equal(sumSamples(samples, REQUESTS_TOTAL, { response_code: '503', response_flags: 'UF' }), 1);
  t.equal(sumSamples(samples, REQUESTS_TOTAL, { response_code: '404', response_flags: 'NR' }), 1);
  t.equal(findSamples(samples, REQUESTS_TOTAL).length, 4, 'one series per label set');
  t.equal(bucket(samples, REQUEST_DURATION, '0.5', { response_code: '403' }), 1, 'sub-millisecond kept, not truncated');
  t.equal(bucket(samples, REQUEST_DURATION, '10', { response_code: '200' }), 1);
  t.equal(bucket(samples, REQUEST_DURATION, '25', { response_code: '200' }), 2);
  t.equal(sumSamples(samples, `${REQUEST_DURATION}_count`), 5);
  t.equal(sumSamples(samples, `${RESPONSE_BYTES}_sum`), 1480 * 3 + 120 + 190);
});

t.test('each RequestMetrics has its own registry, never the global one', async (t) => {
  const a = new RequestMetrics();
  const b = new RequestMetrics();
  a.record(request());
  t.equal(sumSamples(parsePromText(await b.metrics()), REQUESTS_TOTAL), 0);
  t.equal(globalRegistry.getSingleMetric(REQUESTS_TOTAL), undefined);
});
