import t from 'tap';
import { WaypointAccessLog, WaypointAccessEntry, envoyJsonRecord, envoyTextLine } from '../../src/waypoint/access-log';

const allowed: WaypointAccessEntry = {
  startTime: new Date('2022-11-17T06:24:51.467Z'),
  method: 'GET',
  path: '/productpage?u=normal',
  responseCode: 200,
  responseCodeDetails: 'via_upstream',
  bytesReceived: 0,
  bytesSent: 5293,
  durationMs: 12.8,
  upstreamServiceTimeMs: 11.2,
  userAgent: 'curl/8.5.0',
  requestId: '6f3c1d2e-0000-4000-8000-000000000001',
  authority: 'productpage:9080',
  upstreamHost: '10.4.0.5:9080',
  upstreamCluster: 'inbound-vip|9080|http|productpage.default.svc.cluster.local',
  downstreamLocalAddress: '10.8.4.226:9080',
  downstreamRemoteAddress: '10.4.1.7:41234',
  routeName: 'default',
  traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
  rbacPolicy: 'ns[default]-policy[productpage-viewer]-rule[0]',
};

const denied: WaypointAccessEntry = {
  startTime: new Date('2022-11-17T06:24:52.001Z'),
  method: 'GET',
  path: '/productpage',
  responseCode: 403,
  responseFlags: '-',
  responseCodeDetails: 'rbac_access_denied_matched_policy[none]',
  bytesReceived: 0,
  bytesSent: 19,
  durationMs: 0.4,
  authority: 'productpage:9080',
  downstreamLocalAddress: '10.8.4.226:9080',
  downstreamRemoteAddress: '10.4.1.8:42000',
  routeName: 'default',
};

t.test('JSON: Istio’s default keys and order, null for what Envoy has no value for', async (t) => {
  const r = envoyJsonRecord(allowed);
  t.same(Object.keys(r), [
    'start_time',
    'route_name',
    'method',
    'path',
    'protocol',
    'response_code',
    'response_flags',
    'response_code_details',
    'connection_termination_details',
    'upstream_transport_failure_reason',
    'bytes_received',
    'bytes_sent',
    'duration',
    'upstream_service_time',
    'x_forwarded_for',
    'user_agent',
    'request_id',
    'authority',
    'upstream_host',
    'upstream_cluster',
    'upstream_local_address',
    'downstream_local_address',
    'downstream_remote_address',
    'requested_server_name',
    'trace_id',
    'rbac_policy',
  ]);
  t.match(r, {
    start_time: '2022-11-17T06:24:51.467Z',
    protocol: 'HTTP/1.1',
    response_code: 200,
    response_flags: '-',
    duration: 12,
    upstream_service_time: '11',
    x_forwarded_for: null,
    upstream_host: '10.4.0.5:9080',
    upstream_cluster: 'inbound-vip|9080|http|productpage.default.svc.cluster.local',
    rbac_policy: 'ns[default]-policy[productpage-viewer]-rule[0]',
  });
  const d = envoyJsonRecord(denied);
  t.equal(d.response_code_details, 'rbac_access_denied_matched_policy[none]');
  t.equal(d.upstream_host, null);
  t.equal(d.upstream_service_time, null);
  t.equal(d.duration, 0);
});

t.test('TEXT: Istio’s default format, as its docs show a denial', async (t) => {
  t.equal(
    envoyTextLine(denied),
    '[2022-11-17T06:24:52.001Z] "GET /productpage HTTP/1.1" 403 - rbac_access_denied_matched_policy[none] - "-" 0 19 0 - "-" "-" "-" "productpage:9080" "-" - - 10.8.4.226:9080 10.4.1.8:42000 - default trace_id=- rbac_policy=-',
  );
  t.match(
    envoyTextLine(allowed),
    /^\[2022-11-17T06:24:51\.467Z\] "GET \/productpage\?u=normal HTTP\/1\.1" 200 - via_upstream - "-" 0 5293 12 11 "-" "curl\/8\.5\.0" /,
  );
});

t.test('WaypointAccessLog writes one line per request to its sink', async (t) => {
  const lines: string[] = [];
  const log = new WaypointAccessLog({ sink: (l) => lines.push(l) });
  const written = log.write(allowed);
  log.write(denied);
  t.equal(lines.length, 2);
  t.equal(lines[0], written);
  t.same(JSON.parse(lines[1]), envoyJsonRecord(denied));
  const text: string[] = [];
  new WaypointAccessLog({ sink: (l) => text.push(l), format: 'text' }).write(denied);
  t.equal(text[0], envoyTextLine(denied));
});
