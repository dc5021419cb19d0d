// httpRoutes: Gateway API HTTPRoute documents, verbatim. The whole document is Gateway API's
// schema, checked by src/policy/httproute (checkHttpRoute); its problems come back with a path
// inside the document, which is turned into the line where that part is written. What the
// route names (its parent Services, its backends) is checked against the scenario in
// waypoint-checks.ts, so the sites of those names are kept with the entry.
import type { HttpRouteDoc } from './model';
import { checkHttpRoute, HttpRouteSpec } from '../policy/httproute';
import { Entry } from './entry';
import { Field, Site } from './yaml-fields';

export function readHttpRoute(item: Field, file: string): Entry<HttpRouteDoc> | undefined {
  const fields = item.map(null);
  if (!fields) return undefined;
  const doc = item.plain() as Record<string, unknown>;
  const problems = checkHttpRoute(doc);
  for (const p of problems) {
    if (p.path === '') item.problem(p.message);
    else item.problemAt(p.path, p.message);
  }
  const sites = new Map<string, Site>();
  const site = (path: string): void => {
    const f = item.find(path);
    if (f) sites.set(path, f.site);
  };
  site('metadata.name');
  if (problems.length > 0) return { site: item.site, value: { origin: `${file}:${item.line}` }, fields: sites, exact: false };
  // Checked: the document has the shape HttpRouteDoc describes.
  const route = doc as unknown as HttpRouteDoc;
  const spec = route.spec as HttpRouteSpec;
  spec.parentRefs?.forEach((_, i) => ['name', 'port', 'sectionName', 'namespace'].forEach((k) => site(`spec.parentRefs[${i}].${k}`)));
  spec.rules?.forEach((rule, i) =>
    rule.backendRefs?.forEach((_, j) => ['name', 'port', 'namespace'].forEach((k) => site(`spec.rules[${i}].backendRefs[${j}].${k}`))),
  );
  const value: HttpRouteDoc = {
    apiVersion: route.apiVersion,
    kind: route.kind,
    metadata: route.metadata,
    spec: route.spec,
    origin: `${file}:${item.line}`,
  };
  return { site: item.site, value, fields: sites, exact: true };
}
