// "did you mean …?": the known name closest to a mistyped one, as git and cobra suggest.

/** Edits (insert, delete, substitute, swap two neighbours) tolerated for a word of up to 5 characters; longer words get 2. */
const SHORT_WORD_EDITS = 1;
const LONG_WORD_EDITS = 2;
const SHORT_WORD_LENGTH = 5;
/** A typed word of at least this length that begins a known name suggests it (`--verb` → `--verbose`). */
const MIN_PREFIX_LENGTH = 3;

/**
 * The candidate closest to `typed` (case-insensitive), or undefined when none is close enough to
 * be what was meant: a far-off guess is noise.
 */
export function closest(typed: string, candidates: readonly string[]): string | undefined {
  const word = typed.toLowerCase();
  const allowed = word.length <= SHORT_WORD_LENGTH ? SHORT_WORD_EDITS : LONG_WORD_EDITS;
  let best: { name: string; distance: number } | undefined;
  for (const name of candidates) {
    const d = editDistance(word, name.toLowerCase());
    if (d <= allowed && (!best || d < best.distance)) best = { name, distance: d };
  }
  if (best) return best.name;
  if (word.length < MIN_PREFIX_LENGTH) return undefined;
  const prefixed = candidates.filter((c) => c.toLowerCase().startsWith(word));
  return prefixed.sort((a, b) => a.length - b.length)[0];
}

/** Optimal string alignment distance: Levenshtein plus the swap of two neighbours (`hodl` is one edit from `hold`). */
export function editDistance(a: string, b: string): number {
  const rows = a.length + 1;
  const cols = b.length + 1;
  const d: number[][] = Array.from({ length: rows }, (_, i) => Array.from({ length: cols }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i < rows; i++) {
    for (let j = 1; j < cols; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[rows - 1][cols - 1];
}
