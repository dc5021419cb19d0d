// What `hbone-sim get` lists, with kubectl's resource names, short names and columns. The API
// server answers rows and whole objects; the command prints them as a table, yaml or json.
import type { Scenario } from '../mesh/model';
import { WAYPOINT_GATEWAY_CLASS } from '../mesh/model';
import { namespacesOf } from './live-config';

export type ResourceKind = 'pods' | 'services' | 'authorizationpolicies' | 'httproutes' | 'gateways' | 'namespaces' | 'nodes';

/** Kinds that belong to no namespace: -n does not filter them, -A adds no NAMESPACE column. */
export const CLUSTER_SCOPED: readonly ResourceKind[] = ['namespaces', 'nodes'];
const CONTROL_PLANE_SUFFIX = '-control-plane';

/** Every name kubectl takes for each kind: plural, singular, short. */
const NAMES: Readonly<Record<ResourceKind, readonly string[]>> = {
  pods: ['pods', 'pod', 'po'],
  services: ['services', 'service', 'svc'],
  authorizationpolicies: ['authorizationpolicies', 'authorizationpolicy', 'ap'],
  httproutes: ['httproutes', 'httproute'],
  gateways: ['gateways', 'gateway', 'gtw'],
  namespaces: ['namespaces', 'namespace', 'ns'],
  nodes: ['nodes', 'node', 'no'],
};

export function resourceKindOf(name: string): ResourceKind | undefined {
  const n = name.toLowerCase();
  return (Object.keys(NAMES) as ResourceKind[]).find((k) => NAMES[k].includes(n));
}

/** How a pod is doing, as the runner knows it: its status and restarts. */
export type PodStatusOf = (pod: string) => { readonly status: string; readonly restarts: number };

export interface ResourceRow {
  readonly namespace: string;
  /** kubectl's columns, in order (NAME first); `wide` adds the -o wide ones. */
  readonly cells: Readonly<Record<string, string>>;
  /** The object, for -o yaml and -o json. */
  readonly object: unknown;
}

export const COLUMNS: Readonly<Record<ResourceKind, { readonly normal: readonly string[]; readonly wide: readonly string[] }>> = {
  pods: { normal: ['NAME', 'READY', 'STATUS', 'RESTARTS'], wide: ['IP', 'NODE'] },
  services: { normal: ['NAME', 'TYPE', 'CLUSTER-IP', 'EXTERNAL-IP', 'PORT(S)'], wide: ['SELECTOR'] },
  authorizationpolicies: { normal: ['NAME', 'ACTION'], wide: [] },
  httproutes: { normal: ['NAME', 'HOSTNAMES'], wide: [] },
  gateways: { normal: ['NAME', 'CLASS', 'ADDRESS', 'PROGRAMMED'], wide: [] },
  namespaces: { normal: ['NAME', 'STATUS'], wide: [] },
  nodes: { normal: ['NAME', 'STATUS', 'ROLES'], wide: ['INTERNAL-IP'] },
};

/** Rows of a kind, in one namespace or all (`namespace` undefined). */
export function listResources(s: Scenario, kind: ResourceKind, namespace: string | undefined, podStatus: PodStatusOf): ResourceRow[] {
  const inNs = (ns: string) => namespace === undefined || ns === namespace;
  const labels = (l: Readonly<Record<string, string>>) =>
    Object.entries(l)
      .map(([k, v]) => `${k}=${v}`)
      .join(',') || '<none>';
  switch (kind) {
    case 'pods':
      return s.workloads
        .filter((w) => inNs(w.namespace))
        .map((w) => {
          const st = podStatus(w.name);
          return {
            namespace: w.namespace,
            cells: { NAME: w.name, READY: st.status === 'Running' ? '1/1' : '0/1', STATUS: st.status, RESTARTS: String(st.restarts), IP: w.ip, NODE: w.node },
            object: {
              apiVersion: 'v1',
              kind: 'Pod',
              metadata: { name: w.name, namespace: w.namespace, labels: w.labels },
              spec: { nodeName: w.node, serviceAccountName: w.serviceAccount, containers: [{ name: w.app.kind, ports: [{ containerPort: w.app.port }] }] },
              status: { phase: st.status === 'Running' ? 'Running' : 'Pending', podIP: w.ip },
            },
          };
        });
    case 'services':
      return s.services
        .filter((x) => inNs(x.namespace))
        .map((x) => ({
          namespace: x.namespace,
          cells: {
            NAME: x.name,
            TYPE: 'ClusterIP',
            'CLUSTER-IP': x.vip,
            'EXTERNAL-IP': '<none>',
            'PORT(S)': x.ports.map((p) => `${p.port}/TCP`).join(','),
            SELECTOR: labels(x.selector),
          },
          object: {
            apiVersion: 'v1',
            kind: 'Service',
            metadata: { name: x.name, namespace: x.namespace, labels: x.labels },
            spec: {
              type: 'ClusterIP',
              clusterIP: x.vip,
              selector: x.selector,
              ports: x.ports.map((p) => ({ name: p.name, port: p.port, targetPort: p.targetPort })),
            },
          },
        }));
    case 'authorizationpolicies':
      return s.policies
        .filter((p) => inNs(p.metadata.namespace))
        .map(({ origin: _o, ...p }) => ({
          namespace: p.metadata.namespace,
          cells: { NAME: p.metadata.name, ACTION: String(p.spec.action ?? 'ALLOW') },
          object: p,
        }));
    case 'httproutes':
      return s.httpRoutes
        .filter((r) => inNs(r.metadata.namespace))
        .map(({ origin: _o, ...r }) => ({
          namespace: r.metadata.namespace,
          cells: { NAME: r.metadata.name, HOSTNAMES: Array.isArray(r.spec.hostnames) ? JSON.stringify(r.spec.hostnames) : '' },
          object: r,
        }));
    case 'gateways':
      return s.gateways
        .filter((g) => inNs(g.metadata.namespace))
        .map(({ origin: _o, ...g }) => {
          const pod = s.workloads.find((w) => w.namespace === g.metadata.namespace && w.labels['gateway.networking.k8s.io/gateway-name'] === g.metadata.name);
          return {
            namespace: g.metadata.namespace,
            cells: {
              NAME: g.metadata.name,
              CLASS: g.spec.gatewayClassName,
              ADDRESS: pod?.ip ?? '',
              PROGRAMMED: pod && g.spec.gatewayClassName === WAYPOINT_GATEWAY_CLASS ? 'True' : 'False',
            },
            object: g,
          };
        });
    case 'namespaces': {
      // Namespaces are cluster-wide: -n does not filter them, as with kubectl.
      return namespacesOf(s).map((n) => {
        const labels = s.namespaces?.find((x) => x.name === n)?.labels;
        return {
          namespace: '',
          cells: { NAME: n, STATUS: 'Active' },
          object: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: n, ...(labels ? { labels } : {}) }, status: { phase: 'Active' } },
        };
      });
    }
    case 'nodes':
      // kind's control-plane node is named <cluster>-control-plane and carries that role.
      return s.nodes.map((n) => {
        const roles = n.name.endsWith(CONTROL_PLANE_SUFFIX) ? 'control-plane' : '<none>';
        return {
          namespace: '',
          cells: { NAME: n.name, STATUS: 'Ready', ROLES: roles, 'INTERNAL-IP': n.ip },
          object: {
            apiVersion: 'v1',
            kind: 'Node',
            metadata: {
              name: n.name,
              labels: { 'kubernetes.io/hostname': n.name, ...(roles === 'control-plane' ? { 'node-role.kubernetes.io/control-plane': '' } : {}) },
            },
            status: { addresses: [{ type: 'InternalIP', address: n.ip }], conditions: [{ type: 'Ready', status: 'True' }] },
          },
        };
      });
  }
}

/** A scenario pod named as a Deployment's: <deployment>-<ReplicaSet hash>-<suffix>. */
const REPLICA_SUFFIX = /^-[a-z0-9]{5,10}-[a-z0-9]{5}$/;

/** A pod by its name, or the first pod of `deploy/NAME` (sleep-7656cf8794-8tp9n is deploy/sleep). */
export function pickPodName(names: readonly string[], target: string): string | undefined {
  if (!target.startsWith('deploy/')) return names.find((n) => n === target);
  const deployment = target.slice('deploy/'.length);
  return names.find((n) => n.startsWith(deployment) && REPLICA_SUFFIX.test(n.slice(deployment.length)));
}
