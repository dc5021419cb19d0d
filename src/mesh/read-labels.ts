// Labels and selectors: string -> string maps whose keys and values follow Kubernetes rules.
import type { Labels } from './model';
import { labelKeyProblem, labelValueProblem } from './k8s-names';
import { Field, Site } from './yaml-fields';

/**
 * The labels written at `field`, or undefined (after reporting) if any is malformed.
 * `onSite` learns where each label was written, for checks that point at one label.
 */
export function readLabels(field: Field, onSite?: (key: string, site: Site) => void): Labels | undefined {
  const fields = field.map(null);
  if (!fields) return undefined;
  const labels: Record<string, string> = {};
  let ok = true;
  for (const [key, f] of fields.entries()) {
    onSite?.(key, f.site);
    const value = f.string(true);
    if (value === undefined) {
      ok = false;
      continue;
    }
    const bad = labelKeyProblem(key) ?? labelValueProblem(value);
    if (bad) {
      f.problem(bad);
      ok = false;
      continue;
    }
    labels[key] = value;
  }
  return ok ? labels : undefined;
}
