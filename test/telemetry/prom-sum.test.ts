// The primary of a proxy with worker threads sums its workers' /metrics pages series by series.
import t from 'tap';
import { counterTotals, sumPromTexts } from '../../src/telemetry/prom-sum';
import { parsePromText } from '../../src/telemetry/prom-text';

const WORKER_0 = `# HELP istio_requests_total Total requests.
# TYPE istio_requests_total counter
istio_requests_total{reporter="waypoint",response_code="200"} 7
istio_requests_total{reporter="waypoint",response_code="403"} 1

# HELP istio_request_duration_milliseconds Duration.
# TYPE istio_request_duration_milliseconds histogram
istio_request_duration_milliseconds_bucket{le="1",reporter="waypoint"} 3
istio_request_duration_milliseconds_bucket{le="+Inf",reporter="waypoint"} 8
istio_request_duration_milliseconds_sum{reporter="waypoint"} 12.5
istio_request_duration_milliseconds_count{reporter="waypoint"} 8
`;
const WORKER_1 = `# HELP istio_requests_total Total requests.
# TYPE istio_requests_total counter
istio_requests_total{reporter="waypoint",response_code="200"} 5
istio_requests_total{reporter="waypoint",response_code="503"} 2

# HELP istio_request_duration_milliseconds Duration.
# TYPE istio_request_duration_milliseconds histogram
istio_request_duration_milliseconds_bucket{le="1",reporter="waypoint"} 6
istio_request_duration_milliseconds_bucket{le="+Inf",reporter="waypoint"} 7
istio_request_duration_milliseconds_sum{reporter="waypoint"} 0.25
istio_request_duration_milliseconds_count{reporter="waypoint"} 7

# HELP istio_tcp_connections_opened_total Opened.
# TYPE istio_tcp_connections_opened_total counter
istio_tcp_connections_opened_total{reporter="waypoint"} 4
`;

t.test('each series is the sum of the workers’ values; a series one worker lacks counts 0 there', async (t) => {
  const summed = parsePromText(sumPromTexts([WORKER_0, WORKER_1]));
  const value = (name: string, labels: Record<string, string>) =>
    summed.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v)).map((s) => s.value);
  t.same(value('istio_requests_total', { response_code: '200' }), [12]);
  t.same(value('istio_requests_total', { response_code: '403' }), [1]);
  t.same(value('istio_requests_total', { response_code: '503' }), [2]);
  t.same(value('istio_request_duration_milliseconds_bucket', { le: '1' }), [9]);
  t.same(value('istio_request_duration_milliseconds_bucket', { le: '+Inf' }), [15]);
  t.same(value('istio_request_duration_milliseconds_sum', {}), [12.75]);
  t.same(value('istio_request_duration_milliseconds_count', {}), [15]);
  t.same(value('istio_tcp_connections_opened_total', {}), [4]);
});

t.test('every family keeps its lines together, under one # HELP and # TYPE', async (t) => {
  const text = sumPromTexts([WORKER_0, WORKER_1]);
  t.equal(text.match(/^# TYPE istio_requests_total counter$/gm)?.length, 1);
  const lines = text.split('\n');
  const first = lines.findIndex((l) => l.startsWith('istio_requests_total'));
  const last = lines.length - 1 - [...lines].reverse().findIndex((l) => l.startsWith('istio_requests_total'));
  t.equal(last - first, 2, 'the 503 series a second worker added sits with the others');
  t.ok(lines.indexOf('# TYPE istio_tcp_connections_opened_total counter') > last);
  t.equal(
    sumPromTexts([WORKER_0])
      .split('\n')
      .filter((l) => l && !l.startsWith('#')).length,
    6,
    'one page comes back as it was',
  );
});

t.test('counterTotals sums each counter family of one page', async (t) => {
  t.same(counterTotals(WORKER_1), { istio_requests_total: 7, istio_tcp_connections_opened_total: 4 });
});
