// What is wrong with a scenario file, said the way compilers say it: file:line: field: problem.
// A scenario is checked whole and every problem is reported at once, so a learner fixes a
// file in one pass instead of one error per run.

// A file of 3,000 misspelt keys should not answer with 3,000 lines; the first ones say enough.
const MAX_LISTED_PROBLEMS = 100;

/** One thing wrong with a scenario file. */
export interface ScenarioProblem {
  readonly file: string;
  /** 1-based line; absent when the problem has no place in the file (e.g. it does not exist). */
  readonly line?: number;
  /** Where in the scenario, e.g. workloads[2].ip; empty for the file as a whole. */
  readonly path: string;
  readonly message: string;
}

/** `<file>:<line>: <field path>: <what is wrong>`, leaving out the parts a problem lacks. */
export function formatProblem(p: ScenarioProblem): string {
  const where = p.line === undefined ? p.file : `${p.file}:${p.line}`;
  return p.path ? `${where}: ${p.path}: ${p.message}` : `${where}: ${p.message}`;
}

/** Thrown by the loader; carries every problem found, and lists them one per line. */
export class ScenarioError extends Error {
  override name = 'ScenarioError';
  readonly problems: readonly ScenarioProblem[];

  constructor(problems: readonly ScenarioProblem[]) {
    const listed = problems.slice(0, MAX_LISTED_PROBLEMS).map(formatProblem);
    const more = problems.length - listed.length;
    if (more > 0) listed.push(`… and ${more} more problems (the first ${MAX_LISTED_PROBLEMS} are listed)`);
    super(listed.join('\n'));
    this.problems = problems;
  }
}
