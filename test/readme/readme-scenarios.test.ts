// Every command line README.md shows, run as a newcomer runs it: in a fresh clone (no
// node_modules, no dist, no CA), in the README's order, starting with `npm ci && npm run scenario
// bookinfo`. A line runs to exit 0; a --hold line runs until its mesh is up, is stopped by Ctrl-C
// (SIGINT to its process group) and exits 130. No process it started may be left afterwards. The
// bench lines run in readme-bench.test.ts; readme-lines.test.ts proves every line has a rule.
// The bundled scenarios use bookinfo's fixed addresses: their lines hold the bundled-scenario
// lock, wait for the addresses to be free, and retry when something else took one meanwhile.
import t, { Test } from 'tap';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { REPO, readmeCommands, ruleFor, Rule } from './fixtures/readme';
import { freshClone, inScratch, processesLeft, runLine, LineRun } from './fixtures/run-line';
import { acquireBundledScenarioLock } from '../fixtures/bundled-scenario-lock';
import { liveListeners, listenersOf, Listener } from '../runner/fixtures/cli';
import { loadScenario } from '../../src/mesh/load';
import { levelFor, parseLogFilter } from '../../src/telemetry/log';

/** npm ci from the cache, then a full build (prepare), then bookinfo: about 40 s on a quiet 2-core machine. */
const FIRST_LINE_MS = 300_000;
const LINE_MS = 120_000;
const STOP_MS = 30_000;
/** Children on their way out after the line's own process exited. */
const LEFTOVER_MS = 5_000;
const ADDRESS_RETRIES = 5;
const ADDRESS_RETRY_PAUSE_MS = 3_000;
const BUNDLED = ['bookinfo', 'bookinfo-l4', 'bookinfo-ambient', 'echo'];
/** The README's first line: a fresh clone's install, then the rest. */
const NPM_CI_FIRST = /^npm ci\s*&&\s*/;
/** A line that starts a bundled scenario's mesh (not `help scenario`). */
const STARTS_BUNDLED = new RegExp(`\\bscenario\\s+(--\\s+)?(${BUNDLED.join('|')})(\\s|$)`);

t.setTimeout(FIRST_LINE_MS + 10 * LINE_MS);

const bundledListeners: Listener[] = BUNDLED.flatMap((s) => listenersOf(loadScenario(s)));
const lines = readmeCommands()
  .map((c) => ({ ...c, rule: ruleFor(c.text) }))
  .filter((c): c is typeof c & { rule: Rule } => c.rule?.file === 'scenarios' && c.rule.how !== 'parse');

const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'hbone-readme-'));
const clone = path.join(scratch, 'clone');
freshClone(REPO, clone);
const running = new Set<LineRun>();
t.teardown(() => {
  for (const r of running) r.kill();
  fs.rmSync(scratch, { recursive: true, force: true });
});

/** npm installs from its cache when it can (CI's own npm ci filled it), quietly. */
const NPM_ENV = { npm_config_prefer_offline: 'true', npm_config_audit: 'false', npm_config_fund: 'false', npm_config_update_notifier: 'false' };

async function waitForFreeAddresses(timeoutMs: number): Promise<string[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const live = await liveListeners(bundledListeners);
    if (live.length === 0 || Date.now() > deadline) return live;
    await new Promise((r) => setTimeout(r, 500));
  }
}

/** Runs the line as its rule says; resolves with its exit code and output. */
async function runOnce(t: Test, command: string, rule: Rule, timeoutMs: number): Promise<{ code: number; output: string }> {
  const started = Date.now();
  // Its own ~/.hbone-sim: a mesh another test holds must not be the one `cert` asks.
  const run = runLine(command, clone, { ...NPM_ENV, HBONE_SIM_HOME: path.join(scratch, 'hbone-sim-home') });
  running.add(run);
  try {
    if (rule.how === 'hold' || rule.how === 'start-stop') {
      await run.waitFor(rule.upWhen!, timeoutMs);
      const up = Date.now();
      run.signal('SIGINT');
      const code = await run.waitExit(STOP_MS);
      t.comment(`up after ${up - started} ms; Ctrl-C, exit ${code} after ${Date.now() - up} ms`);
      return { code, output: run.output() };
    }
    const code = await run.waitExit(timeoutMs);
    t.comment(`exit ${code} after ${Date.now() - started} ms`);
    return { code, output: run.output() };
  } catch (err) {
    run.kill();
    // A mesh that could not bind its addresses exits before it is up: the caller retries.
    if (/EADDRINUSE/.test(run.output())) return { code: -1, output: run.output() };
    throw err;
  } finally {
    running.delete(run);
  }
}

/** Every log line in the output is one HBONE_LOG lets through, and it let through one the default level would hide. */
function checkLogFilter(t: Test, spec: string, output: string): void {
  const filter = parseLogFilter(spec);
  const rank = { off: 0, error: 1, warn: 2, info: 3, debug: 4 } as const;
  const logged = [...output.matchAll(/\t(error|warn|info|debug)\t([^\t\s]+)\t/g)].map((m) => ({ level: m[1] as keyof typeof rank, target: m[2] }));
  t.ok(logged.length > 0, 'the processes logged');
  const outside = logged.filter((l) => rank[l.level] > rank[levelFor(filter, l.target)]);
  t.same(outside, [], `every log line passes HBONE_LOG=${spec}`);
  t.ok(
    logged.some((l) => rank[l.level] > rank[filter.defaultLevel]),
    `a target=level pair let through what the default (${filter.defaultLevel}) hides`,
  );
}

for (const [i, line] of lines.entries()) {
  t.test(`README.md:${line.line}: ${line.text}`, async (t) => {
    let command = inScratch(line.rule.asRun ? line.rule.asRun(line.text) : line.text, scratch);
    if (line.rule.reason) t.comment(`run as \`${command}\`: ${line.rule.reason}`);
    else if (command !== line.text) t.comment(`run as \`${command}\` (the README's /tmp/ is the test's scratch directory)`);
    const timeoutMs = i === 0 ? FIRST_LINE_MS : LINE_MS;
    if (NPM_CI_FIRST.test(command)) {
      // `npm ci && X` in two steps, as && runs it, to check the README's promise in between.
      const ci = await runOnce(t, 'npm ci', line.rule, FIRST_LINE_MS);
      if (!t.equal(ci.code, 0, 'npm ci', { output: ci.output.slice(-8000) })) return;
      const version = await runOnce(t, 'npx hbone-sim --version', line.rule, LINE_MS);
      t.match(version.output, /^hbone-sim \d+\.\d+\.\d+$/m, 'npx hbone-sim works right after npm ci (prepare built it)', { output: version.output });
      command = command.replace(NPM_CI_FIRST, '');
    }
    const bundled = STARTS_BUNDLED.test(command);
    const release = bundled ? await acquireBundledScenarioLock() : undefined;
    let result: { code: number; output: string };
    try {
      for (let attempt = 1; ; attempt++) {
        if (bundled) {
          const busy = await waitForFreeAddresses(LINE_MS);
          if (!t.same(busy, [], "the bundled scenarios' addresses are free (someone else's mesh is up?)")) return;
        }
        result = await runOnce(t, command, line.rule, timeoutMs);
        if (result.code !== -1) break;
        if (attempt >= ADDRESS_RETRIES) return void t.fail(`an address stayed in use over ${ADDRESS_RETRIES} attempts`, { output: result.output });
        t.comment(`an address was in use (attempt ${attempt}); waiting ${ADDRESS_RETRY_PAUSE_MS} ms and retrying`);
        await new Promise((r) => setTimeout(r, ADDRESS_RETRY_PAUSE_MS));
      }
      t.equal(result.code, line.rule.exitCode, `exit ${line.rule.exitCode}`, { output: result.output.slice(-8000) });
      // Every process a line starts names the clone's path; with none left, none of its listeners
      // is either (whoever listens on bookinfo's addresses next is someone else's mesh).
      t.same(await processesLeft(clone, LEFTOVER_MS), [], 'no process it started is left');
    } finally {
      await release?.();
    }

    // What particular lines promise, beyond exit 0.
    const logSpec = /^HBONE_LOG=(\S+)\s/.exec(command);
    if (logSpec) checkLogFilter(t, logSpec[1], result.output);
    const keyLog = /^SSLKEYLOGFILE=(\S+)\s/.exec(command);
    if (keyLog) t.match(fs.readFileSync(keyLog[1], 'utf8'), /^CLIENT_TRAFFIC_SECRET_0 [0-9a-f]+ [0-9a-f]+$/m, 'the key log has TLS 1.3 secrets for Wireshark');
    const certOut = /\scert\s.*--out\s+(\S+)/.exec(command);
    if (certOut) for (const f of ['cert-chain.pem', 'key.pem', 'root-cert.pem']) t.ok(fs.existsSync(path.join(certOut[1], f)), `${f} written`);
    if (i === 0) t.match(result.output, /(\d+) of \1 expectations held/, 'every expectation of bookinfo held');
    if (/\bhelp\b|--help/.test(command)) t.match(result.output, /^usage: hbone-sim /m, 'usage printed');
  });
}
