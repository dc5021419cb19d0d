// The flag parser every command (and the benches) uses: getopt_long's conventions, unknown flags
// refused with the closest known one named.
import t from 'tap';
import { parseDuration, parseFlags, requireString, stringFlag, stringsFlag, UsageError } from '../../src/cli/args';

const SPEC = { hold: 'boolean', json: 'boolean', 'ca-dir': 'string', node: 'string' } as const;

t.test('--name value, --name=value, boolean flags and operands in any order', async (t) => {
  t.same(parseFlags(['bookinfo', '--hold', '--ca-dir', '/tmp/ca', '--node=node-a'], SPEC), {
    flags: { hold: true, 'ca-dir': '/tmp/ca', node: 'node-a' },
    positional: ['bookinfo'],
  });
  t.same(parseFlags(['--json', 'a', 'b'], SPEC), { flags: { json: true }, positional: ['a', 'b'] });
  t.same(parseFlags(['--node='], SPEC).flags, { node: '' }, 'an empty value given with =');
});

t.test('-- ends the flags: what follows is an operand even with a dash', async (t) => {
  t.same(parseFlags(['--hold', '--', '--json', '-x'], SPEC), { flags: { hold: true }, positional: ['--json', '-x'] });
});

t.test('an unknown flag is refused, naming the closest known flag', async (t) => {
  t.throws(() => parseFlags(['--hodl'], SPEC), new UsageError('unknown flag --hodl; did you mean --hold?'));
  t.throws(() => parseFlags(['--ca_dir', 'x'], SPEC), new UsageError('unknown flag --ca_dir; did you mean --ca-dir?'));
  t.throws(() => parseFlags(['--jsno=1'], SPEC), new UsageError('unknown flag --jsno; did you mean --json?'));
  t.throws(() => parseFlags(['-hold'], SPEC), new UsageError('unknown flag -hold; did you mean --hold?'), 'a single dash too');
  t.throws(() => parseFlags(['--frobnicate'], SPEC), new UsageError('unknown flag --frobnicate (flags: --hold, --json, --ca-dir, --node)'));
  t.throws(() => parseFlags(['-x'], SPEC), /unknown flag -x/, 'no short flags');
  t.throws(() => parseFlags(['--toString'], SPEC), /unknown flag --toString/, 'not an Object.prototype name');
  t.throws(() => parseFlags(['--x'], {}), new UsageError('unknown flag --x'));
});

t.test('values: a string flag needs one, a boolean flag takes none', async (t) => {
  t.throws(() => parseFlags(['--node'], SPEC), new UsageError('--node needs a value'));
  t.throws(() => parseFlags(['--node', '--hold'], SPEC), new UsageError('--node needs a value'));
  t.throws(() => parseFlags(['--hold=yes'], SPEC), new UsageError('--hold takes no value'));
});

t.test('stringFlag and requireString', async (t) => {
  const { flags } = parseFlags(['--node', 'n', '--hold'], SPEC);
  t.equal(stringFlag(flags, 'node'), 'n');
  t.equal(stringFlag(flags, 'hold'), undefined, 'a boolean is not a string');
  t.equal(stringFlag(flags, 'ca-dir'), undefined);
  t.equal(requireString(flags, 'node', 'ztunnel'), 'n');
  t.throws(() => requireString(flags, 'ca-dir', 'ztunnel'), new UsageError('ztunnel needs --ca-dir <value>'));
});

t.test('durations', async (t) => {
  t.equal(parseDuration('500ms'), 500);
  t.equal(parseDuration('90s'), 90_000);
  t.equal(parseDuration('1.5m'), 90_000);
  t.equal(parseDuration('24h'), 86_400_000);
  t.equal(parseDuration('250'), 250);
  t.throws(() => parseDuration('3q'), UsageError);
  t.throws(() => parseDuration('-1s'), UsageError);
});

t.test("kubectl's one-letter flags, where a command declares them", async (t) => {
  const spec = { filename: 'string', 'all-namespaces': 'boolean' } as const;
  const shorts = { f: 'filename', A: 'all-namespaces' };
  t.same(parseFlags(['-f', 'x.yaml', '-A'], spec, shorts).flags, { filename: 'x.yaml', 'all-namespaces': true });
  t.same(parseFlags(['-f=y.yaml'], spec, shorts).flags, { filename: 'y.yaml' });
  t.same(parseFlags(['-f', '-'], spec, shorts).flags, { filename: '-' }, 'a lone dash is a value (stdin)');
  t.throws(() => parseFlags(['-x'], spec, shorts), /unknown flag -x/);
  t.throws(() => parseFlags(['-f'], spec, {}), /unknown flag -f/, 'no short flags unless declared');
});

t.test("a repeatable flag keeps every value, in order (kubectl's -f a -f b)", async (t) => {
  const spec = { filename: 'strings', mesh: 'string' } as const;
  const { flags } = parseFlags(['-f', 'a.yaml', '--filename=b.yaml', '-f=c.yaml'], spec, { f: 'filename' });
  t.same(stringsFlag(flags, 'filename'), ['a.yaml', 'b.yaml', 'c.yaml']);
  t.same(stringsFlag(parseFlags(['--mesh', 'x'], spec).flags, 'mesh'), ['x'], 'a plain string flag reads as one value');
  t.same(stringsFlag({}, 'filename'), []);
  t.throws(() => parseFlags(['-f'], spec, { f: 'filename' }), new UsageError('--filename needs a value'));
});

t.test("get's label selector, as kubectl parses it", async (t) => {
  const { parseSelector } = await import('../../src/cli/get');
  const l = { app: 'reviews', version: 'v1', 'istio.io/dataplane-mode': 'ambient' };
  t.equal(parseSelector('app=reviews')(l), true);
  t.equal(parseSelector('app==reviews,version!=v2')(l), true);
  t.equal(parseSelector('app=reviews,version=v2')(l), false);
  t.equal(parseSelector('istio.io/dataplane-mode')(l), true);
  t.equal(parseSelector('!istio.io/dataplane-mode')(l), false);
  t.equal(parseSelector('!gone')(l), true);
  t.equal(parseSelector('gone!=x')(l), true, 'a missing label is not x');
  t.throws(() => parseSelector('app in (a,b)'), /unable to parse requirement/);
  t.throws(() => parseSelector('!app=x'), /unable to parse requirement/);
});
