// Log lines queued in one turn of the event loop reach stdout in one write, in order; lines still
// queued when the process exits are written before it goes.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { writeStdoutLine } from '../../src/telemetry/stdout-lines';

t.test('lines of one turn go out in one write, in order', async (t) => {
  const writes: string[] = [];
  let synchronous = -1;
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
  const r = spawnSync(process.execPath, ['-e', `const { writeStdoutLine } = require(${JSON.stringify(module)}); writeStdoutLine('first'); writeStdoutLine('last'); process.exit(0);`], { encoding: 'utf8' });
  t.equal(r.status, 0);
  t.equal(r.stdout, 'first\nlast\n');
});
