import t from 'tap';
import { parsePromText, findSamples, sumSamples, PromTextError } from '../../src/telemetry/prom-text';

const TEXT = `# HELP istio_tcp_connections_opened_total The total number of TCP connections opened
# TYPE istio_tcp_connections_opened_total counter
istio_tcp_connections_opened_total{reporter="source",source_workload="sleep"} 3
istio_tcp_connections_opened_total{reporter="destination",source_workload="sleep"} 2

process_start_time_seconds 1700000000
odd{quote="say \\"hi\\"",path="C:\\\\x",nl="a\\nb",comma="a,b}c" } 1.5e3 1700000000000
temperature{} -Inf
ratio NaN
`;

t.test('parses samples, labels with escapes, special values and timestamps', async (t) => {
  const samples = parsePromText(TEXT);
  t.equal(samples.length, 6);
  t.same(samples[0], { name: 'istio_tcp_connections_opened_total', labels: { reporter: 'source', source_workload: 'sleep' }, value: 3 });
  t.same(samples[2], { name: 'process_start_time_seconds', labels: {}, value: 1700000000 });
  t.same(samples[3].labels, { quote: 'say "hi"', path: 'C:\\x', nl: 'a\nb', comma: 'a,b}c' });
  t.equal(samples[3].value, 1500, 'timestamp dropped');
  t.equal(samples[4].value, -Infinity);
  t.ok(Number.isNaN(samples[5].value));
});

t.test('find and sum by name and label subset', async (t) => {
  const samples = parsePromText(TEXT);
  t.equal(findSamples(samples, 'istio_tcp_connections_opened_total').length, 2);
  t.equal(sumSamples(samples, 'istio_tcp_connections_opened_total'), 5);
  t.equal(sumSamples(samples, 'istio_tcp_connections_opened_total', { reporter: 'destination' }), 2);
  t.equal(sumSamples(samples, 'istio_tcp_connections_opened_total', { reporter: 'nobody' }), 0);
});

t.test('malformed lines are reported with their line number', async (t) => {
  t.throws(() => parsePromText('ok 1\nbad{x="1" 2\n'), PromTextError);
  t.throws(() => parsePromText('ok 1\nbad{x="1" 2\n'), { message: /^line 2: / });
  t.throws(() => parsePromText('novalue\n'), { message: /no value/ });
  t.throws(() => parsePromText('x{a=1} 2\n'), { message: /expected =/ });
  t.throws(() => parsePromText('x abc\n'), { message: /bad value/ });
});
