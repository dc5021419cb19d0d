// Checks across entries for the waypoint's documents, as Istio ties them together:
//   - a Gateway of class istio-waypoint has exactly one pod: the workload in its namespace
//     labelled gateway.networking.k8s.io/gateway-name: <gateway>, running app waypoint, with
//     the service account the Gateway names (istio.io/service-account, else its own name);
//   - a pod running app waypoint belongs to such a Gateway;
//   - a Service labelled istio.io/use-waypoint: <name> names a waypoint in its namespace;
//   - an HTTPRoute's parent Services and backends exist, with the ports it names.
// As in scenario-checks.ts, a check whose other side is not all readable is held back.
import type { GatewayDoc, HttpRouteDoc, Service, Workload } from './model';
import { ANNOTATION_SERVICE_ACCOUNT, LABEL_GATEWAY_NAME, LABEL_USE_WAYPOINT, WAYPOINT_GATEWAY_CLASS } from './model';
import type { HttpRouteSpec } from '../policy/httproute';
import { WAYPOINT_APP } from './app-kinds';
import { INGRESS_GATEWAY_CLASS } from './ingress-gateway';
import { Entry, labelField, siteOf } from './entry';
import { ScenarioDraft } from './read-scenario';
import { Problems } from './yaml-fields';

/** istio.io/use-waypoint: none opts a Service out of a waypoint its namespace would give it. */
export const USE_WAYPOINT_NONE = 'none';

export function checkWaypoints(s: ScenarioDraft, problems: Problems): void {
  const podsReadable = s.workloads.every((w) => w.exact && w.value.labels !== undefined && w.value.namespace !== undefined);
  const gatewaysReadable = s.gateways.every((g) => g.exact && g.value.metadata !== undefined && g.value.spec !== undefined);
  if (podsReadable) checkWaypointPods(s, problems);
  // An ingress Gateway's pod and Service are the gateway controller's to make: the object store
  // makes them for manifests (apply, manifests:), not for a scenario file's own list.
  for (const gw of s.gateways.filter((g) => g.value.spec?.gatewayClassName === INGRESS_GATEWAY_CLASS)) {
    problems.add(
      siteOf(gw, 'spec.gatewayClassName'),
      `a Gateway of class ${INGRESS_GATEWAY_CLASS} deploys an ingress gateway, which gateways: does not: list its manifest file under manifests:, or apply it to the running mesh (hbone-sim apply -f)`,
    );
  }
  if (gatewaysReadable) {
    checkPodsHaveGateways(s, problems);
    checkUseWaypoint(s, problems);
  }
  if (s.services.every((v) => v.exact && v.value.name !== undefined && v.value.namespace !== undefined && v.value.ports !== undefined)) {
    checkRouteRefs(s, problems);
  }
}

function isWaypoint(g: Entry<GatewayDoc>): boolean {
  return g.value.spec?.gatewayClassName === WAYPOINT_GATEWAY_CLASS && g.value.metadata !== undefined;
}

function podName(w: Entry<Workload>): string {
  return `${w.site.path} (${w.value.name})`;
}

/** Each waypoint Gateway: one pod, running app waypoint, under the Gateway's service account. */
function checkWaypointPods(s: ScenarioDraft, problems: Problems): void {
  for (const gw of s.gateways.filter(isWaypoint)) {
    const { name, namespace, annotations } = gw.value.metadata!;
    const pods = s.workloads.filter((w) => w.value.namespace === namespace && w.value.labels![LABEL_GATEWAY_NAME] === name);
    if (pods.length === 0) {
      problems.add(
        siteOf(gw, 'metadata.name'),
        `no pod in namespace ${namespace} is labelled ${LABEL_GATEWAY_NAME}: ${name}; a waypoint needs one, running { app: ${WAYPOINT_APP} }`,
      );
      continue;
    }
    const [pod, ...extra] = pods;
    for (const w of extra) {
      problems.add(
        siteOf(w, labelField(LABEL_GATEWAY_NAME)),
        `Gateway ${name} already has its waypoint pod, ${podName(pod)}; hbone-sim runs one pod per waypoint`,
      );
    }
    const kind = pod.value.app?.kind;
    if (kind !== undefined && kind !== WAYPOINT_APP) {
      problems.add(
        siteOf(pod, 'run.app'),
        `this pod is labelled ${LABEL_GATEWAY_NAME}: ${name}, so it is the pod of waypoint ${gw.site.path} and must run ${WAYPOINT_APP}, not ${kind}`,
      );
    }
    const sa = pod.value.serviceAccount;
    const annotated = annotations?.[ANNOTATION_SERVICE_ACCOUNT];
    const expected = annotated ?? name;
    if (sa !== undefined && sa !== expected) {
      const why =
        annotated !== undefined
          ? `its Gateway ${gw.site.path} says ${ANNOTATION_SERVICE_ACCOUNT}: ${annotated}`
          : `its Gateway ${gw.site.path} has no ${ANNOTATION_SERVICE_ACCOUNT} annotation, so Istio runs the waypoint as ${name}, the Gateway's name`;
      problems.add(siteOf(pod, 'serviceAccount'), `${sa} is not the waypoint's service account: ${why}`);
    }
  }
}

/** A pod running app waypoint is the pod of a waypoint Gateway in its namespace. */
function checkPodsHaveGateways(s: ScenarioDraft, problems: Problems): void {
  for (const w of s.workloads) {
    if (w.value.app?.kind !== WAYPOINT_APP || !w.exact || w.value.labels === undefined || w.value.namespace === undefined) continue;
    const label = w.value.labels[LABEL_GATEWAY_NAME];
    if (label === undefined) {
      problems.add(
        siteOf(w, 'run.app'),
        `a waypoint pod belongs to a Gateway of class ${WAYPOINT_GATEWAY_CLASS}: label it ${LABEL_GATEWAY_NAME}: <the Gateway's name>`,
      );
      continue;
    }
    const why = notAWaypoint(s, label, w.value.namespace);
    if (why) problems.add(siteOf(w, labelField(LABEL_GATEWAY_NAME)), `${why}; a waypoint pod belongs to one`);
  }
}

/** Services labelled istio.io/use-waypoint name a waypoint Gateway in their namespace. */
function checkUseWaypoint(s: ScenarioDraft, problems: Problems): void {
  for (const svc of s.services) {
    const name = svc.value.labels?.[LABEL_USE_WAYPOINT];
    if (name === undefined || name === USE_WAYPOINT_NONE || svc.value.namespace === undefined) continue;
    const why = notAWaypoint(s, name, svc.value.namespace);
    if (why) problems.add(siteOf(svc, labelField(LABEL_USE_WAYPOINT)), why);
  }
}

/** Why `name` is not a waypoint Gateway in `namespace`, or undefined when it is one. */
function notAWaypoint(s: ScenarioDraft, name: string, namespace: string): string | undefined {
  const inNamespace = s.gateways.filter((g) => g.value.metadata?.namespace === namespace);
  const gw = inNamespace.find((g) => g.value.metadata!.name === name);
  if (gw && isWaypoint(gw)) return undefined;
  if (gw) return `Gateway ${name} (${gw.site.path}) is of class ${gw.value.spec!.gatewayClassName}, not ${WAYPOINT_GATEWAY_CLASS}`;
  const waypoints = inNamespace.filter(isWaypoint).map((g) => g.value.metadata!.name);
  const there =
    waypoints.length > 0 ? `waypoints there: ${waypoints.join(', ')}` : `declare one under gateways: with gatewayClassName: ${WAYPOINT_GATEWAY_CLASS}`;
  return `${name} is not a waypoint Gateway in namespace ${namespace} (${there})`;
}

/** An HTTPRoute's parent Services and backends exist in the scenario, with the ports named. */
function checkRouteRefs(s: ScenarioDraft, problems: Problems): void {
  const find = (name: string, namespace: string): Entry<Service> | undefined =>
    s.services.find((v) => v.value.name === name && v.value.namespace === namespace);
  const missing = (name: string, namespace: string): string => {
    const there = s.services.filter((v) => v.value.namespace === namespace).map((v) => v.value.name);
    return `${name} is not a Service in namespace ${namespace} (${there.length > 0 ? `services there: ${there.join(', ')}` : 'it has none'})`;
  };
  for (const route of s.httpRoutes) {
    if (!route.exact) continue;
    const doc = route.value as HttpRouteDoc;
    const spec = doc.spec as HttpRouteSpec;
    const namespace = doc.metadata.namespace;
    spec.parentRefs?.forEach((ref, i) => {
      const at = (k: string): string => `spec.parentRefs[${i}].${k}`;
      // A Gateway parent (an ingress gateway's listener) is the gateway's to match, not a Service.
      if (ref.kind !== 'Service') return;
      const ns = ref.namespace ?? namespace;
      const svc = find(ref.name, ns);
      if (!svc) {
        problems.add(siteOf(route, at('name')), missing(ref.name, ns));
        return;
      }
      const ports = svc.value.ports!;
      if (ref.port !== undefined && !ports.some((p) => p.port === ref.port)) {
        problems.add(siteOf(route, at('port')), `${ref.name} has no port ${ref.port} (ports: ${ports.map((p) => p.port).join(', ')})`);
      }
      if (ref.sectionName !== undefined && !ports.some((p) => p.name === ref.sectionName)) {
        const names = ports.map((p) => p.name).filter((n) => n !== '');
        problems.add(
          siteOf(route, at('sectionName')),
          `${ref.name} has no port named ${ref.sectionName} (${names.length > 0 ? `port names: ${names.join(', ')}` : 'its ports have no names'})`,
        );
      }
    });
    spec.rules?.forEach((rule, i) =>
      rule.backendRefs?.forEach((b, j) => {
        const at = (k: string): string => `spec.rules[${i}].backendRefs[${j}].${k}`;
        const ns = b.namespace ?? namespace;
        const svc = find(b.name, ns);
        if (!svc) {
          problems.add(siteOf(route, at('name')), missing(b.name, ns));
          return;
        }
        const ports = svc.value.ports!;
        if (ports.some((p) => p.port === b.port)) return;
        const target = ports.find((p) => p.targetPort === b.port);
        const hint = target ? `; a backendRef names the Service port (${target.port}), not the targetPort` : '';
        problems.add(siteOf(route, at('port')), `${b.name} has no port ${b.port} (ports: ${ports.map((p) => p.port).join(', ')})${hint}`);
      }),
    );
  }
}
