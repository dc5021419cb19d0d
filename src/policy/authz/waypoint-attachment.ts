// Which AuthorizationPolicies the waypoint applies to a request (Istio's ShouldAttachPolicy for a
// waypoint): targetRefs naming the destination Service, the waypoint's own Gateway or the
// istio-waypoint GatewayClass; and, unless targetRefsOnly (Istio 1.22 and later), the selector,
// namespace-wide and mesh-wide policies too, as the seed article's early waypoint did.
import type { AuthorizationPolicyDoc, Labels, Service, Workload } from '../../mesh/model';
import { LABEL_GATEWAY_NAME, WAYPOINT_GATEWAY_CLASS } from '../../mesh/model';
import { ROOT_NAMESPACE } from './authorize-l4';
import { CompiledPolicy, compilePolicy } from './compile-policy';
import { labelsMatch } from './match';

/** The name `istioctl waypoint apply` gives a waypoint (a Gateway of class istio-waypoint). */
export const DEFAULT_WAYPOINT_NAME = 'waypoint';
export const GATEWAY_API_GROUP = 'gateway.networking.k8s.io';

/** What the waypoint enforces for: the service a request was addressed to and/or the workload it goes to. */
export interface WaypointTarget {
  /** The destination Service; targetRefs of kind Service attach here. */
  readonly service?: { readonly name: string; readonly namespace: string };
  /** The destination workload; selector (matchLabels) policies attach here. */
  readonly workload?: { readonly namespace: string; readonly labels: Labels };
  /**
   * The waypoint itself, for targetRefs of kind Gateway. Defaults to a Gateway named "waypoint"
   * in the service's (else the workload's) namespace.
   */
  readonly waypoint?: { readonly name: string; readonly namespace?: string };
}

/**
 * What the RBAC filter in front of `pod` enforces for requests addressed to `service` (through
 * `waypoint`); with no service, for requests addressed to the pod itself.
 */
export function rbacTarget(service: Service | undefined, pod: Workload, waypoint?: Workload): WaypointTarget {
  const gateway = waypoint?.labels[LABEL_GATEWAY_NAME];
  return {
    ...(service ? { service: { name: service.name, namespace: service.namespace } } : {}),
    workload: { namespace: pod.namespace, labels: pod.labels },
    ...(waypoint && gateway ? { waypoint: { name: gateway, namespace: waypoint.namespace } } : {}),
  };
}

export interface AuthorizeL7Options {
  readonly rootNamespace?: string;
  /**
   * Only policies with targetRefs apply, as in Istio 1.22 and later, whose waypoints ignore
   * selector, namespace-wide and mesh-wide policies (ztunnel enforces those). Default false: they
   * apply too, as in the early ambient waypoint of the seed article, where productpage-viewer (a
   * selector policy) shows up in the waypoint's RBAC filter.
   */
  readonly targetRefsOnly?: boolean;
}

/** A targetRef as written; every field optional since compile-policy.ts checks only that it is an object. */
export interface TargetRef {
  readonly group?: unknown;
  readonly kind?: unknown;
  readonly name?: unknown;
  readonly namespace?: unknown;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** spec.targetRefs, or the deprecated single spec.targetRef when targetRefs is absent (Istio's GetTargetRefs). */
export function targetRefsOf(doc: AuthorizationPolicyDoc): readonly TargetRef[] {
  const spec: unknown = doc.spec;
  if (!isObject(spec)) return [];
  if (Array.isArray(spec.targetRefs) && spec.targetRefs.length > 0) return spec.targetRefs.filter(isObject);
  return isObject(spec.targetRef) ? [spec.targetRef] : [];
}

/**
 * Group and kind as Istio compares them (config.CanonicalGroup): "" and "core" are the core group.
 * An omitted group is read as the kind's own group, so {kind: Gateway, name: waypoint} works as
 * people write it; an explicit wrong group never matches.
 */
function refIs(ref: TargetRef, kind: string, group: string): boolean {
  if (ref.kind !== kind) return false;
  if (ref.group === undefined || ref.group === null) return true;
  const canonical = (g: unknown): unknown => (g === '' ? 'core' : g);
  return canonical(ref.group) === canonical(group);
}

function waypointOf(target: WaypointTarget): { name: string; namespace?: string } {
  return {
    name: target.waypoint?.name ?? DEFAULT_WAYPOINT_NAME,
    namespace: target.waypoint?.namespace ?? target.service?.namespace ?? target.workload?.namespace,
  };
}

/** Istio's ShouldAttachPolicy for a waypoint, for one targetRef. */
function refMatches(ref: TargetRef, policy: CompiledPolicy, target: WaypointTarget, rootNamespace: string): boolean {
  // Cross-namespace references are unsupported in Istio and never match anything.
  if (ref.namespace !== undefined && ref.namespace !== null && ref.namespace !== '' && ref.namespace !== policy.namespace) return false;
  if (refIs(ref, 'Service', '')) {
    return target.service !== undefined && ref.name === target.service.name && policy.namespace === target.service.namespace;
  }
  if (refIs(ref, 'Gateway', GATEWAY_API_GROUP)) {
    const wp = waypointOf(target);
    return ref.name === wp.name && policy.namespace === wp.namespace;
  }
  if (refIs(ref, 'GatewayClass', GATEWAY_API_GROUP)) {
    // Every waypoint, from a policy in the root namespace only.
    return ref.name === WAYPOINT_GATEWAY_CLASS && policy.namespace === rootNamespace;
  }
  // ServiceEntry and anything else: not modelled by the simulator, so nothing to attach to.
  return false;
}

/** Whether the waypoint applies the policy to requests for this target. */
export function appliesAtWaypoint(doc: AuthorizationPolicyDoc, target: WaypointTarget, options: AuthorizeL7Options = {}): boolean {
  const policy = compilePolicy(doc);
  const rootNamespace = options.rootNamespace ?? ROOT_NAMESPACE;
  if (policy.hasTargetRefs) return targetRefsOf(doc).some((ref) => refMatches(ref, policy, target, rootNamespace));
  if (options.targetRefsOnly) return false;
  const meshWide = policy.namespace === rootNamespace;
  if (policy.selector !== undefined) {
    // As ztunnel: matching workloads in the policy's namespace, or in every namespace from the root.
    const w = target.workload;
    return w !== undefined && (meshWide || policy.namespace === w.namespace) && labelsMatch(policy.selector, w.labels);
  }
  return meshWide || policy.namespace === target.service?.namespace || policy.namespace === target.workload?.namespace;
}
