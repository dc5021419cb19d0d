// A run read back from its results JSON, for `npm run bench -- --render FILE`: the report is drawn
// from the results alone, so a saved run renders as it did when it ran. Runs saved before a suite
// existed lack its field; those read as the suite not run.
import * as fs from 'node:fs';
import type { BenchResults } from '../results';
import { evaluateTargets } from './targets';

/** Suites recorded as lists; an absent one is an empty list. */
const LIST_FIELDS = ['throughput', 'latency', 'maxRps', 'connections', 'scale', 'hostile'] as const;

export class SavedResultsError extends Error {
  override name = 'SavedResultsError';
}

export function parseSavedResults(json: string, source: string): BenchResults {
  let data: unknown;
  try {
    data = JSON.parse(json);
  } catch (err) {
    throw new SavedResultsError(`${source} is not JSON: ${(err as Error).message}`);
  }
  if (typeof data !== 'object' || data === null || (data as { bench?: unknown }).bench !== 'hbone-sim') {
    throw new SavedResultsError(`${source} is not the results of an hbone-sim bench run (no "bench": "hbone-sim")`);
  }
  const raw = data as Record<string, unknown>;
  for (const field of ['startedAt', 'finishedAt', 'machine'] as const) {
    if (raw[field] === undefined) throw new SavedResultsError(`${source} has no ${field}`);
  }
  const lists = Object.fromEntries(
    LIST_FIELDS.map((f) => {
      const v = raw[f] ?? [];
      if (!Array.isArray(v)) throw new SavedResultsError(`${source}: ${f} is not a list`);
      return [f, v];
    }),
  );
  // Latency runs saved before the paced generator existed were all autocannon's.
  lists.latency = (lists.latency as Record<string, unknown>[]).map((l) => ({ ...l, generator: l.generator ?? 'autocannon' }));
  const peers = raw.peers;
  if (peers !== undefined) {
    const p = peers as { comparisons?: unknown; skipped?: unknown } | null;
    if (typeof p !== 'object' || p === null || !Array.isArray(p.comparisons) || !Array.isArray(p.skipped))
      throw new SavedResultsError(`${source}: peers is not { comparisons: [...], skipped: [...] }`);
    for (const c of p.comparisons as unknown[]) {
      if (typeof c !== 'object' || c === null || !Array.isArray((c as { figures?: unknown }).figures))
        throw new SavedResultsError(`${source}: a peers comparison has no figures`);
    }
  }
  const run = { ...(raw as unknown as Omit<BenchResults, 'targets'>), ...lists };
  // The targets the run was judged by are kept; a file without them is judged now.
  const targets = Array.isArray(raw.targets) ? (raw.targets as BenchResults['targets']) : evaluateTargets(run);
  return { ...run, targets };
}

export function readSavedResults(file: string): BenchResults {
  let json: string;
  try {
    json = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new SavedResultsError(`cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  return parseSavedResults(json, file);
}
