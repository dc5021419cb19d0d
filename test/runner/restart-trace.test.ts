// What a request's hop-by-hop trace says about restarts on its path (no processes): an exit
// during the request reset its connections, a process down when the request was sent fails new
// ones until ready, a recent restart means the request went through the new process. And the
// runner's event history stays bounded however often children die.
import t from 'tap';
import { restartNotes, downNote, traceNotes, RECENT_RESTART_MS } from '../../src/runner/restart-trace';
import { RestartEvent, RestartEventKind, RestartLog, containerExitCode, restartMessage } from '../../src/runner/restart-events';

function ev(kind: RestartEventKind, child: string, at: number, fields: Partial<RestartEvent> = {}): RestartEvent {
  const base = { kind, child, container: 'istio-proxy', at, time: new Date(0).toISOString(), restarts: 1, ...fields };
  return { ...base, message: restartMessage(base) };
}

const killed = { exitCode: 137, signal: 'SIGKILL', reason: 'Error' as const, wasReady: true, ranMs: 5000 };
const all = (): boolean => true;

t.test('an exit during the request: its connections were reset', async (t) => {
  const notes = restartNotes([ev('Terminated', 'ztunnel-node-b', 1050, killed)], { started: 1000, finished: 1200 }, all);
  t.same(notes, ['⚠ ztunnel-node-b exited during this request (Reason: Error, Exit Code: 137 (SIGKILL)): connections through it were reset']);
});

t.test('down when the request was sent, in back-off: new connections fail until ready', async (t) => {
  const events = [ev('Terminated', 'waypoint', 900, killed), ev('BackOff', 'waypoint', 901, { backOffMs: 10_000 })];
  const [note] = restartNotes(events, { started: 1000, finished: 1100 }, all);
  t.match(
    note,
    /^⚠ waypoint was down when this request was sent \(in CrashLoopBackOff, exited 100ms before\): new connections through it fail until it is ready again$/,
  );
});

t.test('ready again during the request: said so', async (t) => {
  const events = [ev('Terminated', 'waypoint', 900, killed), ev('Started', 'waypoint', 901), ev('Ready', 'waypoint', 1300, { readyAfterMs: 400 })];
  const [note] = restartNotes(events, { started: 1000, finished: 1500 }, all);
  t.match(note, /restarting, not ready yet.*; it was ready again 300ms into the request$/);
});

t.test('restarted shortly before: the request went through the new process', async (t) => {
  const events = [ev('Terminated', 'productpage', 100, killed), ev('Started', 'productpage', 101), ev('Ready', 'productpage', 400, { readyAfterMs: 300 })];
  const [note] = restartNotes(events, { started: 2100, finished: 2200 }, all);
  t.equal(
    note,
    'productpage was restarted 2s before this request (RESTARTS 1, ready again 300ms after it exited): connections through the old process were reset, this one went through the new process',
  );
});

t.test('not on the path, or long before: nothing', async (t) => {
  const events = [ev('Terminated', 'ztunnel-node-c', 1050, killed)];
  t.same(
    restartNotes(events, { started: 1000, finished: 1200 }, (c) => c !== 'ztunnel-node-c'),
    [],
    'another node',
  );
  const old = [ev('Terminated', 'ztunnel-node-b', 0, killed), ev('Ready', 'ztunnel-node-b', 10, { readyAfterMs: 10 })];
  t.same(restartNotes(old, { started: RECENT_RESTART_MS + 100, finished: RECENT_RESTART_MS + 200 }, all), [], `more than ${RECENT_RESTART_MS} ms before`);
  t.same(restartNotes([ev('Terminated', 'x', 5000, killed)], { started: 1000, finished: 1200 }, all), [], 'after the request');
});

t.test('a process down for good shows in the trace without a recent exit', async (t) => {
  t.equal(downNote('productpage', 'GaveUp'), '⚠ productpage is down for good (the runner gave up on it): connections through it fail');
  t.match(downNote('productpage', 'CrashLoopBackOff'), /in CrashLoopBackOff/);
  t.equal(downNote('productpage', 'Running'), undefined);
  t.equal(downNote('productpage', undefined), undefined);
});

t.test('exit codes as a container runtime reports them', async (t) => {
  t.equal(containerExitCode(null, 'SIGKILL'), 137);
  t.equal(containerExitCode(null, 'SIGTERM'), 143);
  t.equal(containerExitCode(1, null), 1);
  t.equal(containerExitCode(0, null), 0);
});

t.test('the event history is a ring: bounded however many restarts', async (t) => {
  const log = new RestartLog(50);
  for (let i = 0; i < 10_000; i++) log.add(ev('Terminated', 'ztunnel-node-b', i, killed));
  t.equal(log.size, 50, 'only the last 50 are kept');
  t.equal(log.total, 10_000, 'while the total is still counted');
  t.equal(log.all()[0].at, 9950, 'the oldest kept is the 50th from the end');
  t.same(
    log.since(9990).map((e) => e.at),
    [9990, 9991, 9992, 9993, 9994, 9995, 9996, 9997, 9998, 9999],
  );
});

t.test('traceNotes: a process on the path that is down without a recent exit gets its status line', async (t) => {
  const events = [ev('Terminated', 'waypoint', 1050, killed)];
  const status = (c: string) => (c === 'productpage' ? ('GaveUp' as const) : c === 'waypoint' ? ('NotReady' as const) : ('Running' as const));
  const notes = traceNotes(events, { started: 1000, finished: 1200 }, ['waypoint', 'productpage', 'ztunnel-node-c'], (c) => c !== 'ztunnel-node-c', status);
  t.same(
    notes,
    [
      '⚠ waypoint exited during this request (Reason: Error, Exit Code: 137 (SIGKILL)): connections through it were reset',
      '⚠ productpage is down for good (the runner gave up on it): connections through it fail',
    ],
    'one line per process: its exit if recent, else its status; none off the path',
  );
});
