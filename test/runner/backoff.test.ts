// The kubelet's container restart back-off, step by step (no processes): the first restart does
// not wait, then 10 s doubling to the 5 min cap, counted from the exit, and back to an immediate
// restart once a container ran longer than 10 min since its last restart.
import t from 'tap';
import { CrashLoopBackOff, KUBELET_BACKOFF, kubeDuration, scaledBackOff } from '../../src/runner/backoff';

const S = 1000;

/** The last restart's time, per back-off, so that waits() called again continues the story. */
const clocks = new WeakMap<CrashLoopBackOff, number>();

/** Crashes `n` times, each `ranMs` after its restart; returns the wait before each restart. */
function waits(b: CrashLoopBackOff, n: number, ranMs: number): number[] {
  const out: number[] = [];
  let now = clocks.get(b) ?? 0;
  for (let i = 0; i < n; i++) {
    now += ranMs; // the container runs, then exits
    const delay = b.delayAfterExit(now);
    out.push(delay);
    const exitAt = now;
    now += delay; // the restart happens after the wait
    b.restarted(exitAt, now);
  }
  clocks.set(b, now);
  return out;
}

t.test("kubelet's defaults: 10 s, x2, capped at 300 s; reset after 600 s", async (t) => {
  t.same(KUBELET_BACKOFF, { initialMs: 10 * S, maxMs: 300 * S, resetAfterMs: 600 * S });
});

t.test('a container that keeps crashing: 0, 10, 20, 40, 80, 160, 300, 300 s', async (t) => {
  const b = new CrashLoopBackOff();
  t.same(
    waits(b, 8, 1 * S),
    [0, 10, 20, 40, 80, 160, 300, 300].map((s) => s * S),
  );
});

t.test('the first restart does not wait, whatever the timings', async (t) => {
  t.equal(new CrashLoopBackOff().delayAfterExit(123_456), 0);
  t.equal(new CrashLoopBackOff(scaledBackOff(100)).delayAfterExit(5), 0);
});

t.test('current: the back-off the next quick exit would wait', async (t) => {
  const b = new CrashLoopBackOff();
  t.equal(b.current, 0, 'nothing before the first restart');
  b.restarted(0, 0);
  t.equal(b.current, 10 * S);
  b.restarted(1 * S, 11 * S);
  t.equal(b.current, 20 * S);
});

t.test('ran fine for longer than 10 min since its last restart: the back-off starts over', async (t) => {
  const b = new CrashLoopBackOff();
  t.same(
    waits(b, 4, 1 * S),
    [0, 10, 20, 40].map((s) => s * S),
    'into the back-off',
  );
  // Restarts at 1 s, 12 s and 33 s; 600 s exactly is not past the window (the kubelet compares with >).
  const c = new CrashLoopBackOff();
  waits(c, 3, 1 * S);
  const lastRestart = 33 * S;
  t.equal(c.delayAfterExit(lastRestart + 600 * S), 40 * S, 'an exit 600 s after the last restart still waits');
  t.equal(c.delayAfterExit(lastRestart + 600 * S + 1), 0, 'one past 600 s: restarted at once');
  t.same(waits(b, 3, 601 * S), [0, 0, 0], 'each run longer than the window restarts at once');
  t.same(
    waits(b, 3, 1 * S),
    [10, 20, 40].map((s) => s * S),
    'and a quick crash after that starts from 10 s again',
  );
});

t.test('the wait counts from the exit: the delay is the whole back-off, then restarted() moves on', async (t) => {
  const b = new CrashLoopBackOff();
  b.restarted(0, 0); // first restart at 0
  t.equal(b.delayAfterExit(5 * S), 10 * S);
  b.restarted(5 * S, 15 * S);
  t.equal(b.delayAfterExit(16 * S), 20 * S);
});

t.test('scaled timings keep the shape', async (t) => {
  const fast = scaledBackOff(0.01);
  t.same(fast, { initialMs: 100, maxMs: 3000, resetAfterMs: 6000 });
  t.same(waits(new CrashLoopBackOff(fast), 8, 10), [0, 100, 200, 400, 800, 1600, 3000, 3000]);
  t.throws(() => scaledBackOff(0), RangeError);
  t.throws(() => scaledBackOff(-1), RangeError);
  t.throws(() => scaledBackOff(Number.NaN), RangeError);
});

t.test('durations as kubectl prints them', async (t) => {
  t.equal(kubeDuration(100), '100ms');
  t.equal(kubeDuration(10_000), '10s');
  t.equal(kubeDuration(1600), '1.6s');
  t.equal(kubeDuration(160_000), '2m40s');
  t.equal(kubeDuration(300_000), '5m0s');
});
