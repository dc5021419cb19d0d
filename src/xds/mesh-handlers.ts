// What a proxy does with each pushed type: check every resource as the proxy will use it, then
// swap it into the proxy's MeshState in one step. Any resource the proxy cannot use refuses the
// whole response (the ADS client NACKs it) and the state stays as it was.
import type { AuthorizationPolicyDoc, HttpRouteDoc, Scenario, Service, Workload } from '../mesh/model';
import type { MeshState } from '../mesh/state';
import { compilePolicy } from '../policy/authz';
import { compileRoutes } from '../policy/httproute';
import { errorMessage } from '../error-message';
import type { TypeHandler } from './ads-client';
import { TYPE_ADDRESS, TYPE_AUTHORIZATION, TYPE_ROUTE, XdsResource } from './types';

/** The fields of an Address resource this proxy knows; any other is refused. */
const WORKLOAD_FIELDS = ['name', 'namespace', 'serviceAccount', 'node', 'ip', 'labels', 'app', 'workloadName'] as const;
/** Fields a workload may leave out: istiod's verdicts on enrollment and on its waypoint. */
const WORKLOAD_OPTIONAL = ['tunnelProtocol', 'waypoint'] as const;
const SERVICE_FIELDS = ['name', 'namespace', 'vip', 'ports', 'selector', 'labels'] as const;

export class ResourceRejected extends Error {
  override name = 'ResourceRejected';
}

/** Workloads and services (istio.workload.Address). */
export function addressHandler(state: MeshState): TypeHandler {
  return {
    typeUrl: TYPE_ADDRESS,
    apply: (resources) => {
      const workloads: Workload[] = [];
      const services: Service[] = [];
      for (const r of resources.values()) {
        const body = r.resource as Record<string, unknown>;
        const keys = body && typeof body === 'object' ? Object.keys(body) : [];
        if (keys.length === 1 && keys[0] === 'workload')
          workloads.push(checkFields(r, body.workload, WORKLOAD_FIELDS, WORKLOAD_OPTIONAL) as unknown as Workload);
        else if (keys.length === 1 && keys[0] === 'service') services.push(checkFields(r, body.service, SERVICE_FIELDS) as unknown as Service);
        else throw new ResourceRejected(`Address ${r.name}: neither a workload nor a service (fields ${keys.join(', ') || 'none'})`);
      }
      state.update({ ...state.scenario, workloads, services });
    },
  };
}

/** AuthorizationPolicies (istio.security.Authorization), each compiled as the proxy will enforce it. */
export function authorizationHandler(state: MeshState): TypeHandler {
  return {
    typeUrl: TYPE_AUTHORIZATION,
    apply: (resources) => {
      const policies = [...resources.values()].map((r) => {
        const doc = r.resource as AuthorizationPolicyDoc;
        try {
          compilePolicy(doc);
        } catch (err) {
          throw new ResourceRejected(`Authorization ${r.name}: ${errorMessage(err)}`);
        }
        return doc;
      });
      state.update({ ...state.scenario, policies });
    },
  };
}

/** A waypoint's route configurations: their HTTPRoutes, compiled for the service each routes. */
export function routeHandler(state: MeshState): TypeHandler {
  return {
    typeUrl: TYPE_ROUTE,
    apply: (resources) => {
      const byName = new Map<string, HttpRouteDoc>();
      for (const r of resources.values()) {
        const body = r.resource as {
          service?: { kind?: 'Service' | 'Gateway'; name: string; namespace: string; port: number; portName?: string };
          httpRoutes?: HttpRouteDoc[];
        };
        if (!body?.service || !Array.isArray(body.httpRoutes)) throw new ResourceRejected(`RouteConfiguration ${r.name}: no service or httpRoutes`);
        try {
          compileRoutes(body.httpRoutes, body.service);
        } catch (err) {
          throw new ResourceRejected(`RouteConfiguration ${r.name}: ${errorMessage(err)}`);
        }
        for (const doc of body.httpRoutes) byName.set(`${doc.metadata.namespace}/${doc.metadata.name}`, doc);
      }
      const httpRoutes: Scenario['httpRoutes'] = [...byName.values()];
      state.update({ ...state.scenario, httpRoutes });
    },
  };
}

function checkFields(r: XdsResource, value: unknown, known: readonly string[], optional: readonly string[] = []): Record<string, unknown> {
  if (!value || typeof value !== 'object') throw new ResourceRejected(`Address ${r.name}: not an object`);
  const fields = value as Record<string, unknown>;
  const unknown = Object.keys(fields).filter((k) => !known.includes(k) && !optional.includes(k));
  if (unknown.length > 0) throw new ResourceRejected(`Address ${r.name}: unknown field ${unknown.map((k) => JSON.stringify(k)).join(', ')}`);
  const missing = known.filter((k) => fields[k] === undefined);
  if (missing.length > 0) throw new ResourceRejected(`Address ${r.name}: missing ${missing.join(', ')}`);
  return fields;
}
