// Who reads the proxies' per-request lines, as the runner keeps count (src/runner/line-readers.ts).
import t from 'tap';
import { isProxyChild, LineReaders } from '../../src/runner/line-readers';
import type { ChildHandle } from '../../src/runner/supervisor';
import { ENV_REQUEST_LINES, isRequestLinesMessage, parseRequestLines } from '../../src/telemetry/request-lines';
import { TraceFollower } from '../../src/runner/trace-follower';
import { AccessRecords } from '../../src/runner/access-records';
import type { Scenario } from '../../src/mesh/model';

function fakeSupervisor() {
  const env: Record<string, string> = {};
  const sent: unknown[] = [];
  return {
    env,
    sent,
    setEnv: (name: string, value: string) => void (env[name] = value),
    broadcast: (message: object, which: (c: ChildHandle) => boolean) => {
      const proxy = { spec: { name: 'waypoint-1', args: ['waypoint', '--pod', 'waypoint-1'], ready: '' } } as unknown as ChildHandle;
      const ztunnel = { spec: { name: 'ztunnel-node-a', args: ['ztunnel'], ready: '' } } as unknown as ChildHandle;
      t.notOk(which(ztunnel), 'ztunnel is never told');
      if (which(proxy)) sent.push(message);
    },
  };
}

t.test('readers are counted; proxies are told when the answer changes', async (t) => {
  const s = fakeSupervisor();
  const readers = new LineReaders(s);
  t.same(parseRequestLines(s.env[ENV_REQUEST_LINES]), { trace: false, accessLog: false }, 'nobody reads at first');
  const a = readers.read({ trace: true });
  const b = readers.read({ trace: true });
  t.same(readers.state, { trace: true, accessLog: false });
  t.same(parseRequestLines(s.env[ENV_REQUEST_LINES]), { trace: true, accessLog: false }, 'a proxy started now writes trace records');
  t.equal(s.sent.length, 1, 'told once, though two read');
  t.ok(isRequestLinesMessage(s.sent[0]));
  a();
  a();
  t.same(readers.state, { trace: true, accessLog: false }, 'one reader left (a second release does nothing)');
  b();
  t.same(readers.state, { trace: false, accessLog: false });
  t.same(s.sent.at(-1), { kind: 'hbone-sim/request-lines', trace: false, accessLog: false });
  t.equal(s.sent.length, 2);
  readers.read({ trace: true, accessLog: true });
  t.same(parseRequestLines(s.env[ENV_REQUEST_LINES]), { trace: true, accessLog: true });
  readers.resend();
  t.equal(s.sent.length, 4, 'resend tells again, unchanged');
});

t.test('proxies are the waypoint and gateway processes', async (t) => {
  const child = (args: string[]) => ({ spec: { name: 'x', args, ready: '' } }) as unknown as ChildHandle;
  t.ok(isProxyChild(child(['waypoint', '--pod', 'w'])));
  t.ok(isProxyChild(child(['gateway', '--pod', 'g'])));
  t.notOk(isProxyChild(child(['node', '--node', 'a'])));
  t.notOk(isProxyChild(child(['istiod'])));
});

t.test('trace --follow reads trace records while anyone follows', async (t) => {
  const scenario = { workloads: [], services: [] } as unknown as Scenario;
  let reading = 0;
  const follower = new TraceFollower(
    new AccessRecords(10),
    () => scenario,
    () => {
      reading++;
      return () => reading--;
    },
  );
  const stopA = follower.follow({}, () => true);
  const stopB = follower.follow({}, () => true);
  t.equal(reading, 1, 'asked once for every follower');
  stopA();
  t.equal(reading, 1);
  stopB();
  t.equal(reading, 0, 'released when the last one stops');
  follower.close();
});
