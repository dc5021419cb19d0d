// Which match wins when several fit a request. Gateway API orders, across every rule of every
// attached route: an Exact path, then the longest PathPrefix, then a method match, then more
// header matches, then more query matches; ties go to the oldest route, then the first by
// "<namespace>/<name>", then the first rule and match in the route. RegularExpression paths are
// left to the implementation: Istio ranks them after every prefix and, among themselves, by
// pattern length, and so does this file.
import type { CompiledMatch } from './table';

/** Istio's ranking of path match types (getURIRank in its Gateway API conversion). */
const PATH_RANK: Readonly<Record<CompiledMatch['path']['type'], number>> = { Exact: 3, PathPrefix: 2, RegularExpression: 1 };

/** Negative when `a` takes precedence over `b`. */
export function compareMatches(a: CompiledMatch, b: CompiledMatch): number {
  return (
    PATH_RANK[b.path.type] - PATH_RANK[a.path.type] ||
    b.path.value.length - a.path.value.length ||
    Number(b.method !== undefined) - Number(a.method !== undefined) ||
    b.headers.length - a.headers.length ||
    b.queryParams.length - a.queryParams.length ||
    compareRoutes(a, b) ||
    a.rule.ruleIndex - b.rule.ruleIndex ||
    a.matchIndex - b.matchIndex
  );
}

/**
 * Oldest first, then by namespace and then name in code-point order. Istio compares the pair;
 * the spec's "{namespace}/{name}" string differs only when one namespace is a prefix of another.
 */
export function compareRoutes(a: Pick<CompiledMatch, 'createdAt' | 'rule'>, b: Pick<CompiledMatch, 'createdAt' | 'rule'>): number {
  if (a.createdAt !== b.createdAt) return a.createdAt - b.createdAt;
  return codePointOrder(a.rule.namespace, b.rule.namespace) || codePointOrder(a.rule.name, b.rule.name);
}

function codePointOrder(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
