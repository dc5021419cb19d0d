// The runner's record of access and trace lines is a ring: a held mesh under load cannot grow it.
import t from 'tap';
import { AccessRecords, MAX_RECORDS, field } from '../../src/runner/access-records';

const access = (i: number) => JSON.stringify({ level: 'info', scope: 'access', message: 'connection complete', 'src.addr': `10.0.0.1:${i}` });

t.test('access and trace lines are kept; other JSON lines are claimed but not kept; plain text is not claimed', async (t) => {
  const r = new AccessRecords(10);
  t.ok(r.add('ztunnel-node-a', access(1)));
  t.ok(r.add('waypoint', JSON.stringify({ scope: 'trace', traceId: 'abc', stages: [] })));
  t.ok(r.add('waypoint', JSON.stringify({ start_time: 'x', method: 'GET' })), "the waypoint's Envoy-style access log is JSON, not output");
  t.notOk(r.add('ztunnel-node-a', '2026-01-01T00:00:00Z\tinfo\tztunnel\tready'));
  t.notOk(r.add('x', '{ not json'));
  t.equal(r.size, 2);
  const kept = r.since(0);
  t.same(
    kept.map((x) => x.reporter),
    ['ztunnel-node-a', 'waypoint'],
  );
  t.equal(field(kept[0], 'src.addr'), '10.0.0.1:1', 'parsed when read');
  t.equal(field(kept[1], 'traceId'), 'abc');
});

t.test('the ring keeps the newest lines, in order, and never more than its capacity', async (t) => {
  const r = new AccessRecords(100);
  for (let i = 0; i < 1050; i++) r.add('ztunnel-node-a', access(i));
  t.equal(r.size, 100);
  const kept = r.since(0);
  t.equal(kept.length, 100);
  t.same(
    kept.map((x) => field(x, 'src.addr')),
    Array.from({ length: 100 }, (_, i) => `10.0.0.1:${950 + i}`),
    'the last 100, oldest first',
  );
});

t.test('since(t) returns only lines read at or after t', async (t) => {
  const r = new AccessRecords(10);
  r.add('a', access(1));
  await new Promise((res) => setTimeout(res, 5));
  const mark = performance.now();
  r.add('a', access(2));
  r.add('a', access(3));
  t.same(
    r.since(mark).map((x) => field(x, 'src.addr')),
    ['10.0.0.1:2', '10.0.0.1:3'],
  );
});

t.test('the default capacity bounds the runner at a few MB', async (t) => {
  t.equal(MAX_RECORDS, 10_000);
  const r = new AccessRecords();
  for (let i = 0; i < MAX_RECORDS * 3; i++) r.add('ztunnel-node-a', access(i));
  t.equal(r.size, MAX_RECORDS);
});
