// The mesh's configuration while it runs, as the API server stores it: the scenario's, then
// every apply and delete. Apply creates or replaces by namespace/name (kubectl's
// "created" / "configured" / "unchanged"); delete removes, and a name that is not there is an
// error that changes nothing. Each call is all or nothing; each object is applied as
// src/mesh/object-store.ts says.
import type { Labels, Scenario } from '../mesh/model';
import { LIVE_KINDS, Manifest } from '../mesh/manifests';
import { applyObject, deleteObject, namespacesOf } from '../mesh/object-store';
import { scaleDeployment } from '../mesh/kube-objects';
import { Conflict, NotFound } from '../mesh/object-errors';
import type { ApplyOutcome } from '../mesh/kube-objects';
export { namespacesOf, waypointPodOf } from '../mesh/object-store';
export { Conflict, NotFound } from '../mesh/object-errors';
export type { ApplyOutcome } from '../mesh/kube-objects';

export interface ApplyResult {
  /** kubectl's line: authorizationpolicy.security.istio.io/deny-all created */
  readonly line: string;
  readonly outcome: ApplyOutcome;
}

export class LiveConfig {
  /**
   * `persist` is told every new configuration before istiod is: istiod reads it back when it
   * restarts, so a restart never brings back the scenario file's configuration.
   */
  constructor(
    private current: Scenario,
    private readonly persist: (s: Scenario) => void = () => undefined,
  ) {}

  private set(next: Scenario): void {
    this.current = next;
    this.persist(next);
  }

  get scenario(): Scenario {
    return this.current;
  }

  /** Back to an earlier configuration (a change istiod did not take). */
  restore(previous: Scenario): void {
    this.set(previous);
  }

  apply(manifests: readonly Manifest[]): ApplyResult[] {
    let next = this.current;
    const notes: string[] = [];
    const results = manifests.map((m): ApplyResult => {
      const stored = applyObject(next, m);
      next = stored.scenario;
      if (stored.note) notes.push(`${LIVE_KINDS[m.kind]}/${m.doc.metadata.name}: ${stored.note}`);
      return { line: `${LIVE_KINDS[m.kind]}/${m.doc.metadata.name} ${stored.outcome}`, outcome: stored.outcome };
    });
    this.set(next);
    return [...results, ...notes.map((line) => ({ line, outcome: 'unchanged' as const }))];
  }

  /** kubectl scale deploy/NAME --replicas N. */
  scale(namespace: string, name: string, replicas: number): ApplyResult {
    this.set(scaleDeployment(this.current, namespace, name, replicas));
    return { line: `deployment.apps/${name} scaled`, outcome: 'configured' };
  }

  /**
   * kubectl label on a Service: `changes` maps each key to its new value, or null to remove it.
   * A key that has a value already changes only with `overwrite`, as kubectl asks.
   */
  labelService(namespace: string, name: string, changes: Readonly<Record<string, string | null>>, overwrite: boolean): ApplyResult {
    const i = this.current.services.findIndex((x) => x.namespace === namespace && x.name === name);
    if (i < 0) throw new NotFound(`services "${name}" not found in namespace ${namespace}`);
    const service = this.current.services[i];
    const labels = relabel(service.labels, changes, overwrite);
    const services = this.current.services.map((x, j) => (j === i ? { ...x, labels } : x));
    this.set({ ...this.current, services });
    return labelResult(`service/${name}`, service.labels, labels, changes);
  }

  /** kubectl label on a Pod: istio.io/dataplane-mode=none takes it out of the mesh, ambient puts it in. */
  labelPod(namespace: string, name: string, changes: Readonly<Record<string, string | null>>, overwrite: boolean): ApplyResult {
    const pod = this.current.workloads.find((w) => w.namespace === namespace && w.name === name);
    if (!pod) throw new NotFound(`pods "${name}" not found in namespace ${namespace}`);
    const labels = relabel(pod.labels, changes, overwrite);
    this.set({ ...this.current, workloads: this.current.workloads.map((w) => (w === pod ? { ...w, labels } : w)) });
    return labelResult(`pod/${name}`, pod.labels, labels, changes);
  }

  /** kubectl label on a Namespace: istio.io/use-waypoint there binds every Service in it that names none. */
  labelNamespace(name: string, changes: Readonly<Record<string, string | null>>, overwrite: boolean): ApplyResult {
    if (!namespacesOf(this.current).includes(name)) throw new NotFound(`namespaces "${name}" not found`);
    const list = this.current.namespaces ?? [];
    const before = list.find((n) => n.name === name)?.labels ?? {};
    const labels = relabel(before, changes, overwrite);
    const namespaces = [...list.filter((n) => n.name !== name), ...(Object.keys(labels).length > 0 ? [{ name, labels }] : [])];
    this.set({ ...this.current, namespaces });
    return labelResult(`namespace/${name}`, before, labels, changes);
  }

  delete(manifests: readonly Manifest[]): ApplyResult[] {
    let next = this.current;
    const results = manifests.map((m): ApplyResult => {
      next = deleteObject(next, m);
      return { line: `${LIVE_KINDS[m.kind]} "${m.doc.metadata.name}" deleted`, outcome: 'deleted' };
    });
    this.set(next);
    return results;
  }
}

/**
 * Labels after kubectl label's changes: each key to its new value, or null to remove it. A key
 * that has another value changes only with `overwrite`, as kubectl asks.
 */
function relabel(current: Labels, changes: Readonly<Record<string, string | null>>, overwrite: boolean): Labels {
  const labels: Record<string, string> = { ...current };
  for (const [key, value] of Object.entries(changes)) {
    if (value === null) delete labels[key];
    else {
      if (labels[key] !== undefined && labels[key] !== value && !overwrite) {
        throw new Conflict(`'${key}' already has a value (${labels[key]}), and --overwrite is false`);
      }
      labels[key] = value;
    }
  }
  return labels;
}

/** kubectl's line: labeled, unlabeled, or not labeled when nothing changed. */
function labelResult(what: string, before: Labels, after: Labels, changes: Readonly<Record<string, string | null>>): ApplyResult {
  const unchanged = JSON.stringify(after) === JSON.stringify(before);
  const removedOnly = Object.values(changes).every((v) => v === null);
  return { line: `${what} ${unchanged ? 'not labeled' : removedOnly ? 'unlabeled' : 'labeled'}`, outcome: unchanged ? 'unchanged' : 'configured' };
}
