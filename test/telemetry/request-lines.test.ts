// Whether a proxy writes its trace records and access log: HBONE_REQUEST_LINES and the runner's
// messages (src/telemetry/request-lines.ts).
import t from 'tap';
import * as path from 'node:path';
import { spawn } from 'node:child_process';
import {
  ENV_REQUEST_LINES,
  formatRequestLines,
  isRequestLinesMessage,
  parseRequestLines,
  REQUEST_LINES_MESSAGE,
  RequestLines,
} from '../../src/telemetry/request-lines';
import { TraceLog } from '../../src/telemetry/trace';
import { WaypointAccessLog } from '../../src/waypoint/access-log';

t.test('the variable: unset means both, as a proxy started by hand writes them', async (t) => {
  t.same(parseRequestLines(undefined), { trace: true, accessLog: true });
  t.same(parseRequestLines(''), { trace: true, accessLog: true });
  t.same(parseRequestLines('none'), { trace: false, accessLog: false });
  t.same(parseRequestLines('trace'), { trace: true, accessLog: false });
  t.same(parseRequestLines(' access-log , TRACE '), { trace: true, accessLog: true });
  t.same(parseRequestLines('nonsense'), { trace: false, accessLog: false }, 'words it does not know turn nothing on');
  for (const r of [
    { trace: false, accessLog: false },
    { trace: true, accessLog: false },
    { trace: false, accessLog: true },
    { trace: true, accessLog: true },
  ])
    t.same(parseRequestLines(formatRequestLines(r)), r, `${formatRequestLines(r)} reads back`);
});

t.test('the runner message', async (t) => {
  t.ok(isRequestLinesMessage({ kind: REQUEST_LINES_MESSAGE, trace: true, accessLog: false }));
  t.notOk(isRequestLinesMessage({ kind: REQUEST_LINES_MESSAGE, trace: 'yes', accessLog: false }));
  t.notOk(isRequestLinesMessage({ kind: 'hbone-sim/config', trace: true, accessLog: true }));
  t.notOk(isRequestLinesMessage(null));
  const lines = new RequestLines({ trace: false, accessLog: false });
  lines.set({ trace: true, accessLog: false });
  t.same({ trace: lines.trace, accessLog: lines.accessLog }, { trace: true, accessLog: false });
});

t.test('the trace log and the access log follow the switch', async (t) => {
  const lines = new RequestLines({ trace: false, accessLog: false });
  const traces = new TraceLog(
    () => undefined,
    () => lines.trace,
  );
  const log = new WaypointAccessLog({ sink: () => undefined, enabled: () => lines.accessLog });
  t.equal(traces.enabled(), false);
  t.equal(log.enabled(), false);
  lines.set({ trace: true, accessLog: true });
  t.equal(traces.enabled(), true);
  t.equal(log.enabled(), true);
  t.equal(new TraceLog(() => undefined).enabled(), true, 'on unless told otherwise');
  t.equal(new WaypointAccessLog({ sink: () => undefined }).enabled(), true);
});

t.test("a proxy process follows the runner's messages after its variable", async (t) => {
  // A child as the runner spawns a proxy: an IPC channel and the variable; it answers 'ask' with its switch.
  const lib = path.resolve(__dirname, '..', '..', 'dist', 'src', 'telemetry', 'request-lines.js');
  const script = `const l = require(${JSON.stringify(lib)}).processRequestLines();
process.on('message', (m) => { if (m === 'ask') process.send({ trace: l.trace, accessLog: l.accessLog }); if (m === 'bye') process.disconnect(); });
process.send('ready');`;
  const child = spawn(process.execPath, ['-e', script], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    env: { ...process.env, [ENV_REQUEST_LINES]: 'none' },
  });
  const replies: unknown[] = [];
  const next = () => new Promise<unknown>((resolve) => child.once('message', resolve));
  t.equal(await next(), 'ready');
  const ask = async () => {
    const reply = next();
    child.send('ask');
    replies.push(await reply);
    return replies.at(-1);
  };
  t.same(await ask(), { trace: false, accessLog: false }, 'the variable first');
  child.send({ kind: REQUEST_LINES_MESSAGE, trace: true, accessLog: false });
  t.same(await ask(), { trace: true, accessLog: false }, 'then the message');
  child.send({ kind: 'hbone-sim/config', trace: false, accessLog: true });
  t.same(await ask(), { trace: true, accessLog: false }, 'another kind of message changes nothing');
  child.send('bye');
  await new Promise((resolve) => child.once('exit', resolve));
});
