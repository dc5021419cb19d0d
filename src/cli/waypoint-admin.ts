// `hbone-sim waypoint apply|list|delete|generate`: istioctl waypoint against the running mesh.
// apply sends the Gateway istioctl would write (class istio-waypoint, one HBONE listener on
// 15008, istio.io/waypoint-for) to the API server, which deploys its waypoint; --enroll-namespace
// then labels the namespace istio.io/use-waypoint, as istioctl does.
import { stringify } from 'yaml';
import type { ChangeAnswer, ChangeRequest, LabelRequest } from '../runner/api-server';
import type { ResourceRow } from '../runner/resources-view';
import { LABEL_USE_WAYPOINT, LABEL_WAYPOINT_FOR, WAYPOINT_GATEWAY_CLASS } from '../mesh/model';
import { WAYPOINT_PORT } from '../mesh/app-kinds';
import { Flags, UsageError, stringFlag } from './args';
import { ApiError, callApi, meshAccess } from './api-client';
import { table } from './get';

export const WAYPOINT_VERBS = ['apply', 'list', 'delete', 'generate'] as const;
/** istioctl's default waypoint name and traffic type. */
const DEFAULT_NAME = 'waypoint';
const WAYPOINT_FOR = ['service', 'workload', 'all', 'none'];
/** The revision column istioctl prints: hbone-sim runs one control plane. */
const REVISION = 'default';

/** The Gateway `istioctl waypoint generate` writes. */
export function waypointGateway(name: string, namespace: string, trafficType: string): unknown {
  return {
    apiVersion: 'gateway.networking.k8s.io/v1',
    kind: 'Gateway',
    metadata: { labels: { [LABEL_WAYPOINT_FOR]: trafficType }, name, namespace },
    spec: { gatewayClassName: WAYPOINT_GATEWAY_CLASS, listeners: [{ name: 'mesh', port: WAYPOINT_PORT, protocol: 'HBONE' }] },
  };
}

export async function waypointAdmin(verb: string, operands: readonly string[], flags: Flags): Promise<number> {
  const namespace = stringFlag(flags, 'namespace') ?? 'default';
  const trafficType = stringFlag(flags, 'for') ?? 'service';
  if (!WAYPOINT_FOR.includes(trafficType)) throw new UsageError(`--for must be one of ${WAYPOINT_FOR.join(', ')}, not ${JSON.stringify(trafficType)}`);
  if (verb !== 'delete' && operands.length > 0) throw new UsageError(`waypoint ${verb} takes no name as an argument: use --name`);
  const name = stringFlag(flags, 'name') ?? DEFAULT_NAME;
  const yaml = stringify(waypointGateway(name, namespace, trafficType));
  if (verb === 'generate') {
    process.stdout.write(yaml);
    return 0;
  }
  try {
    const access = meshAccess(flags);
    if (verb === 'list') return await list(access, namespace, flags['all-namespaces'] === true);
    if (verb === 'delete') {
      const names = operands.length > 0 ? operands : [name];
      const files = names.map((n) => ({ file: `waypoint ${namespace}/${n}`, text: stringify(waypointGateway(n, namespace, trafficType)) }));
      await callApi<ChangeAnswer>(access, 'POST', '/delete', { files } satisfies ChangeRequest);
      for (const n of names) process.stdout.write(`waypoint ${namespace}/${n} deleted\n`);
      return 0;
    }
    const applied = await callApi<ChangeAnswer>(access, 'POST', '/apply', {
      files: [{ file: `waypoint ${namespace}/${name}`, text: yaml }],
      wait: flags.wait === true,
    } satisfies ChangeRequest);
    process.stdout.write(`✅ waypoint ${namespace}/${name} applied\n`);
    for (const line of applied.lines.slice(1)) process.stdout.write(`   ${line}\n`);
    if (flags['enroll-namespace'] === true) {
      const label: LabelRequest = { kind: 'namespace', name: namespace, namespace, changes: { [LABEL_USE_WAYPOINT]: name }, overwrite: true };
      await callApi<ChangeAnswer>(access, 'POST', '/label', label);
      process.stdout.write(`✅ namespace ${namespace} labeled with "${LABEL_USE_WAYPOINT}: ${name}"\n`);
    }
    return 0;
  } catch (err) {
    if (!(err instanceof ApiError)) throw err;
    process.stderr.write(`error: ${err.message}\n`);
    return 1;
  }
}

async function list(access: ReturnType<typeof meshAccess>, namespace: string, all: boolean): Promise<number> {
  const query = new URLSearchParams({ resource: 'gateways', namespace, ...(all ? { all: '1' } : {}) });
  const { items } = await callApi<{ items: ResourceRow[] }>(access, 'GET', `/get?${query.toString()}`);
  const waypoints = items.filter((i) => i.cells.CLASS === WAYPOINT_GATEWAY_CLASS);
  if (waypoints.length === 0) {
    process.stdout.write(all ? 'No waypoints found.\n' : `No waypoints found in namespace ${namespace}.\n`);
    return 0;
  }
  const columns = [...(all ? ['NAMESPACE'] : []), 'NAME', 'REVISION', 'PROGRAMMED'];
  const rows = waypoints.map((w) => [...(all ? [w.namespace] : []), w.cells.NAME, REVISION, w.cells.PROGRAMMED]);
  process.stdout.write(table(columns, rows));
  return 0;
}
