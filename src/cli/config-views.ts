// istioctl's tables of a proxy's live configuration, read from its /config_dump through the API
// server: `x ztunnel-config workloads|services|policies|certificates` (istioctl ztunnel-config)
// and `proxy-config listeners|clusters|routes <waypoint>` (istioctl proxy-config).

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj => (v && typeof v === 'object' ? (v as Obj) : {});
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const str = (v: unknown): string => (v === undefined || v === null ? '' : String(v));

export interface View {
  readonly columns: readonly string[];
  readonly rows: readonly (readonly string[])[];
}

export const ZTUNNEL_VIEWS = ['workloads', 'services', 'policies', 'certificates'] as const;
export const ENVOY_VIEWS = ['listeners', 'clusters', 'routes'] as const;

/** ztunnel's dump (camelCase, as ztunnel's own). */
export function ztunnelView(view: (typeof ZTUNNEL_VIEWS)[number], dump: unknown): View {
  const d = obj(dump);
  const workloads = arr(d.workloads).map(obj);
  const nameOfIp = (ip: string) => workloads.find((w) => arr(w.workloadIps).includes(ip))?.name;
  switch (view) {
    case 'workloads':
      return {
        columns: ['NAMESPACE', 'POD NAME', 'ADDRESS', 'NODE', 'WAYPOINT', 'PROTOCOL'],
        rows: workloads.map((w) => {
          const waypointIp = str(obj(w.waypoint).destination).split('/').pop() ?? '';
          const waypoint = (waypointIp && str(nameOfIp(waypointIp))) || 'None';
          return [str(w.namespace), str(w.name), arr(w.workloadIps).map(str).join(','), str(w.node), waypoint, str(w.protocol)];
        }),
      };
    case 'services':
      return {
        columns: ['NAMESPACE', 'SERVICE NAME', 'SERVICE VIP', 'WAYPOINT', 'ENDPOINTS'],
        rows: arr(d.services)
          .map(obj)
          .map((s) => {
            const waypointIp = str(obj(s.waypoint).destination).split('/').pop() ?? '';
            const endpoints = Object.values(obj(s.endpoints)).map(obj);
            const healthy = endpoints.filter((e) => e.status === 'Healthy').length;
            const waypoint = (waypointIp && str(nameOfIp(waypointIp))) || 'None';
            return [
              str(s.namespace),
              str(s.name),
              arr(s.vips)
                .map((v) => str(v).split('/').pop())
                .join(','),
              waypoint,
              `${healthy}/${endpoints.length}`,
            ];
          }),
      };
    case 'policies':
      return {
        columns: ['NAMESPACE', 'POLICY NAME', 'ACTION', 'SCOPE'],
        rows: arr(d.policies)
          .map(obj)
          .map((p) => [str(p.namespace), str(p.name), str(p.action), str(p.scope)]),
      };
    case 'certificates':
      return {
        columns: ['CERTIFICATE NAME', 'TYPE', 'STATUS', 'VALID CERT', 'SERIAL NUMBER', 'NOT AFTER', 'NOT BEFORE'],
        rows: arr(d.certificates)
          .map(obj)
          .flatMap((c) =>
            arr(c.certChain)
              .map(obj)
              .map((x, i, all) => [
                str(c.identity),
                i === all.length - 1 && all.length > 1 ? 'CA' : 'Leaf',
                str(c.state),
                String(Date.parse(str(x.expirationTime)) > Date.now()),
                str(x.serialNumber).toLowerCase(),
                str(x.expirationTime),
                str(x.validFrom),
              ]),
          ),
      };
  }
}

/** An Envoy config dump's listeners, clusters or routes. */
export function envoyView(view: (typeof ENVOY_VIEWS)[number], dump: unknown): View {
  const configs = arr(obj(dump).configs).map(obj);
  const of = (type: string) => configs.find((c) => str(c['@type']).endsWith(type)) ?? {};
  switch (view) {
    case 'listeners':
      return {
        columns: ['NAME', 'ADDRESS', 'PORT', 'TYPE'],
        rows: arr(of('ListenersConfigDump').dynamic_listeners)
          .map((l) => obj(obj(obj(l).active_state).listener))
          .map((l) => {
            const socket = obj(obj(l.address).socket_address);
            return [
              str(l.name),
              socket.address === undefined ? '-' : str(socket.address),
              socket.port_value === undefined ? '-' : str(socket.port_value),
              l.internal_listener ? 'internal' : 'TCP',
            ];
          }),
      };
    case 'clusters':
      return {
        columns: ['SERVICE FQDN', 'PORT', 'SUBSET', 'DIRECTION', 'TYPE', 'NAME'],
        rows: arr(of('ClustersConfigDump').dynamic_active_clusters)
          .map((c) => obj(obj(c).cluster))
          .map((c) => {
            // Envoy's names: <direction>[-vip|-pod]|<port>|<subset>|<fqdn or ip>
            const name = str(c.name);
            const parts = name.split('|');
            const direction = parts.length === 4 ? parts[0].replace(/-(vip|pod)$/, '') : '-';
            return parts.length === 4 ? [parts[3], parts[1], parts[2] || '-', direction, str(c.type), name] : [name, '-', '-', '-', str(c.type), name];
          }),
      };
    case 'routes':
      return {
        columns: ['NAME', 'VHOST NAME', 'DOMAINS', 'MATCH', 'ROUTE NAME'],
        rows: arr(of('RoutesConfigDump').dynamic_route_configs)
          .map((r) => obj(obj(r).route_config))
          .flatMap((rc) =>
            arr(rc.virtual_hosts)
              .map(obj)
              .flatMap((vh) =>
                arr(vh.routes)
                  .map(obj)
                  .map((route) => {
                    const m = obj(route.match);
                    const match =
                      m.prefix !== undefined
                        ? `${str(m.prefix)}*`
                        : m.path_separated_prefix !== undefined
                          ? `PathPrefix:${str(m.path_separated_prefix)}`
                          : m.path !== undefined
                            ? str(m.path)
                            : m.safe_regex !== undefined
                              ? `regex ${str(obj(m.safe_regex).regex)}`
                              : '*';
                    return [str(rc.name), str(vh.name), arr(vh.domains).map(str).join(','), match, str(route.name) || '-'];
                  }),
              ),
          ),
      };
  }
}
