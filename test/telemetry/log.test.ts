// HBONE_LOG read as ztunnel's RUST_LOG is: a default level plus target=level directives, a
// target covering the targets below it, the most specific one winning.
import t from 'tap';
import { levelFor, logger, parseLogFilter } from '../../src/telemetry/log';

function levels(spec: string, targets: string[]): Record<string, string> {
  const f = parseLogFilter(spec);
  return Object.fromEntries(targets.map((x) => [x, levelFor(f, x)]));
}

const TARGETS = ['hbone', 'hbone::pool', 'hbone::server', 'hbonex', 'waypoint', 'waypoint::waypoint-1', 'ztunnel', 'proxy::inbound'];

t.test('unset or empty: info everywhere, as before', async (t) => {
  t.same(new Set(Object.values(levels('', TARGETS))), new Set(['info']));
  t.same(parseLogFilter('').problems, []);
});

t.test('a bare level is the default level', async (t) => {
  t.same(new Set(Object.values(levels('debug', TARGETS))), new Set(['debug']));
  t.same(new Set(Object.values(levels('off', TARGETS))), new Set(['off']));
  t.same(new Set(Object.values(levels('WARN', TARGETS))), new Set(['warn']), 'levels are case-insensitive');
  t.equal(parseLogFilter('trace').defaultLevel, 'debug', 'trace means debug (nothing logs finer)');
});

t.test("the issue's example: hbone::pool=debug,waypoint=info,warn", async (t) => {
  t.same(levels('hbone::pool=debug,waypoint=info,warn', TARGETS), {
    hbone: 'warn',
    'hbone::pool': 'debug',
    'hbone::server': 'warn',
    hbonex: 'warn',
    waypoint: 'info',
    'waypoint::waypoint-1': 'info',
    ztunnel: 'warn',
    'proxy::inbound': 'warn',
  });
});

t.test('a target covers the names below it, not names that merely begin with it', async (t) => {
  const l = levels('hbone=debug', TARGETS);
  t.equal(l.hbone, 'debug');
  t.equal(l['hbone::pool'], 'debug');
  t.equal(l['hbone::server'], 'debug');
  t.equal(l.hbonex, 'info', 'hbonex is not below hbone');
});

t.test('the most specific target wins, whatever the order', async (t) => {
  t.same(levels('hbone::pool=error,hbone=debug', ['hbone::pool', 'hbone::server']), { 'hbone::pool': 'error', 'hbone::server': 'debug' });
  t.same(levels('hbone=debug,hbone::pool=error', ['hbone::pool', 'hbone::server']), { 'hbone::pool': 'error', 'hbone::server': 'debug' });
});

t.test('a later directive for the same target or the default replaces the earlier one', async (t) => {
  t.same(levels('waypoint=debug,waypoint=error', ['waypoint']), { waypoint: 'error' });
  t.equal(parseLogFilter('debug,error').defaultLevel, 'error');
});

t.test('a bare target enables everything it logs; off silences one target', async (t) => {
  t.same(levels('warn,hbone::pool', ['hbone::pool', 'hbone::server']), { 'hbone::pool': 'debug', 'hbone::server': 'warn' });
  t.same(levels('debug,rbac=off', ['rbac', 'ztunnel']), { rbac: 'off', ztunnel: 'debug' });
});

t.test('spaces around directives are allowed; bad directives are reported and ignored', async (t) => {
  const f = parseLogFilter(' hbone::pool = debug , warn ,, waypoint=loud, =info, a[span]=debug');
  t.equal(f.defaultLevel, 'warn');
  t.same([...f.targets], [['hbone::pool', 'debug']]);
  t.equal(f.problems.length, 3, 'three bad directives');
  t.match(f.problems[0], /"waypoint=loud": unknown level "loud"/);
  t.match(f.problems[1], /"=info": no target/);
  t.match(f.problems[2], /"a\[span\]=debug": a target is names joined by ::/);
});

t.test('loggers follow HBONE_LOG, per target, and again when it changes', async (t) => {
  const saved = process.env.HBONE_LOG;
  t.teardown(() => {
    if (saved === undefined) delete process.env.HBONE_LOG;
    else process.env.HBONE_LOG = saved;
  });
  const lines: string[] = [];
  const pool = logger('hbone::pool', (l) => lines.push(l));
  const server = logger('hbone::server', (l) => lines.push(l));
  const wp = logger('waypoint', (l) => lines.push(l));
  process.env.HBONE_LOG = 'hbone::pool=debug,waypoint=info,warn';
  pool.debug('pool debug');
  server.info('server info');
  server.warn('server warn');
  wp.info('waypoint info');
  wp.debug('waypoint debug');
  t.same(
    lines.map((l) => l.split('\t').slice(1, 4).join(' ')),
    ['debug hbone::pool pool debug', 'warn hbone::server server warn', 'info waypoint waypoint info'],
  );
  t.ok(pool.enabled('debug'));
  t.notOk(server.enabled('info'));
  process.env.HBONE_LOG = 'off';
  lines.length = 0;
  pool.error('gone');
  t.same(lines, [], 'off silences everything');
  t.notOk(pool.enabled('error'));
});
