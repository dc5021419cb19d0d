// The live page's edges from the proxies' own metrics, as Kiali reads Istio's: which reporter
// counts a connection, an edge through the waypoint, the legs into and out of it folded in,
// rates over the window, a new edge counted from zero, a counter reset, denials and failures.
import t from 'tap';
import type { Sample } from '../../src/telemetry/prom-text';
import { parsePromText } from '../../src/telemetry/prom-text';
import { foldScrape, MAX_EDGES, ProxySamples } from '../../src/console/edge-totals';
import { EdgeRates, FORGET_AFTER_MS, RATE_WINDOW_MS } from '../../src/console/edge-rates';
import { graphLines } from '../../src/console/mesh-scraper';

const P = (sa: string) => `spiffe://cluster.local/ns/default/sa/${sa}`;

function tcp(name: string, reporter: string, from: string, to: string, value: number, extra: Record<string, string> = {}): Sample {
  return {
    name,
    value,
    labels: {
      reporter,
      source_workload: from,
      source_workload_namespace: 'default',
      source_principal: P(from),
      destination_workload: to,
      destination_workload_namespace: 'default',
      destination_principal: P(to),
      connection_security_policy: 'mutual_tls',
      response_flags: '-',
      ...extra,
    },
  };
}
const http = (from: string, to: string, code: string, value: number): Sample => ({
  ...tcp('istio_requests_total', 'waypoint', from, to, value),
  labels: { ...tcp('', 'waypoint', from, to, 0).labels, response_code: code },
});

function scrape(opts: { curlToWaypoint: number; ok: number; denied?: number; fromOutside?: number }): ProxySamples[] {
  return [
    {
      proxy: 'ztunnel-node-a',
      role: 'ztunnel',
      samples: [
        tcp('istio_tcp_connections_opened_total', 'source', 'curl', 'waypoint', opts.curlToWaypoint),
        tcp('istio_tcp_sent_bytes_total', 'source', 'curl', 'waypoint', opts.curlToWaypoint * 1000),
        // The destination's report of a mesh connection is not counted again...
        tcp('istio_tcp_connections_opened_total', 'destination', 'waypoint', 'productpage-v1', opts.curlToWaypoint),
        // ...but one from outside the mesh is only ever seen there.
        tcp('istio_tcp_connections_opened_total', 'destination', 'legacy', 'productpage-v1', opts.fromOutside ?? 0, { connection_security_policy: 'unknown' }),
      ],
    },
    {
      proxy: 'waypoint-abc',
      role: 'waypoint',
      workload: 'waypoint',
      namespace: 'default',
      samples: [http('curl', 'productpage-v1', '200', opts.ok), http('curl', 'productpage-v1', '403', opts.denied ?? 0)],
    },
  ];
}

t.test('which reporter counts a connection, and an edge through the waypoint', async (t) => {
  const { edges } = foldScrape(scrape({ curlToWaypoint: 3, ok: 5, fromOutside: 2 }));
  const ids = [...edges.keys()].sort();
  t.same(ids, [
    'default/curl>>default/waypoint>tcp',
    'default/curl>default/waypoint>default/productpage-v1>http',
    'default/legacy>>default/productpage-v1>tcp',
  ]);
  const l7 = edges.get('default/curl>default/waypoint>default/productpage-v1>http')!;
  t.equal(l7.totals.requests, 5);
  t.equal(l7.via, 'default/waypoint');
  t.equal(l7.sourcePrincipal, P('curl'));
  t.equal(l7.destinationPrincipal, P('productpage-v1'));
  t.equal(edges.get('default/curl>>default/waypoint>tcp')!.totals.connections, 3, 'the source ztunnel counts the connection once');
  t.equal(edges.get('default/legacy>>default/productpage-v1>tcp')!.mtls, false, 'a client outside the mesh: no mTLS');
});

t.test('rates over the window; the leg into the waypoint is folded into the edge through it', async (t) => {
  const rates = new EdgeRates();
  rates.add(0, foldScrape(scrape({ curlToWaypoint: 3, ok: 5 })).edges);
  const first = rates.edges();
  t.ok(
    first.every((e) => e.state === 'idle' && e.rps === 0),
    'one scrape: nothing to compare yet',
  );
  t.notOk(
    first.some((e) => e.to === 'default/waypoint'),
    'curl → waypoint is a leg of curl → productpage',
  );
  rates.add(2000, foldScrape(scrape({ curlToWaypoint: 7, ok: 9 })).edges);
  const e = rates.edges().find((x) => x.to === 'default/productpage-v1' && x.protocol === 'http')!;
  t.equal(e.rps, 2, '4 requests in 2 s');
  t.equal(e.state, 'ok');
  t.same(e.codes, { '200': 4 });
  t.equal(e.requests, 9, 'since the proxies started');
});

t.test('a denial turns the edge denied; a new edge counts from zero; a reset is a reset', async (t) => {
  const rates = new EdgeRates();
  rates.add(0, foldScrape(scrape({ curlToWaypoint: 1, ok: 1 })).edges);
  rates.add(1000, foldScrape(scrape({ curlToWaypoint: 2, ok: 1, denied: 1 })).edges);
  const denied = rates.edges().find((x) => x.protocol === 'http')!;
  t.equal(denied.state, 'denied', 'a 403 first seen in this scrape counts from zero');
  t.equal(denied.denyRate, 1);
  // The waypoint restarted: its counters start again from zero.
  rates.add(2000, foldScrape(scrape({ curlToWaypoint: 3, ok: 2, denied: 0 })).edges);
  const after = rates.edges().find((x) => x.protocol === 'http')!;
  t.ok(after.rps > 0 && after.requests === 2, `a counter that went down is a reset, not a negative rate: ${after.rps}`);
  // Past the window, the denial has left the rate.
  rates.add(2000 + RATE_WINDOW_MS + 1, foldScrape(scrape({ curlToWaypoint: 3, ok: 2, denied: 0 })).edges);
  rates.add(2000 + RATE_WINDOW_MS + 1001, foldScrape(scrape({ curlToWaypoint: 3, ok: 2, denied: 0 })).edges);
  t.equal(rates.edges().find((x) => x.protocol === 'http')!.state, 'idle');
});

t.test("ztunnel's DENY and CONNECT flags: an L4 edge denied or failing", async (t) => {
  const closed = (flag: string, n: number) => tcp('istio_tcp_connections_closed_total', 'source', 'curl', 'ratings-v1', n, { response_flags: flag });
  const at = (n: number): ProxySamples[] => [
    {
      proxy: 'ztunnel-node-a',
      role: 'ztunnel',
      samples: [tcp('istio_tcp_connections_opened_total', 'source', 'curl', 'ratings-v1', 2 * n), closed('DENY', n), closed('CONNECT', n)],
    },
  ];
  const rates = new EdgeRates();
  rates.add(0, foldScrape(at(0)).edges);
  rates.add(1000, foldScrape(at(2)).edges);
  const e = rates.edges()[0];
  t.equal(e.state, 'denied');
  t.equal(e.denyRate, 0.5);
  t.equal(e.errorRate, 0.5);
});

t.test('bounded: past MAX_EDGES new pairs are dropped and counted', async (t) => {
  const samples = Array.from({ length: MAX_EDGES + 5 }, (_, i) => tcp('istio_tcp_connections_opened_total', 'source', `c${i}`, 'd', 1));
  const { edges, dropped } = foldScrape([{ proxy: 'ztunnel-node-a', role: 'ztunnel', samples }]);
  t.equal(edges.size, MAX_EDGES);
  t.equal(dropped, 5);
});

t.test('a scrape is cut to the graph metrics before it is parsed', async (t) => {
  const text = [
    '# HELP istio_requests_total The total number of requests',
    'istio_requests_total{reporter="waypoint",response_code="200"} 3',
    'istio_request_duration_milliseconds_bucket{le="1"} 3',
    'istio_request_bytes_sum{reporter="waypoint"} 10',
    'istio_request_bytes_count{reporter="waypoint"} 1',
    'istio_tcp_connections_opened_total 4',
    'process_cpu_seconds_total 1',
  ].join('\n');
  t.same(
    parsePromText(graphLines(text)).map((s) => s.name),
    ['istio_requests_total', 'istio_request_bytes_sum', 'istio_tcp_connections_opened_total'],
  );
});

t.test('a proxy missing from one scrape keeps its edges; one gone for long is forgotten', async (t) => {
  const rates = new EdgeRates();
  rates.add(0, foldScrape(scrape({ curlToWaypoint: 1, ok: 1 })).edges);
  rates.add(1000, foldScrape(scrape({ curlToWaypoint: 2, ok: 3 })).edges);
  rates.add(2000, new Map());
  const kept = rates.edges().find((x) => x.protocol === 'http');
  t.ok(kept, 'still drawn after one scrape without it');
  t.equal(kept!.requests, 3);
  rates.add(2000 + FORGET_AFTER_MS + 1, new Map());
  t.same(rates.edges(), [], 'forgotten');
});
