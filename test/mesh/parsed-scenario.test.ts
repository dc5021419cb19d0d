// The runner parses the scenario once and hands its parse down (src/mesh/parsed-scenario.ts): a
// child takes it only for the very text it reads from the very file, and parses the file itself
// otherwise (no parse handed down, the file changed, another file, the parse gone).
import t from 'tap';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadScenario, loadedDigest } from '../../src/mesh/load';
import { ENV_PARSED_SCENARIO, readParsedScenario, textDigest, writeParsedScenario } from '../../src/mesh/parsed-scenario';
import { BASE } from './fixtures/scenario-text';

t.test("a child loads the runner's parse of the same text, and parses the file otherwise", async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hbone-parsed-'));
  const saved = process.env[ENV_PARSED_SCENARIO];
  t.teardown(() => {
    if (saved === undefined) delete process.env[ENV_PARSED_SCENARIO];
    else process.env[ENV_PARSED_SCENARIO] = saved;
    fs.rmSync(dir, { recursive: true, force: true });
  });
  const file = path.join(dir, 't.yaml');
  fs.writeFileSync(file, BASE);
  delete process.env[ENV_PARSED_SCENARIO];
  const parsed = loadScenario(file);
  t.equal(loadedDigest(parsed), textDigest(BASE), 'the runner knows the digest of what it parsed');

  // The runner hands down a parse that differs from the file's in a way a test can see.
  const marked = { ...parsed, name: 'from-the-runner' };
  const cache = path.join(dir, 'scenario.json');
  writeParsedScenario(cache, marked, textDigest(BASE));
  t.equal(fs.statSync(cache).mode & 0o777, 0o600, 'owner-only');
  process.env[ENV_PARSED_SCENARIO] = cache;
  t.equal(loadScenario(file).name, 'from-the-runner', 'the same text: the runner parse is taken');

  fs.writeFileSync(file, BASE.replace('name: t', 'name: edited'));
  t.equal(loadScenario(file).name, 'edited', 'the file changed since: parsed again');

  const other = path.join(dir, 'other.yaml');
  fs.writeFileSync(other, BASE);
  t.equal(loadScenario(other).name, 't', 'the same text in another file: parsed (Scenario.file must name it)');

  fs.rmSync(cache);
  fs.writeFileSync(file, BASE);
  t.equal(loadScenario(file).name, 't', 'the parse is gone (the runner stopped): parsed');
  t.equal(readParsedScenario(file, textDigest(BASE), {}), undefined, 'nothing handed down: nothing read');
});
