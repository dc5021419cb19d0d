// The lock test files take before starting a bundled scenario (fixed addresses): one holder at a
// time, a waiter gets it once the holder releases it or dies. Tested under a name of its own:
// other files hold the real lock while this one runs.
import t from 'tap';
import { spawn } from 'node:child_process';
import { acquireBundledScenarioLock as acquireReal } from '../fixtures/bundled-scenario-lock';

const NAME = `\0hbone-sim-bundled-scenarios-lock-test-${process.pid}`;
const acquireBundledScenarioLock = (waitMs: number) => acquireReal(waitMs, NAME);

t.test('one holder at a time; released, it can be taken again', async (t) => {
  const release = await acquireBundledScenarioLock(1000);
  await t.rejects(acquireBundledScenarioLock(300), /held the bundled scenarios' addresses for more than 300 ms/, 'a second taker waits, then gives up');
  const waiting = acquireBundledScenarioLock(5000);
  await new Promise((r) => setTimeout(r, 300));
  await release();
  const again = await waiting;
  t.pass('the waiter got it once released');
  await again();
});

t.test('a holder that dies frees it (no stale lock)', async (t) => {
  // A process that takes the same abstract-namespace name and is then killed.
  const child = spawn(process.execPath, ['-e', `require('net').createServer().listen({ path: ${JSON.stringify(NAME)} }, () => console.log('held'))`], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, NODE_OPTIONS: '' },
  });
  await new Promise<void>((resolve) => child.stdout!.once('data', () => resolve()));
  await t.rejects(acquireBundledScenarioLock(300), /more than 300 ms/, 'held by the other process');
  child.kill('SIGKILL');
  const release = await acquireBundledScenarioLock(5000);
  t.pass('taken once its holder died');
  await release();
});
