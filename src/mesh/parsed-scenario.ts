// A scenario parsed once, by the runner, for every process it starts. Each child is handed the
// scenario file (--scenario) and used to parse it again: the YAML of a 1,000-pod scenario (170
// KB) took each process a second or more of CPU, eight processes at once on two cores, which
// was most of a large mesh's start-up. Under the runner, a child finds the runner's parse in the
// file named by HBONE_PARSED_SCENARIO and takes it when the scenario file still holds the same
// text (the SHA-256 of its bytes) and names the same file; otherwise it parses as before. The
// manifest files a scenario includes are taken as the runner read them.
import * as fs from 'node:fs';
import { createHash } from 'node:crypto';
import type { Scenario } from './model';

/** Set by the runner for its children: the runner's parse of the scenario, as JSON. */
export const ENV_PARSED_SCENARIO = 'HBONE_PARSED_SCENARIO';

interface ParsedScenarioFile {
  /** SHA-256 of the scenario file's text, hex. */
  readonly sha256: string;
  readonly scenario: Scenario;
}

export function textDigest(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** Written owner-only, whole, then renamed: a child never reads half of it. */
export function writeParsedScenario(file: string, scenario: Scenario, sha256: string): void {
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify({ sha256, scenario } satisfies ParsedScenarioFile), { mode: 0o600 });
  fs.renameSync(tmp, file);
}

/**
 * The runner's parse of `scenarioFile` (absolute) whose text has digest `sha256`, if the
 * environment names one for that very text; undefined otherwise (parse it yourself).
 */
export function readParsedScenario(scenarioFile: string, sha256: string, env: NodeJS.ProcessEnv = process.env): Scenario | undefined {
  const file = env[ENV_PARSED_SCENARIO];
  if (!file) return undefined;
  let parsed: ParsedScenarioFile;
  try {
    parsed = JSON.parse(fs.readFileSync(file, 'utf8')) as ParsedScenarioFile;
  } catch {
    // Gone (the runner stopped) or unreadable: the file itself is still there to parse.
    return undefined;
  }
  return parsed.sha256 === sha256 && parsed.scenario?.file === scenarioFile ? parsed.scenario : undefined;
}
