// RegularExpression matches. The waypoint's Envoy runs them with RE2 and requires the whole
// value to match, so a pattern is anchored at both ends here. The simulator uses JavaScript's
// engine; patterns that need backtracking (lookaround, backreferences) are refused because RE2
// refuses them too, and a route that works here must also be accepted by the real waypoint.
// The reverse gap remains: RE2-only syntax such as (?i) or (?P<name>...) is refused here.
import { errorMessage } from '../../error-message';

export type RegexResult = { readonly regex: RegExp } | { readonly problem: string };

export function compileFullMatch(pattern: string): RegexResult {
  const backtracking = backtrackingConstruct(pattern);
  if (backtracking) {
    return { problem: `${JSON.stringify(pattern)} uses ${backtracking}, which RE2 (the waypoint's regex engine) does not support` };
  }
  try {
    return { regex: new RegExp(`^(?:${pattern})$`) };
  } catch (e) {
    return { problem: `${JSON.stringify(pattern)} is not a regular expression hbone-sim can run (${errorMessage(e)})` };
  }
}

/** Lookaround or a backreference outside a character class, if the pattern has one. */
function backtrackingConstruct(p: string): string | undefined {
  let inClass = false;
  for (let i = 0; i < p.length; i++) {
    const c = p[i];
    if (c === '\\') {
      const next = p[i + 1] ?? '';
      if (!inClass && (/[1-9]/.test(next) || (next === 'k' && p[i + 2] === '<'))) return 'a backreference';
      i++; // skip the escaped character
    } else if (inClass) {
      if (c === ']') inClass = false;
    } else if (c === '[') {
      inClass = true;
    } else if (c === '(' && p[i + 1] === '?') {
      const kind = p[i + 2] === '<' ? p[i + 3] : p[i + 2];
      if (kind === '=' || kind === '!') return 'lookaround';
    }
  }
  return undefined;
}
