// A scenario's `manifests:`: ordinary Kubernetes manifest files (Istio's samples, kubectl's
// output) applied after the scenario's own objects, in order, as `hbone-sim apply -f` applies
// them to a running mesh, so a scenario can be a node layout plus the manifests people have.
// Paths are relative to the scenario file. Every process loads the scenario on its own, so
// generated names (a Deployment's pods) are drawn from a seed of the scenario and the file: the
// same in each. A problem in a manifest names that file's line; one the API server would refuse
// names the scenario's manifests[i].
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Scenario } from './model';
import type { Site } from './yaml-fields';
import { readManifests } from './manifests';
import { applyObject } from './object-store';
import { Conflict, NotFound } from './object-errors';
import { seededPick } from './k8s-names';
import { enrolledNamespaces } from './enrollment';
import { ScenarioError } from './scenario-error';
import { fileSizeProblem } from './scenario-limits';
import { errorMessage } from '../error-message';

export interface ManifestPath {
  readonly path: string;
  readonly site: Site;
}

/**
 * `s` with every object of the manifest files applied, and the namespaces its pods run in
 * enrolled (a scenario describes a mesh) unless a Namespace among them says otherwise.
 */
export function withManifests(s: Scenario, paths: readonly ManifestPath[], scenarioFile: string): Scenario {
  let next: Scenario = { ...s, namespaces: undefined };
  const dir = path.dirname(path.resolve(scenarioFile));
  for (const { path: p, site } of paths) {
    const problem = (message: string) => new ScenarioError([{ file: scenarioFile, line: site.line, path: site.path, message }]);
    const file = path.resolve(dir, p);
    let text: string;
    try {
      const big = fileSizeProblem(fs.statSync(file).size);
      if (big) throw new Error(big);
      text = fs.readFileSync(file, 'utf8');
    } catch (err) {
      throw problem(`${p}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : errorMessage(err)}`);
    }
    const display = path.relative(process.cwd(), file) || file;
    const { manifests } = readManifests([{ file: display, text }]);
    const pick = seededPick(`${s.name}/${p}`);
    for (const m of manifests) {
      try {
        next = applyObject(next, m, pick).scenario;
      } catch (err) {
        if (err instanceof NotFound || err instanceof Conflict) throw problem(`${p}: ${m.kind} ${m.doc.metadata.name}: ${err.message}`);
        throw err;
      }
    }
  }
  const applied = next.namespaces ?? [];
  const enrolled = enrolledNamespaces(next.workloads).filter((n) => !applied.some((a) => a.name === n.name));
  const namespaces = [...applied, ...enrolled];
  return { ...next, namespaces: namespaces.length > 0 ? namespaces : undefined };
}
