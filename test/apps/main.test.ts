// runApp (addresses 127.40.5.x): the app, its readiness on :15021 and the default SOCKS5
// capture at <pod address>:15080.
import t from 'tap';
import { runApp } from '../../src/apps/main';
import { apps } from '../../src/apps/index';
import { PORT_EXEC, PORT_READINESS, PORT_SOCKS5 } from '../../src/mesh/ports';
import { socksServer } from './fixtures/socks-server';
import { get, pod, quietLog } from './fixtures/pods';

t.test('the registry knows every app kind', async (t) => {
  t.same(Object.keys(apps).sort(), ['details', 'echo', 'http-echo', 'productpage', 'ratings', 'reviews', 'sink', 'sleep']);
});

t.test('runApp: details with readiness', async (t) => {
  const handle = await runApp(pod('details-v1-0', 'details', '10.40.5.1', 9080), { log: quietLog });
  t.equal(handle.hostIp, '127.40.5.1', '10.a.b.c is served at 127.a.b.c');
  const ready = await get(`http://127.40.5.1:${PORT_READINESS}/healthz/ready`);
  t.equal(ready.status, 200);
  t.equal(ready.body.trim(), 'ready');
  t.equal((await get('http://127.40.5.1:9080/health')).status, 200);
  await handle.close();
  await t.rejects(get(`http://127.40.5.1:${PORT_READINESS}/healthz/ready`), { code: 'ECONNREFUSED' }, 'readiness gone after close');
  await t.rejects(get('http://127.40.5.1:9080/health'), { code: 'ECONNREFUSED' }, 'app gone after close');
});

t.test('runApp: sleep goes out through <pod address>:15080 by default', async (t) => {
  const mirror = await runApp(pod('details-v1-1', 'details', '10.40.5.3', 9080), { log: quietLog });
  const proxy = await socksServer('127.40.5.2', PORT_SOCKS5, (host) => (host === 'details' ? { forward: { host: '127.40.5.3', port: 9080 } } : undefined));
  const sleep = await runApp(pod('sleep-0', 'sleep', '10.40.5.2', 0), { log: quietLog });
  t.teardown(async () => {
    await sleep.close();
    await mirror.close();
    await proxy.close();
  });
  const out = JSON.parse((await get(`http://127.40.5.2:${PORT_EXEC}/fetch?url=http://details:9080/details/0`)).body);
  t.equal(out.status, 200);
  t.equal(proxy.seen[0].from, '127.40.5.2', 'the SOCKS5 connection comes from the pod address');
});

t.test('runApp: an unknown kind fails and leaves nothing listening', async (t) => {
  await t.rejects(runApp(pod('x-0', 'nginx', '10.40.5.4', 80), { log: quietLog }), /unknown app kind 'nginx'/);
  await t.rejects(get(`http://127.40.5.4:${PORT_READINESS}/healthz/ready`), { code: 'ECONNREFUSED' });
});

t.test('runApp: a port already taken fails and releases readiness', async (t) => {
  const first = await runApp(pod('echo-0', 'echo', '10.40.5.5', 9000), { log: quietLog, readinessPort: 0 });
  t.teardown(() => first.close());
  await t.rejects(runApp(pod('echo-1', 'echo', '10.40.5.5', 9000), { log: quietLog, readinessPort: PORT_READINESS }), { code: 'EADDRINUSE' });
  const again = await runApp(pod('sink-0', 'sink', '10.40.5.5', 9001), { log: quietLog });
  t.pass('readiness port free again');
  await again.close();
});
