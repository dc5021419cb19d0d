// Request framing at the waypoint: the body leaves with content-length or chunked, whatever the
// method, and route filters cannot change the framing headers.
import t from 'tap';
import type { IncomingMessage } from 'node:http';
import { framingOf, isReplayable, withFraming } from '../../src/waypoint/framing';
import { endToEndRequest, endToEndResponse } from '../../src/waypoint/hop-by-hop';

const req = (headers: Record<string, string>): IncomingMessage => ({ headers }) as unknown as IncomingMessage;

t.test('framing as node:http parsed it', async (t) => {
  t.same(framingOf(req({})), { kind: 'none' });
  t.same(framingOf(req({ 'content-length': '12' })), { kind: 'length', length: 12 });
  t.same(framingOf(req({ 'transfer-encoding': 'chunked' })), { kind: 'chunked' });
  t.ok(isReplayable({ kind: 'none' }));
  t.ok(isReplayable({ kind: 'length', length: 0 }));
  t.notOk(isReplayable({ kind: 'length', length: 1 }));
  t.notOk(isReplayable({ kind: 'chunked' }), 'a streamed body cannot be sent twice');
});

t.test('framing headers come from the framing alone', async (t) => {
  const routeSet = { 'content-length': '0', 'transfer-encoding': 'identity', a: 'b' };
  t.same(withFraming(routeSet, { kind: 'chunked' }), { a: 'b', 'transfer-encoding': 'chunked' }, 'chunked, whatever a filter set');
  t.same(withFraming(routeSet, { kind: 'length', length: 5 }), { a: 'b', 'content-length': '5' });
  t.same(withFraming(routeSet, { kind: 'none' }), { a: 'b' });
});

t.test('hop-by-hop headers and those Connection nominates are dropped; Host never is', async (t) => {
  const h = endToEndRequest({
    host: 'probe:8080',
    connection: 'keep-alive, X-Secret, host',
    'x-secret': '1',
    'keep-alive': 'timeout=5',
    te: 'trailers',
    upgrade: 'h2c',
    'transfer-encoding': 'chunked',
    'x-kept': ['a', 'b'] as unknown as string,
  });
  t.same(h, { host: 'probe:8080', 'x-kept': 'a, b' });
  const r = endToEndResponse({ connection: 'x-hop', 'x-hop': '1', 'set-cookie': ['a=1', 'b=2'], 'content-type': 'text/plain' });
  t.same(r, { 'set-cookie': ['a=1', 'b=2'], 'content-type': 'text/plain' }, 'set-cookie stays a list');
});
