// The hop-by-hop trace of an L7 request with real processes, on the 10.83 block: runExpectation
// joins the source ztunnel's access record, the waypoint's per-request trace line and the
// destination ztunnel's record by trace id. Also the waypoint's istio_requests_* labels.
import t, { Test } from 'tap';
import { runExpectation, ExpectationResult } from '../../src/runner/expectations';
import type { Expectation } from '../../src/mesh/model';
import { hostAddress } from '../../src/mesh/model';
import { findSamples, parsePromText, Sample } from '../../src/telemetry/prom-text';
import { Mesh, startMesh } from '../fixtures/scenario-mesh';
import type { AccessRecord } from '../../src/runner/access-records';
import { UPSTREAM_IDLE_TIMEOUT_MS } from '../../src/waypoint/upstream-pool';
import { PODS, waypointAddresses, waypointScenario } from './fixtures/scenario';

const N = 83;
const A = waypointAddresses(N);
const WAYPOINT_ID = 'spiffe://cluster.local/ns/default/sa/waypoint';
const PRODUCTPAGE = 'http://productpage:9080/productpage';
const PRODUCTPAGE_HOST = 'productpage.default.svc.cluster.local';
const TRACE_ID_RE = /^[0-9a-f]{32}$/;
const STAGES = [
  'inbound_CONNECT_terminate',
  `inbound-vip|9080|http|${PRODUCTPAGE_HOST}`,
  `inbound-pod|9080||${A.pod.productpage}`,
  'inbound_CONNECT_originate',
];

/** The JSON form of a RequestTrace (traceJson in expectations.ts): the records' fields. */
interface Stage {
  readonly name: string;
  readonly atMs: number;
  readonly durationMs: number;
  readonly detail: Record<string, string | number | undefined>;
}
interface TraceJson {
  readonly traceId?: string;
  readonly outbound?: Record<string, unknown>;
  readonly waypoint?: { traceId: string; process: string; stages: Stage[]; status: number; durationMs: number };
  readonly inbound?: Record<string, unknown>;
  readonly tunnelTrace?: string;
}

let mesh: Mesh;

t.before(async () => {
  mesh = await startMesh(waypointScenario(N), 'waypoint-trace');
});

t.teardown(async () => {
  await mesh?.stop();
});

function expectation(from: string, to: string, outcome: Expectation['outcome']): Expectation {
  return { from, to, outcome, origin: 'test' };
}

function traceOf(r: ExpectationResult): TraceJson {
  return (r.trace ?? {}) as TraceJson;
}

/**
 * The destination ztunnel's record of the CONNECT that carried a request through the waypoint:
 * under the request's own trace if stage 4 opened it, else under the trace that did. ztunnel
 * writes it when the waypoint's upstream connection closes, after it has been idle a while.
 */
async function destinationRecord(tr: TraceJson): Promise<Record<string, unknown> | undefined> {
  const authority = tr.waypoint?.stages[3]?.detail.authority;
  const connectTrace = tr.tunnelTrace ?? tr.traceId;
  const match = (r: AccessRecord) => r.fields.trace_id === connectTrace && r.fields.direction === 'inbound' && r.fields['dst.hbone_addr'] === authority;
  const found = await mesh.records.waitFor(0, (rs) => rs.some(match), UPSTREAM_IDLE_TIMEOUT_MS + 4000);
  return found.find(match)?.fields;
}

/** Index of the first hop at or after `from` that mentions `text`; -1 when none does. */
function hopIndex(hops: readonly string[], text: string, from: number): number {
  for (let i = from; i < hops.length; i++) if (hops[i].includes(text)) return i;
  return -1;
}

t.test('the trace names every waypoint stage in order, joined by one trace id', async (t) => {
  const r = await runExpectation(mesh.scenario, mesh.records, expectation(PODS.sleep, PRODUCTPAGE, 200));
  t.ok(r.ok, `sleep -> productpage got ${r.got}${r.error ? ` (${r.error})` : ''}`);
  t.equal(r.got, '200');
  const tr = traceOf(r);
  t.match(tr.traceId ?? '', TRACE_ID_RE, 'a 32-hex W3C trace id');
  t.ok(!/^0+$/.test(tr.traceId ?? ''), 'not the all-zero (invalid) trace id');

  t.ok(tr.outbound, 'the source ztunnel logged the request');
  t.equal(tr.outbound?.trace_id, tr.traceId, 'the outbound record carries the trace id');
  t.equal(tr.outbound?.direction, 'outbound');
  t.equal(tr.outbound?.['src.workload'], PODS.sleep);
  t.equal(tr.outbound?.['dst.workload'], PODS.waypoint, 'captured to the waypoint, not the pod');
  t.equal(tr.outbound?.['dst.hbone_addr'], `${A.vip.productpage}:9080`, ':authority is the service VIP');

  const wp = tr.waypoint;
  t.ok(wp, 'the waypoint wrote a trace line for it');
  t.equal(wp?.traceId, tr.traceId, 'the waypoint continued the same trace');
  t.equal(wp?.process, PODS.waypoint);
  t.equal(wp?.status, 200);
  const stages = wp?.stages ?? [];
  t.same(
    stages.map((s) => s.name),
    STAGES,
    'the four stages, in order',
  );
  for (let i = 1; i < stages.length; i++) t.ok(stages[i].atMs >= stages[i - 1].atMs, `stage ${i + 1} starts no earlier than stage ${i}`);
  for (const s of stages) t.ok(s.durationMs >= 0, `${s.name}: duration is not negative`);
  t.equal(stages[0]?.detail.authority, `${A.vip.productpage}:9080`, 'stage 1 saw the VIP :authority');
  t.equal(stages[0]?.detail.peer, 'spiffe://cluster.local/ns/default/sa/sleep', 'stage 1 saw the client identity');
  t.equal(stages[2]?.detail.rbac, 'allowed');
  t.equal(stages[3]?.detail.authority, `${A.pod.productpage}:9080`, 'stage 4 CONNECTs to the pod');
  t.equal(stages[3]?.detail.status, 200);

  t.equal(stages[3]?.detail.upstream, 'new CONNECT', 'the first request opens the upstream connection');
  t.equal(tr.tunnelTrace, undefined);
  t.equal(tr.inbound, undefined, 'the connection stays open for the next request: ztunnel has not logged it yet');
  const inbound = await destinationRecord(tr);
  t.ok(inbound, 'the destination ztunnel logged the waypoint CONNECT once it closed');
  t.equal(inbound?.trace_id, tr.traceId, 'the inbound record carries the same trace id');
  t.equal(inbound?.direction, 'inbound');
  t.equal(inbound?.['src.identity'], WAYPOINT_ID, 'the pod saw the waypoint as its peer');
  t.equal(inbound?.['dst.workload'], PODS.productpage);
  t.equal(inbound?.['dst.hbone_addr'], `${A.pod.productpage}:9080`);

  // The hops read the same story, in the same order.
  let at = 0;
  for (const name of STAGES) {
    const i = hopIndex(r.hops, name, at);
    t.ok(i >= 0, `a hop after #${at} names ${name}`, { hops: r.hops });
    if (i >= 0) at = i + 1;
  }
  t.ok(
    r.hops.some((h) => h.includes(`trace ${tr.traceId}`)),
    'a hop names the trace id',
  );
  t.ok(hopIndex(r.hops, 'inbound', at) >= 0, 'the inbound hop comes after the stages');
});

t.test('a request denied by the waypoint stops at inbound-pod', async (t) => {
  const r = await runExpectation(mesh.scenario, mesh.records, expectation(PODS.notsleep, PRODUCTPAGE, 403));
  t.ok(r.ok, `notsleep -> productpage got ${r.got}`);
  t.equal(r.got, '403');
  const tr = traceOf(r);
  t.match(tr.traceId ?? '', TRACE_ID_RE);
  t.equal(tr.outbound?.trace_id, tr.traceId);
  t.equal(tr.outbound?.['src.workload'], PODS.notsleep);
  const wp = tr.waypoint;
  t.ok(wp, 'the waypoint wrote a trace line');
  t.equal(wp?.traceId, tr.traceId);
  t.equal(wp?.status, 403);
  t.same(
    wp?.stages.map((s) => s.name),
    STAGES.slice(0, 3),
    'no inbound_CONNECT_originate after a denial',
  );
  t.equal(wp?.stages[2]?.detail.rbac, 'denied');
  t.equal(wp?.stages[0]?.detail.peer, 'spiffe://cluster.local/ns/default/sa/notsleep');
  t.equal(tr.inbound, undefined, 'the pod never saw a CONNECT');
  t.notOk(
    r.hops.some((h) => h.includes('inbound_CONNECT_originate')),
    'no hop mentions the originate stage',
  );
  t.notOk(
    r.hops.some((h) => h.includes('no inbound record')),
    'a denial in the waypoint is not reported as a missing inbound record',
  );
  // No CONNECT of this trace reached productpage's node at all.
  const late = mesh.records.since(0).filter((x) => x.fields.trace_id === tr.traceId && x.fields.direction === 'inbound');
  t.same(late, [], 'no inbound record with this trace id anywhere');
});

/** Each result's records are of its own trace, and the inbound is the waypoint's stage-4 CONNECT. */
async function checkOwnTrace(t: Test, r: ExpectationResult, from: string): Promise<TraceJson> {
  const tr = traceOf(r);
  t.ok(r.ok, `${from} -> ${r.expectation.to} got ${r.got}`);
  t.match(tr.traceId ?? '', TRACE_ID_RE);
  t.equal(tr.outbound?.['src.workload'], from, 'the outbound record is of this source');
  t.equal(tr.outbound?.trace_id, tr.traceId);
  t.equal(tr.waypoint?.traceId, tr.traceId, 'the waypoint record is of this trace');
  t.equal(
    tr.waypoint?.stages[0]?.detail.peer,
    r.expectation.from === PODS.ingress
      ? 'spiffe://cluster.local/ns/istio-system/sa/istio-ingressgateway-service-account'
      : 'spiffe://cluster.local/ns/default/sa/sleep',
    'stage 1 saw this client',
  );
  const authority = tr.waypoint?.stages[3]?.detail.authority;
  t.ok(authority, 'stage 4 names an authority');
  const reused = tr.waypoint?.stages[3]?.detail.upstream === 'reused';
  t.equal(tr.tunnelTrace !== undefined, reused, 'a tunnel trace is named exactly when the connection was reused');
  if (reused) t.not(tr.tunnelTrace, tr.traceId, 'a reused connection was opened by another request');
  const inbound = await destinationRecord(tr);
  t.equal(inbound?.trace_id, reused ? tr.tunnelTrace : tr.traceId, 'the inbound record is of the trace that opened the connection');
  t.equal(inbound?.['dst.hbone_addr'], authority, "the inbound record is the waypoint's stage-4 CONNECT");
  return tr;
}

t.test('two requests in flight at once are each traced on their own', async (t) => {
  const [a, b] = await Promise.all([
    runExpectation(mesh.scenario, mesh.records, expectation(PODS.sleep, PRODUCTPAGE, 200)),
    // productpage.default: the ingress client lives in istio-system, where a bare name would not resolve.
    runExpectation(mesh.scenario, mesh.records, expectation(PODS.ingress, 'http://productpage.default:9080/productpage', 200)),
  ]);
  const [ta, tb] = await Promise.all([checkOwnTrace(t, a, PODS.sleep), checkOwnTrace(t, b, PODS.ingress)]);
  t.not(ta.traceId, tb.traceId, 'the two requests have different trace ids');
  t.not(ta.outbound?.['src.addr'], tb.outbound?.['src.addr'], 'different source connections');
});

// Fails while src/runner/expectations.ts traceOf takes the first outbound record of the source pod
// since the request started, whatever its destination: with two requests from one pod in flight,
// the one whose connection closes first (details) is reported for both. Its assertions are marked
// todo (a todo subtest would not run at all under tap 21); drop `todo` once traceOf is fixed.

t.test('two requests in flight at once from the same pod are each traced on their own', async (t) => {
  // sleep -> productpage (through the waypoint) and sleep -> details (straight to the pod):
  // both outbound records have src.workload = sleep, so each must be told apart by destination.
  const [a, b] = await Promise.all([
    runExpectation(mesh.scenario, mesh.records, expectation(PODS.sleep, PRODUCTPAGE, 200)),
    runExpectation(mesh.scenario, mesh.records, expectation(PODS.sleep, 'http://details:9080/details/0', 200)),
  ]);
  t.ok(a.ok && b.ok, `both answered (${a.got}, ${b.got})`);
  const ta = traceOf(a);
  const tb = traceOf(b);
  t.not(ta.traceId, tb.traceId, 'the two requests have different trace ids');
  t.equal(ta.outbound?.['dst.service'], PRODUCTPAGE_HOST, "the productpage result holds productpage's outbound record");
  t.equal(tb.outbound?.['dst.service'], 'details.default.svc.cluster.local', "the details result holds details' outbound record");
  t.equal(ta.waypoint?.traceId, ta.traceId, 'productpage went through the waypoint, in its own trace');
  t.same(
    ta.waypoint?.stages.map((s) => s.name),
    STAGES,
    "the productpage result lists the waypoint's four stages",
  );
  t.equal(tb.waypoint, undefined, 'details is not waypoint-bound');
  t.equal(tb.inbound?.trace_id, tb.traceId, "the details result's inbound record is of its trace");
  t.equal(tb.inbound?.['dst.workload'], PODS.details, "the details result's inbound record is details'");
});

/** Polls the waypoint's /metrics until `ready` holds for the samples (2 s at most). */
async function waypointMetrics(ready: (s: Sample[]) => boolean): Promise<Sample[]> {
  const url = `http://${hostAddress(A.pod.waypoint)}:15020/metrics`;
  const deadline = performance.now() + 2000;
  for (;;) {
    const res = await mesh.get(url);
    const samples = res.status === 200 ? parsePromText(res.body) : [];
    if (ready(samples) || performance.now() > deadline) return samples;
    await new Promise((r) => setTimeout(r, 50));
  }
}

t.test("the waypoint's L7 metrics carry Istio's labels", async (t) => {
  const allowed = await runExpectation(mesh.scenario, mesh.records, expectation(PODS.sleep, PRODUCTPAGE, 200));
  const denied = await runExpectation(mesh.scenario, mesh.records, expectation(PODS.notsleep, PRODUCTPAGE, 403));
  t.ok(allowed.ok && denied.ok, `requests answered (${allowed.got}, ${denied.got})`);

  const common = {
    reporter: 'waypoint',
    destination_service: PRODUCTPAGE_HOST,
    destination_service_name: 'productpage',
    destination_service_namespace: 'default',
    destination_workload: 'productpage-v1',
    destination_workload_namespace: 'default',
    destination_principal: 'spiffe://cluster.local/ns/default/sa/bookinfo-productpage',
    destination_canonical_service: 'productpage',
    destination_canonical_revision: 'v1',
    source_workload_namespace: 'default',
    request_protocol: 'http',
    connection_security_policy: 'mutual_tls',
  };
  const sets = {
    sleep: {
      ...common,
      source_workload: 'sleep',
      source_canonical_service: 'sleep',
      source_principal: 'spiffe://cluster.local/ns/default/sa/sleep',
      response_code: '200',
      response_flags: '-',
    },
    notsleep: {
      ...common,
      source_workload: 'notsleep',
      source_canonical_service: 'notsleep',
      source_principal: 'spiffe://cluster.local/ns/default/sa/notsleep',
      response_code: '403',
      response_flags: '-',
    },
  };
  const complete = (s: Sample[]) =>
    Object.values(sets).every((labels) =>
      ['istio_requests_total', 'istio_request_duration_milliseconds_count', 'istio_request_bytes_count', 'istio_response_bytes_count'].every((name) =>
        findSamples(s, name, labels).some((x) => x.value >= 1),
      ),
    );
  const samples = await waypointMetrics(complete);

  for (const [who, labels] of Object.entries(sets)) {
    const total = findSamples(samples, 'istio_requests_total', labels);
    t.equal(total.length, 1, `${who}: one istio_requests_total series for the label set`, {
      series: findSamples(samples, 'istio_requests_total', { reporter: 'waypoint' }).map((s) => s.labels),
    });
    t.ok((total[0]?.value ?? 0) >= 1, `${who}: counted`);
    for (const name of ['istio_request_duration_milliseconds_count', 'istio_request_bytes_count', 'istio_response_bytes_count']) {
      const found = findSamples(samples, name, labels);
      t.equal(found.length, 1, `${who}: ${name} has the same label set`);
      t.equal(found[0]?.value, total[0]?.value, `${who}: ${name} counts as many requests as istio_requests_total`);
    }
    t.ok((findSamples(samples, 'istio_response_bytes_sum', labels)[0]?.value ?? 0) > 0, `${who}: response bytes were counted`);
  }
  // Only the waypoint reports here, and nothing reported as the source or the destination.
  const reporters = new Set(findSamples(samples, 'istio_requests_total').map((s) => s.labels.reporter));
  t.same([...reporters], ['waypoint'], 'every series has reporter="waypoint"');
  t.same(
    findSamples(samples, 'istio_requests_total', { ...common, source_workload: 'notsleep', response_code: '200' }),
    [],
    'notsleep was never counted as a 200',
  );
});
