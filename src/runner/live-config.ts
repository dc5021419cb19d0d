// The mesh's configuration while it runs, as the API server stores it: the scenario's, then
// every apply and delete. Apply creates or replaces by namespace/name (kubectl's
// "created" / "configured" / "unchanged"); delete removes, and a name that is not there is an
// error that changes nothing. Each call is all or nothing.
import type { AuthorizationPolicyDoc, HttpRouteDoc, Scenario } from '../mesh/model';
import { HTTPROUTE_KIND, LIVE_KINDS, Manifest } from '../mesh/manifests';
import { POLICY_KIND } from '../mesh/read-policies';

export type ApplyOutcome = 'created' | 'configured' | 'unchanged' | 'deleted';

export interface ApplyResult {
  /** kubectl's line: authorizationpolicy.security.istio.io/deny-all created */
  readonly line: string;
  readonly outcome: ApplyOutcome;
}

export class NotFound extends Error {
  override name = 'NotFound';
}

/** A change kubectl would refuse as it stands (a label's value changed without --overwrite). */
export class Conflict extends Error {
  override name = 'Conflict';
}

const keyOf = (d: { metadata: { namespace: string; name: string } }): string => `${d.metadata.namespace}/${d.metadata.name}`;
/** What a document is, for comparing: its origin (file:line) is where it was written, not what it says. */
const body = (d: { origin?: string }): string => JSON.stringify({ ...d, origin: undefined });

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
    let policies = [...this.current.policies];
    let httpRoutes = [...this.current.httpRoutes];
    const results = manifests.map((m): ApplyResult => {
      const put = <D extends AuthorizationPolicyDoc | HttpRouteDoc>(list: D[], doc: D): [D[], ApplyOutcome] => {
        const i = list.findIndex((d) => keyOf(d) === keyOf(doc));
        if (i < 0) return [[...list, doc], 'created'];
        if (body(list[i]) === body(doc)) return [list, 'unchanged'];
        return [list.map((d, j) => (j === i ? doc : d)), 'configured'];
      };
      let outcome: ApplyOutcome;
      if (m.kind === POLICY_KIND) [policies, outcome] = put(policies, m.doc);
      else [httpRoutes, outcome] = put(httpRoutes, m.doc);
      return { line: `${LIVE_KINDS[m.kind]}/${m.doc.metadata.name} ${outcome}`, outcome };
    });
    this.set({ ...this.current, policies, httpRoutes });
    return results;
  }

  /**
   * kubectl label on a Service: `changes` maps each key to its new value, or null to remove it.
   * A key that has a value already changes only with `overwrite`, as kubectl asks.
   */
  labelService(namespace: string, name: string, changes: Readonly<Record<string, string | null>>, overwrite: boolean): ApplyResult {
    const i = this.current.services.findIndex((x) => x.namespace === namespace && x.name === name);
    if (i < 0) throw new NotFound(`services "${name}" not found in namespace ${namespace}`);
    const service = this.current.services[i];
    const labels: Record<string, string> = { ...service.labels };
    for (const [key, value] of Object.entries(changes)) {
      if (value === null) delete labels[key];
      else {
        if (labels[key] !== undefined && labels[key] !== value && !overwrite) {
          throw new Conflict(`'${key}' already has a value (${labels[key]}), and --overwrite is false`);
        }
        labels[key] = value;
      }
    }
    const unchanged = JSON.stringify(labels) === JSON.stringify(service.labels);
    const removedOnly = Object.values(changes).every((v) => v === null);
    const services = this.current.services.map((x, j) => (j === i ? { ...x, labels } : x));
    this.set({ ...this.current, services });
    return { line: `service/${name} ${unchanged ? 'not labeled' : removedOnly ? 'unlabeled' : 'labeled'}`, outcome: unchanged ? 'unchanged' : 'configured' };
  }

  delete(manifests: readonly Manifest[]): ApplyResult[] {
    let policies = [...this.current.policies];
    let httpRoutes = [...this.current.httpRoutes];
    const results = manifests.map((m): ApplyResult => {
      const key = keyOf(m.doc);
      const list: { metadata: { namespace: string; name: string } }[] = m.kind === POLICY_KIND ? policies : httpRoutes;
      if (!list.some((d) => keyOf(d) === key)) {
        const plural = m.kind === HTTPROUTE_KIND ? 'httproutes.gateway.networking.k8s.io' : 'authorizationpolicies.security.istio.io';
        throw new NotFound(`${plural} "${m.doc.metadata.name}" not found in namespace ${m.doc.metadata.namespace}`);
      }
      if (m.kind === POLICY_KIND) policies = policies.filter((d) => keyOf(d) !== key);
      else httpRoutes = httpRoutes.filter((d) => keyOf(d) !== key);
      return { line: `${LIVE_KINDS[m.kind]} "${m.doc.metadata.name}" deleted`, outcome: 'deleted' };
    });
    this.set({ ...this.current, policies, httpRoutes });
    return results;
  }
}
