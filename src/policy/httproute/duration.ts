// Gateway API durations (GEP-2257): 1 to 4 parts of up to 5 digits and a unit h, m, s or ms,
// read as Go's time.ParseDuration reads them (the parts add up, in any order). "0s" is the
// zero duration, which the timeouts treat as "no timeout".

const DURATION_RE = /^([0-9]{1,5}(h|m|s|ms)){1,4}$/;
// 'ms' before 'm' so that "500ms" is not read as 500 minutes and a stray "s".
const PART_RE = /([0-9]{1,5})(ms|h|m|s)/g;

const UNIT_MS: Readonly<Record<string, number>> = { h: 3_600_000, m: 60_000, s: 1_000, ms: 1 };

/** Milliseconds, or undefined when the text is not a Gateway API duration. */
export function parseGatewayDuration(text: string): number | undefined {
  if (!DURATION_RE.test(text)) return undefined;
  let total = 0;
  for (const part of text.matchAll(PART_RE)) {
    total += Number(part[1]) * UNIT_MS[part[2]];
  }
  return total;
}

/** Why a value is not a duration, for validation messages; undefined when it is one. */
export function durationProblem(value: unknown): string | undefined {
  if (typeof value !== 'string') return `must be a duration string such as "10s", got ${typeof value}`;
  if (parseGatewayDuration(value) !== undefined) return undefined;
  return `${JSON.stringify(value)} is not a Gateway API duration (1 to 4 parts of up to 5 digits with h, m, s or ms, e.g. "10s", "500ms", "1h30m")`;
}
