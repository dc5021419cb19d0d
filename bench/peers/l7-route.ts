// The L7 job both sides of the comparison do, written once: a route by path prefix with a
// header match, and an ALLOW on the caller's principal. Ours gets it as Istio config (an
// HTTPRoute bound to the http-l7 Service and an AuthorizationPolicy targeting it, pushed to the
// bench mesh for the comparison's runs); HAProxy gets the same rules as ACLs (haproxy.ts).
// Outside the route: 404; another principal: 403, on both.
import { benchScenario } from '../mesh';
import { parseScenario } from '../../src/mesh/load';
import type { Scenario } from '../../src/mesh/model';

/** The bench's request path: inside the prefix. */
export const ROUTE_PATH_PREFIX = '/echo';
export const ROUTE_HEADER = { name: 'x-bench-route', value: 'peers' } as const;
/** The bench client's identity, the one the policy allows. */
export const CLIENT_NAMESPACE = 'bench';
export const CLIENT_SERVICE_ACCOUNT = 'client';
/** The bench mesh's L7 Service and its port. */
const L7_SERVICE = 'http-l7';
const L7_PORT = 8080;
const ROUTE_NAME = 'http-l7-peers';

/** The HTTPRoute and AuthorizationPolicy, as scenario YAML (top-level keys the bench scenario does not use). */
export function routeYaml(trustDomain: string): string {
  return `httpRoutes:
  - apiVersion: gateway.networking.k8s.io/v1
    kind: HTTPRoute
    metadata: { name: ${ROUTE_NAME}, namespace: bench }
    spec:
      parentRefs: [ { group: "", kind: Service, name: ${L7_SERVICE}, port: ${L7_PORT} } ]
      rules:
        - matches: [ { path: { type: PathPrefix, value: ${ROUTE_PATH_PREFIX} }, headers: [ { name: ${ROUTE_HEADER.name}, value: ${ROUTE_HEADER.value} } ] } ]
          backendRefs: [ { name: ${L7_SERVICE}, port: ${L7_PORT} } ]
policies:
  - apiVersion: security.istio.io/v1
    kind: AuthorizationPolicy
    metadata: { name: ${ROUTE_NAME}, namespace: bench }
    spec:
      targetRefs: [ { kind: Service, group: "", name: ${L7_SERVICE} } ]
      action: ALLOW
      rules: [ { from: [ { source: { principals: [ ${trustDomain}/ns/${CLIENT_NAMESPACE}/sa/${CLIENT_SERVICE_ACCOUNT} ] } } ] } ]
`;
}

/** The bench mesh's scenario on block `n`, with the route and policy. */
export function routedScenario(n: number, trustDomain: string): Scenario {
  return parseScenario(`${benchScenario(n)}${routeYaml(trustDomain)}`, `bench-peers-l7-10.${n}.yaml`);
}
