// workloads: one entry per pod. Replicas are separate entries sharing labels and service account.
import type { Labels, Workload } from './model';
import { clusterAddressProblem, portProblem } from './addresses';
import { APP_KINDS, WAYPOINT_APP, WAYPOINT_PORT, isAppKind } from './app-kinds';
import { Entry, EntryReader, labelField } from './entry';
import { nameProblem } from './k8s-names';
import { readLabels } from './read-labels';
import { reservedPortProblem } from './reserved-ports';
import { Field } from './yaml-fields';

export const WORKLOAD_FIELDS = ['name', 'workload', 'namespace', 'serviceAccount', 'node', 'ip', 'labels', 'run'] as const;
export const RUN_FIELDS = ['app', 'port'] as const;

export function readWorkload(item: Field): Entry<Workload> | undefined {
  const fields = item.map(WORKLOAD_FIELDS);
  if (!fields) return undefined;
  const r = new EntryReader(fields);
  const name = r.text('name', 'the pod name', (s) => nameProblem(s, 'subdomain'));
  const labelsField = r.field('labels', false);
  const labels = labelsField ? readLabels(labelsField, (key, site) => r.sites.set(labelField(key), site)) : {};
  const run = r.nested('run', 'which program the pod runs, e.g. { app: productpage, port: 9080 }', RUN_FIELDS);
  const kind = run?.text('app', `one of ${APP_KINDS.join(', ')}`, appKindProblem);
  // A waypoint listens on the HBONE port, which is reserved for every other program.
  const port =
    kind === WAYPOINT_APP
      ? run?.fields.has('port')
        ? run.integer('port', false, waypointPortProblem)
        : WAYPOINT_PORT
      : run?.integer('port', 'the port the program listens on', portProblem, reservedPortProblem);
  return r.entry<Workload>({
    name,
    namespace: r.text('namespace', 'e.g. default', (s) => nameProblem(s, 'label')),
    serviceAccount: r.text('serviceAccount', "the pod's identity, e.g. bookinfo-productpage", (s) => nameProblem(s, 'subdomain')),
    node: r.text('node', 'the node the pod runs on'),
    ip: r.text('ip', "the pod's cluster address, e.g. 10.4.0.5", clusterAddressProblem),
    labels,
    app: kind !== undefined && port !== undefined ? { kind, port } : undefined,
    workloadName: r.text('workload', false, (s) => nameProblem(s, 'subdomain')) ?? defaultWorkloadName(name, labels),
  });
}

/** Deployments in bookinfo are named <app>-<version> (reviews-v2); otherwise the pod stands alone. */
export function defaultWorkloadName(podName: string | undefined, labels: Labels | undefined): string | undefined {
  const app = labels?.app;
  const version = labels?.version;
  if (app && version) return `${app}-${version}`;
  // A pod named as a Deployment's (<deployment>-<ReplicaSet hash>-<suffix>) belongs to that Deployment.
  return (podName && REPLICA_POD_NAME.exec(podName)?.[1]) || podName;
}

const REPLICA_POD_NAME = /^(.+)-[a-z0-9]{5,10}-[a-z0-9]{5}$/;

function waypointPortProblem(port: number): string | undefined {
  if (port === WAYPOINT_PORT) return undefined;
  return `${port} is not a waypoint's port: a waypoint receives HBONE on ${WAYPOINT_PORT} only (write ${WAYPOINT_PORT} or leave port out)`;
}

function appKindProblem(kind: string): string | undefined {
  return isAppKind(kind) ? undefined : `${JSON.stringify(kind)} is not a program the simulator runs (one of ${APP_KINDS.join(', ')})`;
}
