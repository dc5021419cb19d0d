// From argv to a command, in-process: help and version on stdout with exit 0, usage errors on
// stderr with exit 2 naming the closest command or flag, and a command's run() given parsed args.
import t from 'tap';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { dispatch, EXIT_USAGE, Io, packageVersion, topUsage } from '../../src/cli/dispatch';
import { Args, Command, commandHelp, KEEPS_RUNNING, usageLine } from '../../src/cli/command';
import { COMMANDS } from '../../src/cli/commands';
import { UsageError } from '../../src/cli/args';
import { ScenarioError } from '../../src/mesh/load';

interface Captured extends Io {
  stdout: string;
  stderr: string;
}

function io(env: NodeJS.ProcessEnv = {}): Captured {
  const c: Captured = {
    stdout: '',
    stderr: '',
    env,
    out: (s) => void (c.stdout += s),
    err: (s) => void (c.stderr += s),
  };
  return c;
}

/** A table of two commands that record what they were given. */
function table(): { commands: Command[]; calls: Args[] } {
  const calls: Args[] = [];
  const greet: Command = {
    name: 'greet',
    summary: 'say hello',
    description: 'Says hello to a name.',
    operands: { usage: '<name>', min: 1, max: 1 },
    flags: {
      loud: { kind: 'boolean', help: 'shout' },
      times: { kind: 'string', value: 'n', help: 'how many times' },
    },
    run: async (args) => {
      calls.push(args);
      if (args.flags.times === 'bad') throw new UsageError('--times needs a number');
      if (args.flags.times === 'scenario') throw new ScenarioError([{ file: 'x.yaml', line: 3, path: 'nodes', message: 'bad' }]);
      if (args.flags.times === 'crash') throw new Error('boom');
      return args.flags.loud ? 7 : 0;
    },
  };
  const serve: Command = {
    name: 'serve',
    summary: 'serve until a signal',
    description: 'Serves.',
    flags: { port: { kind: 'string', value: 'port', required: true, help: 'where' } },
    run: async (args) => {
      calls.push(args);
      return KEEPS_RUNNING;
    },
  };
  return { commands: [greet, serve], calls };
}

t.test('--help, -h, help: the commands on stdout, exit 0', async (t) => {
  const { commands } = table();
  for (const argv of [['--help'], ['-h'], ['help']]) {
    const c = io();
    t.equal(await dispatch(argv, c, commands), 0, argv.join(' '));
    t.equal(c.stdout, topUsage(commands));
    t.equal(c.stderr, '');
    t.match(c.stdout, /^usage: hbone-sim <command> \[flags\]/);
    t.match(c.stdout, /\n {2}greet {2}say hello\n {2}serve {2}serve until a signal\n/);
  }
});

t.test('no command: the usage on stderr, exit 2', async (t) => {
  const c = io();
  t.equal(await dispatch([], c, table().commands), EXIT_USAGE);
  t.equal(c.stdout, '');
  t.match(c.stderr, /^usage: hbone-sim <command>/);
});

t.test('help <command> and <command> --help / -h: that command, exit 0, and it does not run', async (t) => {
  const { commands, calls } = table();
  const help = commandHelp(commands[0]);
  for (const argv of [
    ['help', 'greet'],
    ['greet', '--help'],
    ['greet', 'bob', '-h'],
    ['greet', '--loud', '--nonsense', '--help'],
  ]) {
    const c = io();
    t.equal(await dispatch(argv, c, commands), 0, argv.join(' '));
    t.equal(c.stdout, help, argv.join(' '));
  }
  t.same(calls, [], 'nothing ran');
  t.match(help, /^usage: hbone-sim greet <name> \[--loud\] \[--times <n>\]\n\nSays hello to a name\.\n\nflags:\n/);
  t.match(help, /\n {2}--loud {7}shout\n {2}--times <n> {2}how many times\n {2}-h, --help {3}show this help\n$/);
  const c = io();
  t.equal(await dispatch(['greet', '--', '--help'], c, commands), 0, 'after --, --help is an operand');
  t.same(calls[0].operands, ['--help']);
});

t.test('--version: package.json version on stdout, exit 0', async (t) => {
  const pkg = JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', 'package.json'), 'utf8')) as { version: string };
  t.equal(packageVersion(), pkg.version);
  const c = io();
  t.equal(await dispatch(['--version'], c, table().commands), 0);
  t.equal(c.stdout, `hbone-sim ${pkg.version}\n`);
});

t.test('an unknown command exits 2 naming the closest one, or listing them', async (t) => {
  const { commands } = table();
  let c = io();
  t.equal(await dispatch(['gret'], c, commands), EXIT_USAGE);
  t.equal(c.stderr, `hbone-sim: unknown command "gret"; did you mean greet?\nRun 'hbone-sim --help' for usage.\n`);
  c = io();
  t.equal(await dispatch(['help', 'srve'], c, commands), EXIT_USAGE, 'help <unknown> too');
  t.match(c.stderr, /did you mean serve\?/);
  c = io();
  t.equal(await dispatch(['xyzzy'], c, commands), EXIT_USAGE);
  t.match(c.stderr, /unknown command "xyzzy" \(commands: greet, serve\)/);
  t.equal(c.stdout, '');
});

t.test('an unknown flag before the command exits 2', async (t) => {
  const { commands } = table();
  let c = io();
  t.equal(await dispatch(['--verison'], c, commands), EXIT_USAGE);
  t.match(c.stderr, /^hbone-sim: unknown flag --verison; did you mean --version\?\n/);
  c = io();
  t.equal(await dispatch(['--loud', 'greet'], c, commands), EXIT_USAGE);
  t.match(c.stderr, /unknown flag --loud; a command comes first/);
});

t.test("a command's unknown flag exits 2 naming the closest flag, with its usage line", async (t) => {
  const { commands, calls } = table();
  const c = io();
  t.equal(await dispatch(['greet', 'bob', '--lod'], c, commands), EXIT_USAGE);
  t.equal(
    c.stderr,
    'hbone-sim greet: unknown flag --lod; did you mean --loud?\n' +
      'usage: hbone-sim greet <name> [--loud] [--times <n>]\n' +
      "Run 'hbone-sim help greet' for what each flag does.\n",
  );
  t.same(calls, [], 'it did not run');
});

t.test('operands and required flags are counted before run()', async (t) => {
  const { commands, calls } = table();
  const cases: Array<[string[], RegExp]> = [
    [['greet'], /^hbone-sim greet: missing <name>\n/],
    [['greet', 'a', 'b'], /^hbone-sim greet: unexpected argument "b"\n/],
    [['serve'], /^hbone-sim serve: missing --port <port>\nusage: hbone-sim serve --port <port>\n/],
    [['serve', 'x', '--port', '1'], /unexpected argument "x"/],
  ];
  for (const [argv, re] of cases) {
    const c = io();
    t.equal(await dispatch(argv, c, commands), EXIT_USAGE, argv.join(' '));
    t.match(c.stderr, re);
  }
  t.same(calls, []);
});

t.test('run() gets the parsed flags and operands; its code is the exit code', async (t) => {
  const { commands, calls } = table();
  t.equal(await dispatch(['greet', 'bob', '--loud', '--times=2'], io(), commands), 7);
  t.same(calls[0], { flags: { loud: true, times: '2' }, operands: ['bob'] });
  t.equal(await dispatch(['serve', '--port', '80'], io(), commands), KEEPS_RUNNING, 'a service keeps running');
});

t.test("run()'s usage and scenario errors exit 2; anything else is the caller's (exit 1 with a stack)", async (t) => {
  const { commands } = table();
  let c = io();
  t.equal(await dispatch(['greet', 'bob', '--times', 'bad'], c, commands), EXIT_USAGE);
  t.match(c.stderr, /^hbone-sim greet: --times needs a number\nusage: hbone-sim greet /);
  c = io();
  t.equal(await dispatch(['greet', 'bob', '--times', 'scenario'], c, commands), EXIT_USAGE);
  t.equal(c.stderr, 'x.yaml:3: nodes: bad\n', 'file:line: field: problem, and no usage: the file is wrong, not the command line');
  await t.rejects(dispatch(['greet', 'bob', '--times', 'crash'], io(), commands), /boom/);
});

t.test('npm kept a flag for itself (npm run scenario bookinfo --hold): a warning with the line that works', async (t) => {
  const { commands } = table();
  const c = io({ npm_lifecycle_event: 'greet', npm_config_loud: 'true' });
  t.equal(await dispatch(['greet', 'bob'], c, commands), 0, 'it still runs, as npm asked it to');
  t.equal(c.stderr, 'hbone-sim: npm kept --loud for itself and ran without it: npm passes on only what follows --. Run: npx hbone-sim greet bob --loud\n');
  // npm reads an unknown --times 3 as a boolean and passes 3 on as an argument: no whole line to give.
  const v = io({ npm_lifecycle_event: 'say', npm_config_loud: 'true', npm_config_times: 'true' });
  t.equal(await dispatch(['greet', 'bob'], v, commands), 0);
  t.equal(
    v.stderr,
    'hbone-sim: npm kept --loud, --times for itself and ran without them: npm passes on only what follows --. ' +
      'Run: npx hbone-sim greet <flags>, or npm run say -- <arguments>\n',
  );
  const outside = io({ npm_config_loud: 'true' });
  await dispatch(['greet', 'bob'], outside, commands);
  t.equal(outside.stderr, '', 'outside npm run, npm_config_* is not a kept flag');
});

t.test('the real commands: every one listed, every flag in its usage line and help', async (t) => {
  const names = COMMANDS.map((c) => c.name);
  t.same(names, [
    'scenario',
    'up',
    'apply',
    'delete',
    'get',
    'label',
    'scale',
    'exec',
    'port-forward',
    'trace',
    'logs',
    'x',
    'proxy-config',
    'istiod',
    'ztunnel',
    'waypoint',
    'gateway',
    'node',
    'app',
    'cert',
  ]);
  t.equal(new Set(names).size, names.length, 'unique names');
  const top = topUsage();
  for (const c of COMMANDS) {
    t.match(top, new RegExp(`\\n  ${c.name} +${c.summary.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\n`), `--help lists ${c.name}`);
    const help = commandHelp(c);
    for (const [flag, f] of Object.entries(c.flags)) {
      // kubectl's one-letter flags show as kubectl shows them (-f <file>); help shows both.
      t.match(usageLine(c), f.short ? new RegExp(`\\[?-${f.short}[ \\]]`) : `--${flag}`, `${c.name}'s usage line has ${f.short ? `-${f.short}` : `--${flag}`}`);
      t.match(help, `--${flag}`, `${c.name} --help has --${flag}`);
      t.ok(f.help.length > 0, `--${flag} says what it does`);
    }
  }
  t.equal(
    usageLine(COMMANDS[0]),
    'hbone-sim scenario <name|file.yaml> [--hold] [--json] [--verbose] [--ca-dir <dir>] [--backoff-scale <x>] [--page-port <port>] [--pod-processes] [--workers <N>]',
  );
  t.equal(
    usageLine(COMMANDS[14]),
    'hbone-sim ztunnel --scenario <name|file> --node <node> [--ca-dir <dir>] [--istiod <host:port>] [--no-pool] [--workers <N>]',
  );
  t.equal(usageLine(COMMANDS[2]), 'hbone-sim apply -f <file|dir|-> [--wait] [-n <ns>] [--mesh <name>]');
  t.equal(usageLine(COMMANDS[4]), 'hbone-sim get <resource> [name] [-n <ns>] [-A] [-o <wide|yaml|json>] [-l <selector>] [--mesh <name>]');
  t.match(commandHelp(COMMANDS[4]), / {2}-n, --namespace <ns> +the namespace \(default: default\)\n/);
});
