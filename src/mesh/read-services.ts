// services: a ClusterIP Service with a VIP, a selector and ports (port on the VIP, targetPort on
// the pod). Istio names its listeners and clusters after these (inbound-vip|9080|http|...).
import type { Service, ServicePort } from './model';
import { clusterAddressProblem, portProblem } from './addresses';
import { Entry, EntryReader, labelField } from './entry';
import { nameProblem } from './k8s-names';
import { readLabels } from './read-labels';
import { reservedPortProblem } from './reserved-ports';
import { Field } from './yaml-fields';

export const SERVICE_FIELDS = ['name', 'namespace', 'vip', 'labels', 'selector', 'ports'] as const;
// protocol is accepted so Kubernetes Service ports paste in unchanged; only TCP exists here.
// appProtocol, when set, is the protocol Istio takes for the port (src/mesh/port-protocol.ts).
export const SERVICE_PORT_FIELDS = ['name', 'port', 'targetPort', 'protocol', 'appProtocol'] as const;
const ONLY_PROTOCOL = 'TCP';

export function readService(item: Field): Entry<Service> | undefined {
  const fields = item.map(SERVICE_FIELDS);
  if (!fields) return undefined;
  const r = new EntryReader(fields);
  const labelsField = r.field('labels', false);
  const selectorField = r.field('selector', 'the pod labels it selects, e.g. { app: productpage }');
  const portsField = r.field('ports', 'e.g. [ { name: http, port: 9080, targetPort: 9080 } ]');
  return r.entry<Service>({
    name: r.text('name', 'the service name', (s) => nameProblem(s, 'service')),
    namespace: r.text('namespace', 'e.g. default', (s) => nameProblem(s, 'label')),
    vip: r.text('vip', "the service's cluster address (ClusterIP), e.g. 10.8.4.226", clusterAddressProblem),
    labels: labelsField ? readLabels(labelsField, (key, site) => r.sites.set(labelField(key), site)) : {},
    selector: selectorField && readSelector(selectorField),
    ports: portsField && readPorts(portsField),
  });
}

function readSelector(field: Field): Service['selector'] | undefined {
  const selector = readLabels(field);
  // An empty selector selects nothing in this simulator (real Services then need manual Endpoints).
  if (selector && Object.keys(selector).length === 0) return field.problem('must name at least one label');
  return selector;
}

/**
 * The ports, each checked on its own and against the others of the same service. Ports with
 * problems are left out; the scenario is refused anyway once any problem is recorded.
 */
export function readPorts(field: Field, known: readonly string[] = SERVICE_PORT_FIELDS): ServicePort[] | undefined {
  const items = field.list();
  if (!items) return undefined;
  if (items.length === 0) return field.problem('must list at least one port');
  const ports: ServicePort[] = [];
  const byPort = new Map<number, string>();
  const byName = new Map<string, string>();
  for (const item of items) {
    const fields = item.map(known);
    if (!fields) continue;
    const named = fields.optional('targetPort');
    if (named && typeof named.plain() === 'string' && !/^\d+$/.test(String(named.plain()))) {
      named.problem(`a named targetPort (${String(named.plain())}) is not modelled: give the container's port number`);
      continue;
    }
    const r = new EntryReader(fields);
    // Kubernetes requires names only when there are several ports; Istio reads the name as protocol.
    const name = r.text('name', items.length > 1 ? 'every port of a multi-port service needs a name' : false, (s) => nameProblem(s, 'label'));
    const port = r.integer('port', 'the port on the VIP, e.g. 9080', portProblem);
    const targetPort = fields.has('targetPort') ? r.integer('targetPort', false, portProblem, reservedPortProblem) : defaultTargetPort(r, port);
    r.text('protocol', false, (p) => (p === ONLY_PROTOCOL ? undefined : `${p} is not supported; the simulator carries ${ONLY_PROTOCOL} only`));
    const appProtocol = r.text('appProtocol', false);
    if (port !== undefined) {
      const first = byPort.get(port);
      if (first) r.fields.optional('port')!.problem(`${port} is already used by ${first}`);
      else byPort.set(port, item.path);
    }
    if (name !== undefined) {
      const first = byName.get(name);
      if (first) r.fields.optional('name')!.problem(`${name} is already used by ${first}`);
      else byName.set(name, item.path);
    }
    if (port !== undefined && targetPort !== undefined) ports.push({ name: name ?? '', port, targetPort, ...(appProtocol ? { appProtocol } : {}) });
  }
  return ports;
}

/** targetPort defaults to port, as in Kubernetes; then port itself must not be a mesh port. */
function defaultTargetPort(r: EntryReader, port: number | undefined): number | undefined {
  const reserved = port === undefined ? undefined : reservedPortProblem(port);
  if (reserved) return r.fields.optional('port')!.problem(`${reserved} (targetPort defaults to port)`);
  return port;
}
