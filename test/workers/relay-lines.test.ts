// A worker's output reaches the runner through its primary whole lines at a time: two workers
// writing to one pipe must never interleave inside a trace record.
import t from 'tap';
import { PassThrough, Writable } from 'node:stream';
import { relayLines } from '../../src/workers/primary';

function collector(): { writes: string[]; stream: Writable } {
  const writes: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      writes.push(chunk.toString());
      done();
    },
  });
  return { writes, stream };
}

const tick = () => new Promise((r) => setImmediate(r));

t.test('a line split over reads is passed on once it ends', async (t) => {
  const from = new PassThrough();
  const { writes, stream } = collector();
  relayLines(from, stream);
  from.write('{"trace":1}\n{"tra');
  from.write('ce":2}');
  from.write('\n{"trace":3}\n');
  await tick();
  t.same(writes, ['{"trace":1}\n', '{"trace":2}\n{"trace":3}\n']);
  t.ok(
    writes.every((w) => w.endsWith('\n')),
    'every write ends a line',
  );
});

t.test('two workers into one output: every line arrives whole', async (t) => {
  const a = new PassThrough();
  const b = new PassThrough();
  const { writes, stream } = collector();
  relayLines(a, stream);
  relayLines(b, stream);
  for (let i = 0; i < 50; i++) {
    const line = `{"worker":"a","i":${i},"pad":"${'x'.repeat(i * 37)}"}\n`;
    const other = `{"worker":"b","i":${i}}\n`;
    // Cut each line at an arbitrary point, and let the other worker write in between.
    const cut = (i * 13) % line.length;
    a.write(line.slice(0, cut));
    b.write(other);
    a.write(line.slice(cut));
  }
  await tick();
  const lines = writes.join('').split('\n').filter(Boolean);
  t.equal(lines.length, 100);
  t.ok(
    lines.every((l) => JSON.parse(l) !== undefined),
    'each line parses alone',
  );
});

t.test('what is left at the end is passed on, as a line of its own', async (t) => {
  const from = new PassThrough();
  const { writes, stream } = collector();
  relayLines(from, stream);
  from.end('no newline');
  await tick();
  t.same(writes.join(''), 'no newline\n');
});
