import t from 'tap';
import { Counter, Histogram, Registry, register as globalRegistry } from 'prom-client';
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

/**
 * The per-request path this file had before requests were counted per label set: every request
 * validated, hashed and observed by prom-client's own Counter and Histograms. Counting per label
 * set must expose exactly what it exposed.
 */
class PerRequestMetrics {
  readonly registry = new Registry();
  private readonly requests = new Counter({
    name: REQUESTS_TOTAL,
    help: 'The total number of requests',
    labelNames: REQUEST_LABEL_NAMES,
    registers: [this.registry],
  });
  private readonly histogram = (name: string, help: string, buckets: readonly number[]) =>
    new Histogram({ name, help, labelNames: REQUEST_LABEL_NAMES, buckets: [...buckets], registers: [this.registry] });
  private readonly duration = this.histogram(REQUEST_DURATION, 'The duration of requests, in milliseconds', DURATION_BUCKETS_MS);
  private readonly requestBytes = this.histogram(REQUEST_BYTES, 'The size of HTTP requests, in bytes', BYTE_BUCKETS);
  private readonly responseBytes = this.histogram(RESPONSE_BYTES, 'The size of HTTP responses, in bytes', BYTE_BUCKETS);

  record(r: RequestRecord): void {
    const labels = requestLabels(r);
    this.requests.inc(labels);
    this.duration.observe(labels, Math.max(0, r.durationMs));
    this.requestBytes.observe(labels, Math.max(0, r.requestBytes));
    this.responseBytes.observe(labels, Math.max(0, r.responseBytes));
  }
}

/** A deterministic generator, so a failure can be replayed. */
function seeded(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

function variedRequests(n: number, seed: number): RequestRecord[] {
  const random = seeded(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)];
  const opts = { trustDomain: 'cluster.local' };
  const notsleep = { ...sleep, name: 'notsleep-6bd7d54dd-wz4rl', serviceAccount: 'notsleep', labels: { app: 'notsleep' }, workloadName: 'notsleep' };
  // Bucket edges, values either side, sub-millisecond, huge, zero and negative (counted as 0).
  const durations = [0, -1, 0.2, 0.5, 0.5000001, 1, 4.99, 5, 25, 99.9, 1000, 3600000, 7200000];
  const bytes = [0, 1, 9, 10, 100, 1024, 1480, 10000, 123456, 10000000, 20000000];
  return Array.from({ length: n }, () => {
    const source = pick([sleep, notsleep]);
    const base = pick([
      { ...sourceLabels(source, opts), ...destinationLabels(productpageV1, opts), ...serviceLabels(productpage) },
      { ...sourceLabels(source, opts), ...serviceLabels(productpage) },
      { source_principal: 'cluster.local/ns/default/sa/sleep' },
      {},
    ]);
    return {
      ...base,
      ...pick([{}, { reporter: 'source' as const, connection_security_policy: 'unknown' as const }]),
      responseCode: pick([200, 200, 200, 403, 404, 503, 0]),
      response_flags: pick([undefined, HTTP_RESPONSE_FLAGS.none, HTTP_RESPONSE_FLAGS.upstreamConnectFailure, 'UF,URX']),
      durationMs: random() < 0.5 ? pick(durations) : random() * 300,
      requestBytes: pick(bytes),
      responseBytes: random() < 0.5 ? pick(bytes) : Math.floor(random() * 20000),
    };
  });
}

t.test('counted per label set: the same exposition as prom-client observing every request', async (t) => {
  const requests = variedRequests(2000, 14);
  const old = new PerRequestMetrics();
  const byRecord = new RequestMetrics();
  const byKey = new RequestMetrics();
  for (const [i, r] of requests.entries()) {
    old.record(r);
    byRecord.record(r);
    // The reporter's path: its own key for what the labels are made of, the labels made once per key.
    byKey.recordKeyed(JSON.stringify(requestLabels(r)), () => r, r.durationMs, r.requestBytes, r.responseBytes);
    // Scrapes in between: counts already added are not added again.
    if (i % 700 === 0) {
      const expected = await old.registry.metrics();
      t.equal(await byRecord.metrics(), expected, `text after ${i + 1} requests, record()`);
      t.equal(await byKey.metrics(), expected, `text after ${i + 1} requests, recordKeyed()`);
    }
  }
  const expected = await old.registry.metrics();
  t.equal(await byRecord.metrics(), expected, 'the same text, byte for byte: names, labels in order, buckets, sums, counts');
  t.equal(await byKey.metrics(), expected, 'recordKeyed too');
  t.same(await byRecord.registry.getMetricsAsJSON(), await old.registry.getMetricsAsJSON(), 'and the same JSON');
  const samples = parsePromText(expected);
  t.equal(sumSamples(samples, REQUESTS_TOTAL), 2000);
  t.ok(findSamples(samples, REQUESTS_TOTAL).length > 10, 'many label sets');
  t.equal(sumSamples(samples, `${REQUEST_DURATION}_count`), 2000);
});

t.test('recordKeyed makes the labels once per key', async (t) => {
  const m = new RequestMetrics();
  let made = 0;
  const input = () => {
    made++;
    return request();
  };
  for (let i = 0; i < 100; i++) m.recordKeyed('k', input, 2, 80, 1480);
  m.recordKeyed('another key, the same labels', input, 2, 80, 1480);
  t.equal(made, 2);
  const samples = parsePromText(await m.metrics());
  t.equal(findSamples(samples, REQUESTS_TOTAL).length, 1, 'two keys with the same labels count in one series');
  t.equal(sumSamples(samples, REQUESTS_TOTAL), 101);
  t.equal(sumSamples(samples, `${RESPONSE_BYTES}_sum`), 1480 * 101);
});

t.test('a value that is not a number is refused, as prom-client refuses it', async (t) => {
  const m = new RequestMetrics();
  t.throws(() => m.record(request({ durationMs: NaN })), TypeError);
});
