// Log lines queued in one turn of the event loop reach stdout in one write, in order; lines still
// queued when the process exits are written before it goes.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { writeStdoutLine } from '../../src/telemetry/stdout-lines';

t.test('lines of one turn go out in one write, in order', async (t) => {
  const writes: string[] = [];
  let synchronous: number;
  const original = process.stdout.write.bind(process.stdout);
  // tap reports through this process's stdout too: keep only our lines' writes.
  process.stdout.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
    const text = String(chunk);
    if (text.startsWith('line ') || text.startsWith('later')) {
      writes.push(text);
      return true;
    }
    return (original as (c: string | Uint8Array, ...r: unknown[]) => boolean)(chunk, ...rest);
  }) as typeof process.stdout.write;
  try {
    for (let i = 0; i < 100; i++) writeStdoutLine(`line ${i}`);
    synchronous = writes.length;
    await new Promise((r) => setImmediate(r));
    writeStdoutLine('later');
    await new Promise((r) => setImmediate(r));
  } finally {
    process.stdout.write = original;
  }
  t.equal(synchronous, 0, 'nothing written synchronously');
  t.equal(writes.length, 2, 'one write per turn');
  t.equal(writes[0], Array.from({ length: 100 }, (_, i) => `line ${i}\n`).join(''));
  t.equal(writes[1], 'later\n');
});

t.test('a line queued just before exit is still written', async (t) => {
  const module = path.resolve(__dirname, '..', '..', 'dist', 'src', 'telemetry', 'stdout-lines.js');
  const r = spawnSync(
    process.execPath,
    ['-e', `const { writeStdoutLine } = require(${JSON.stringify(module)}); writeStdoutLine('first'); writeStdoutLine('last'); process.exit(0);`],
    { encoding: 'utf8' },
  );
  t.equal(r.status, 0);
  t.equal(r.stdout, 'first\nlast\n');
});

t.test('a reader that falls behind costs the writer at most MAX_PENDING_BYTES: later lines are dropped and counted', async (t) => {
  const module = path.resolve(__dirname, '..', '..', 'dist', 'src', 'telemetry', 'stdout-lines.js');
  // 40 MB of lines over 200 turns while nobody reads; then the child reports what it holds.
  const script = `
    const { writeStdoutLine, droppedLines, stdoutDrained, MAX_PENDING_BYTES } = require(${JSON.stringify(module)});
    const line = 'y'.repeat(999);
    let turn = 0;
    const tick = () => {
      for (let i = 0; i < 200; i++) writeStdoutLine(line);
      if (++turn < 200) return setImmediate(tick);
      setImmediate(() => {
        process.stderr.write(JSON.stringify({ pending: process.stdout.writableLength, dropped: droppedLines(), max: MAX_PENDING_BYTES }) + '\\n');
        stdoutDrained(10000).then(() => process.exit(0));
      });
    };
    tick();`;
  const { spawn } = await import('node:child_process');
  const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout.pause();
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d));
  let stdoutBytes = 0;
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  // Start reading only once the child has reported.
  const reported = new Promise<void>((r) => {
    const poll = setInterval(() => {
      if (stderr.includes('"pending"')) {
        clearInterval(poll);
        r();
      }
    }, 20);
  });
  await reported;
  child.stdout.on('data', (d: Buffer) => (stdoutBytes += d.length));
  child.stdout.resume();
  t.equal(await exited, 0);
  const report = JSON.parse(stderr.split('\n').find((l) => l.startsWith('{'))!) as { pending: number; dropped: number; max: number };
  t.ok(report.pending <= report.max + 200_000, `the writer held ${report.pending} bytes for the reader, at most about ${report.max}`);
  t.ok(report.dropped > 0, `${report.dropped} lines dropped rather than held`);
  t.match(stderr, /dropped \d+ log lines: stdout is not read as fast as they are written/, 'the drop is reported on stderr at exit');
  t.ok(stdoutBytes >= report.pending && stdoutBytes <= report.max + 400_000, `the reader got every line kept (${stdoutBytes} bytes) before the exit`);
  t.equal(stdoutBytes % 1000, 0, 'whole lines only');
});
