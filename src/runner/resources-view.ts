// What `hbone-sim get` lists, with kubectl's resource names, short names and columns. The API
// server answers rows and whole objects; the command prints them as a table, yaml or json.
import type { Deployment, Scenario, ServiceAccount } from '../mesh/model';
import { findDeployment, podsOf } from '../mesh/deployment-controller';
import { DEFAULT_SERVICE_ACCOUNT } from '../mesh/read-pod-spec';
import { WAYPOINT_GATEWAY_CLASS } from '../mesh/model';
import { ingressName, isIngressGateway } from '../mesh/ingress-gateway';
import { namespacesOf } from './live-config';
import { LABEL_CONTROL_PLANE, nodeLabels } from '../mesh/pod-placement';

export type ResourceKind =
  'pods' | 'deployments' | 'services' | 'serviceaccounts' | 'authorizationpolicies' | 'httproutes' | 'gateways' | 'namespaces' | 'nodes';

/** Kinds that belong to no namespace: -n does not filter them, -A adds no NAMESPACE column. */
export const CLUSTER_SCOPED: readonly ResourceKind[] = ['namespaces', 'nodes'];

/** Every name kubectl takes for each kind: plural, singular, short. */
const NAMES: Readonly<Record<ResourceKind, readonly string[]>> = {
  pods: ['pods', 'pod', 'po'],
  deployments: ['deployments', 'deployment', 'deploy', 'deployments.apps', 'deployment.apps'],
  serviceaccounts: ['serviceaccounts', 'serviceaccount', 'sa'],
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
  deployments: { normal: ['NAME', 'READY', 'UP-TO-DATE', 'AVAILABLE'], wide: ['CONTAINERS', 'IMAGES', 'SELECTOR'] },
  services: { normal: ['NAME', 'TYPE', 'CLUSTER-IP', 'EXTERNAL-IP', 'PORT(S)'], wide: ['SELECTOR'] },
  serviceaccounts: { normal: ['NAME', 'SECRETS'], wide: [] },
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
    case 'deployments':
      return deploymentsOf(s)
        .filter((d) => inNs(d.namespace))
        .map((d) => {
          const pods = podsOf(s, d);
          const ready = pods.filter((w) => podStatus(w.name).status === 'Running').length;
          const image = d.template.image ?? `(${d.template.app.kind}, run by the scenario)`;
          return {
            namespace: d.namespace,
            cells: {
              NAME: d.name,
              READY: `${ready}/${d.replicas}`,
              'UP-TO-DATE': String(pods.length),
              AVAILABLE: String(ready),
              CONTAINERS: d.template.app.kind,
              IMAGES: image,
              SELECTOR: labels(d.selector),
            },
            object: {
              apiVersion: 'apps/v1',
              kind: 'Deployment',
              metadata: { name: d.name, namespace: d.namespace, labels: d.labels },
              spec: {
                replicas: d.replicas,
                selector: { matchLabels: d.selector },
                template: {
                  metadata: { labels: d.template.labels },
                  spec: {
                    serviceAccountName: d.template.serviceAccount,
                    containers: [{ name: d.template.app.kind, image, ports: [{ containerPort: d.template.app.port }] }],
                  },
                },
              },
              status: { replicas: pods.length, readyReplicas: ready },
            },
          };
        });
    case 'serviceaccounts':
      return serviceAccountsOf(s)
        .filter((a) => inNs(a.namespace))
        .map((a) => ({
          namespace: a.namespace,
          cells: { NAME: a.name, SECRETS: '0' },
          object: {
            apiVersion: 'v1',
            kind: 'ServiceAccount',
            metadata: { name: a.name, namespace: a.namespace, ...(Object.keys(a.labels).length ? { labels: a.labels } : {}) },
          },
        }));
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
              ports: x.ports.map((p) => ({ name: p.name, port: p.port, targetPort: p.targetPort, ...(p.appProtocol ? { appProtocol: p.appProtocol } : {}) })),
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
          // An ingress Gateway's address is its Service's, as Istio writes it in the Gateway's status.
          const ingress = isIngressGateway(g)
            ? s.services.find((x) => x.namespace === g.metadata.namespace && x.name === ingressName(g.metadata.name))
            : undefined;
          const programmed = pod !== undefined && (g.spec.gatewayClassName === WAYPOINT_GATEWAY_CLASS || ingress !== undefined);
          return {
            namespace: g.metadata.namespace,
            cells: {
              NAME: g.metadata.name,
              CLASS: g.spec.gatewayClassName,
              ADDRESS: ingress?.vip ?? pod?.ip ?? '',
              PROGRAMMED: programmed ? 'True' : 'False',
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
        const own = nodeLabels(n);
        const roles = LABEL_CONTROL_PLANE in own ? 'control-plane' : '<none>';
        return {
          namespace: '',
          cells: { NAME: n.name, STATUS: 'Ready', ROLES: roles, 'INTERNAL-IP': n.ip },
          object: {
            apiVersion: 'v1',
            kind: 'Node',
            metadata: { name: n.name, labels: own },
            status: { addresses: [{ type: 'InternalIP', address: n.ip }], conditions: [{ type: 'Ready', status: 'True' }] },
          },
        };
      });
  }
}

/**
 * The mesh's Deployments: those applied, and those its other pods imply (a scenario's workloads
 * and waypoints, by workload name); a bare pod (named as its workload) belongs to none.
 */
function deploymentsOf(s: Scenario): Deployment[] {
  const applied = s.deployments ?? [];
  const implied = new Map<string, Deployment>();
  for (const w of s.workloads) {
    const key = `${w.namespace}/${w.workloadName}`;
    if (w.name === w.workloadName || implied.has(key) || applied.some((d) => d.namespace === w.namespace && d.name === w.workloadName)) continue;
    const d = findDeployment(s, w.namespace, w.workloadName, true);
    if (d) implied.set(key, d);
  }
  return [...applied, ...implied.values()].sort((a, b) => a.namespace.localeCompare(b.namespace) || a.name.localeCompare(b.name));
}

/** Service accounts: those applied, those pods run as, and each namespace's default. */
function serviceAccountsOf(s: Scenario): ServiceAccount[] {
  const all = new Map<string, ServiceAccount>();
  const add = (a: ServiceAccount) => all.set(`${a.namespace}/${a.name}`, a);
  for (const ns of namespacesOf(s)) add({ name: DEFAULT_SERVICE_ACCOUNT, namespace: ns, labels: {} });
  for (const w of s.workloads) if (!all.has(`${w.namespace}/${w.serviceAccount}`)) add({ name: w.serviceAccount, namespace: w.namespace, labels: {} });
  for (const a of s.serviceAccounts ?? []) add(a);
  return [...all.values()].sort((a, b) => a.namespace.localeCompare(b.namespace) || a.name.localeCompare(b.name));
}

/** A scenario pod named as a Deployment's: <deployment>-<ReplicaSet hash>-<suffix>. */
const REPLICA_SUFFIX = /^-[a-z0-9]{5,10}-[a-z0-9]{5}$/;

/** A pod by its name, or the first pod of `deploy/NAME` (sleep-7656cf8794-8tp9n is deploy/sleep). */
export function pickPodName(names: readonly string[], target: string): string | undefined {
  if (!target.startsWith('deploy/')) return names.find((n) => n === target);
  const deployment = target.slice('deploy/'.length);
  return names.find((n) => n.startsWith(deployment) && REPLICA_SUFFIX.test(n.slice(deployment.length)));
}
