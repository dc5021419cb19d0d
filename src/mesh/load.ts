// Loads a scenario file into the model (model.ts), or throws a ScenarioError listing every
// problem as file:line: field: what is wrong. Parsing and checking, and the manifest files a
// scenario includes (scenario-manifests.ts): nothing here resolves a name or touches the network.
import { enrolledNamespaces } from './enrollment';
import { withManifests } from './scenario-manifests';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Scenario } from './model';
import { Entry } from './entry';
import { ScenarioDraft, readScenario } from './read-scenario';
import { checkScenario } from './scenario-checks';
import { ScenarioError, ScenarioProblem } from './scenario-error';
import { Field, Problems, Source, lineOf } from './yaml-fields';
import { parseYaml } from './yaml-document';
import { MAX_SCENARIO_BYTES } from './limits';
import { checkListLimits, fileSizeProblem } from './scenario-limits';
import { errorMessage } from '../error-message';
import { readParsedScenario, textDigest } from './parsed-scenario';

export { ScenarioError } from './scenario-error';
export type { ScenarioProblem } from './scenario-error';

export const SCENARIO_DIR = 'scenarios';
export const SCENARIO_EXT = '.yaml';
// A bare word (bookinfo) names a bundled scenario; anything path-like is a file.
const SCENARIO_NAME_RE = /^[a-z0-9][a-z0-9-]*$/;

/** Parses and checks scenario text; `file` is how messages and origins name it. */
export function parseScenario(text: string, file: string): Scenario {
  const problems = new Problems(file);
  // Syntax and the parser's bounds first: the tree of a broken document is not worth checking.
  const yaml = parseYaml(text);
  if (!yaml.ok) {
    for (const p of yaml.problems) problems.add({ path: '', line: yaml.lines.linePos(p.offset).line }, p.message);
    throw new ScenarioError(sorted(problems.list));
  }
  const { doc, lines, aliases } = yaml.parsed;
  const source: Source = { lines, aliases, problems };
  const root = new Field(source, doc.contents, '', lineOf(source, doc.contents, 1));
  if (root.describe() === 'empty') {
    problems.add(root.site, 'the file is empty; a scenario needs at least name:, nodes: and workloads:');
    throw new ScenarioError(problems.list);
  }
  if (checkListLimits(root)) throw new ScenarioError(sorted(problems.list));
  const draft = readScenario(root, file);
  checkScenario(draft, problems);
  if (problems.list.length > 0) throw new ScenarioError(sorted(problems.list));
  const scenario = complete(draft, file);
  return draft.manifests.length > 0 ? withManifests(scenario, draft.manifests, file) : scenario;
}

/**
 * Loads `bookinfo` (a scenario bundled in <repo>/scenarios) or a path to a .yaml file.
 * Messages name the file relative to the working directory; Scenario.file is absolute, so
 * every process that is handed it loads the same file.
 */
export function loadScenario(fileOrName: string): Scenario {
  const file = resolveScenarioFile(fileOrName);
  let text: string;
  try {
    text = readBounded(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = err instanceof TooBig ? err.message : code === 'ENOENT' ? notFound(fileOrName, file) : errorMessage(err);
    throw new ScenarioError([{ file: displayPath(file), path: '', message: why }]);
  }
  const sha256 = textDigest(text);
  // Under the runner: its parse of this very text, if it handed one down (parsed-scenario.ts).
  const scenario = readParsedScenario(file, sha256) ?? { ...parseScenario(text, displayPath(file)), file };
  digests.set(scenario, sha256);
  return scenario;
}

/** The digest of the text each loaded scenario was read from. */
const digests = new WeakMap<Scenario, string>();

/** SHA-256 of the text `scenario` was loaded from (loadScenario's), for handing its parse down. */
export function loadedDigest(scenario: Scenario): string | undefined {
  return digests.get(scenario);
}

class TooBig extends Error {}

/**
 * The file's text, refused by its size before it is read: a regular file no larger than
 * MAX_SCENARIO_BYTES, and read no further than that even if it grows meanwhile (a FIFO or
 * /dev/zero would never end).
 */
function readBounded(file: string): string {
  const fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
  try {
    const stat = fs.fstatSync(fd);
    if (!stat.isFile()) throw new TooBig(`not a regular file${stat.isDirectory() ? ' (a directory)' : ''}; a scenario is a .yaml file`);
    const big = fileSizeProblem(stat.size);
    if (big) throw new TooBig(big);
    const buf = Buffer.alloc(MAX_SCENARIO_BYTES + 1);
    let length = 0;
    for (let n = -1; n !== 0 && length < buf.length; length += n) n = fs.readSync(fd, buf, length, buf.length - length, null);
    const grown = fileSizeProblem(length, true);
    if (grown) throw new TooBig(grown);
    return buf.toString('utf8', 0, length);
  } finally {
    fs.closeSync(fd);
  }
}

export function resolveScenarioFile(fileOrName: string): string {
  if (SCENARIO_NAME_RE.test(fileOrName) && !fs.existsSync(fileOrName)) {
    return path.join(repoRoot(), SCENARIO_DIR, fileOrName + SCENARIO_EXT);
  }
  return path.resolve(fileOrName);
}

/** The bundled scenario names, e.g. ['bookinfo', 'echo']. */
export function bundledScenarios(): string[] {
  const dir = path.join(repoRoot(), SCENARIO_DIR);
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith(SCENARIO_EXT))
    .map((f) => f.slice(0, -SCENARIO_EXT.length))
    .sort();
}

/**
 * The directory holding package.json. This file runs from src/mesh under ts-node and from
 * dist/src/mesh once built, so walk up rather than count levels.
 */
export function repoRoot(from: string = __dirname): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, 'package.json'))) return dir;
    if (path.dirname(dir) === dir) throw new Error(`no package.json above ${from}`);
  }
}

function notFound(asked: string, file: string): string {
  const known = bundledScenarios();
  const bundled = SCENARIO_NAME_RE.test(asked) && known.length > 0 ? ` (bundled scenarios: ${known.join(', ')})` : '';
  return `no such scenario file ${file}${bundled}`;
}

function displayPath(file: string): string {
  const rel = path.relative(process.cwd(), file);
  return rel && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel : file;
}

function sorted(problems: readonly ScenarioProblem[]): ScenarioProblem[] {
  // Stable: problems on one line keep the order they were found in.
  return [...problems].sort((a, b) => (a.line ?? 0) - (b.line ?? 0));
}

/** Once no problem was found every draft field is set; this is where drafts become the model. */
function complete(d: ScenarioDraft, file: string): Scenario {
  const values = <T>(entries: readonly Entry<T>[]): T[] => entries.map((e) => e.value as T);
  const workloads = values(d.workloads);
  const namespaces = enrolledNamespaces(workloads);
  return {
    name: d.name!,
    file,
    trustDomain: d.trustDomain!,
    meshConfig: d.meshConfig!,
    nodes: values(d.nodes),
    workloads,
    services: values(d.services),
    captures: values(d.captures),
    gateways: values(d.gateways),
    httpRoutes: values(d.httpRoutes),
    policies: values(d.policies),
    expect: values(d.expect),
    ...(namespaces.length > 0 ? { namespaces } : {}),
  };
}
