// The waypoint's Envoy-shaped /config_dump, checked against the names and shapes of the seed
// article's dump (seeds/000_e084629a9de7f8f1.txt) for the bundled waypoint scenario.
import t from 'tap';
import { loadScenario } from '../../src/mesh/load';
import type { AuthorizationPolicyDoc, Scenario, Workload } from '../../src/mesh/model';
import { MeshState } from '../../src/mesh/state';
import type { Json, JsonObject } from '../../src/admin/json';
import { configDump, findConfig, DUMP_TYPES, EnvoyConfigDump } from '../../src/waypoint/config-dump';
import { STAGE_ORIGINATE, STAGE_TERMINATE, internalClusterName, podStage, vipListenerName, vipStage, workloadMetadata } from '../../src/waypoint/envoy-names';
import { authorizeL7, rbacTarget } from '../../src/policy/authz';

/**
 * The bundled scenario with the seed's waypoint: bookinfo (it was scenarios/waypoint.yaml until
 * bookinfo went through the waypoint); whichever exists and has a waypoint pod.
 */
function waypointScenario(): Scenario {
  for (const name of ['bookinfo', 'waypoint']) {
    try {
      const s = loadScenario(name);
      if (s.workloads.some((w) => w.app.kind === 'waypoint')) return s;
    } catch {
      // not bundled (any more): try the next
    }
  }
  throw new Error('no bundled scenario with a waypoint pod');
}

const scenario = waypointScenario();
const state = new MeshState(scenario);
const waypoint = scenario.workloads.find((w) => w.app.kind === 'waypoint') as Workload;
const served = state.servicesOfWaypoint(waypoint);
const productpage = scenario.services.find((s) => s.name === 'productpage' && s.namespace === 'default')!;
const reviews = scenario.services.find((s) => s.name === 'reviews' && s.namespace === 'default')!;
const PP_HOST = 'productpage.default.svc.cluster.local';
const WHEN = new Date('2022-11-17T03:27:45.000Z');

function dump(options: Parameters<typeof configDump>[3] = {}): EnvoyConfigDump {
  return configDump(state, waypoint, served, { lastUpdated: WHEN, ...options });
}

/** Walks a JSON value by keys and indexes; throws with the path when something is missing. */
function dig(value: Json | undefined, ...path: (string | number)[]): Json {
  let v: Json | undefined = value;
  const seen: (string | number)[] = [];
  for (const key of path) {
    seen.push(key);
    if (v === null || typeof v !== 'object') throw new Error(`no ${seen.join('.')}`);
    v = Array.isArray(v) ? v[key as number] : (v as JsonObject)[key as string];
    if (v === undefined) throw new Error(`no ${seen.join('.')}`);
  }
  return v as Json;
}
const list = (v: Json): JsonObject[] => v as JsonObject[];

function listeners(d: EnvoyConfigDump): Map<string, JsonObject> {
  return new Map(list(dig(findConfig(d, 'listeners'), 'dynamic_listeners')).map((l) => [l.name as string, dig(l, 'active_state', 'listener') as JsonObject]));
}
function clusters(d: EnvoyConfigDump): Map<string, JsonObject> {
  return new Map(
    list(dig(findConfig(d, 'clusters'), 'dynamic_active_clusters')).map((c) => [dig(c, 'cluster', 'name') as string, dig(c, 'cluster') as JsonObject]),
  );
}
function endpoints(d: EnvoyConfigDump): Map<string, JsonObject> {
  return new Map(
    list(dig(findConfig(d, 'endpoints'), 'dynamic_endpoint_configs')).map((e) => [
      dig(e, 'endpoint_config', 'cluster_name') as string,
      dig(e, 'endpoint_config') as JsonObject,
    ]),
  );
}
function routeConfigs(d: EnvoyConfigDump): Map<string, JsonObject> {
  return new Map(
    list(dig(findConfig(d, 'routes'), 'dynamic_route_configs')).map((r) => [dig(r, 'route_config', 'name') as string, dig(r, 'route_config') as JsonObject]),
  );
}
function httpFilters(listener: JsonObject): JsonObject[] {
  return list(dig(listener, 'filter_chains', 0, 'filters', 0, 'typed_config', 'http_filters'));
}

t.test('the scenario is the seed article’s', async (t) => {
  t.equal(waypoint.ip, '10.4.3.10', 'the waypoint keeps the seed’s address');
  t.equal(productpage.vip, '10.8.4.226');
  t.ok(served.includes(productpage) && served.includes(reviews), 'productpage and reviews use the waypoint');
  t.ok(scenario.workloads.some((w) => w.ip === '10.4.0.5' && w.labels.app === 'productpage'));
});

t.test('configs: Envoy’s admin types, in Envoy’s order', async (t) => {
  const d = dump();
  t.same(
    d.configs.map((c) => c['@type']),
    [DUMP_TYPES.bootstrap, DUMP_TYPES.clusters, DUMP_TYPES.endpoints, DUMP_TYPES.listeners, DUMP_TYPES.routes],
  );
  t.equal(DUMP_TYPES.listeners, 'type.googleapis.com/envoy.admin.v3.ListenersConfigDump');
  t.equal(DUMP_TYPES.clusters, 'type.googleapis.com/envoy.admin.v3.ClustersConfigDump');
  t.same(JSON.parse(JSON.stringify(d)), d, 'plain JSON: nothing undefined, nothing lost');
  t.match(dig(findConfig(d, 'bootstrap'), 'bootstrap', 'node', 'id'), /^waypoint~10\.4\.3\.10~waypoint-[^.]+\.default~default\.svc\.cluster\.local$/);
  t.equal(findConfig(dump({ includeEds: false }), 'endpoints'), undefined, 'no EDS without include_eds');
  const l = list(dig(findConfig(d, 'listeners'), 'dynamic_listeners'))[0];
  t.equal(dig(l, 'active_state', 'version_info'), '2022-11-17T03:27:45Z/1');
  t.equal(dig(l, 'active_state', 'last_updated'), '2022-11-17T03:27:45.000Z');
});

t.test('listener names follow the path of the seed', async (t) => {
  const names = [...listeners(dump()).keys()];
  t.equal(names[0], STAGE_TERMINATE);
  t.equal(names[names.length - 1], STAGE_ORIGINATE);
  for (const n of [
    'inbound_CONNECT_terminate',
    `inbound-vip|9080||${PP_HOST}`,
    'inbound-vip|9080||reviews.default.svc.cluster.local',
    'inbound-pod|9080||10.4.0.5',
    'inbound-pod|9080||10.4.3.4',
    'inbound-pod|9080||10.4.3.5',
    'inbound-pod|9080||10.4.3.6',
    'inbound_CONNECT_originate',
  ]) {
    t.ok(names.includes(n), n);
  }
  const details = scenario.services.find((s) => s.name === 'details');
  if (details && !served.includes(details))
    t.notOk(
      names.some((n) => n.includes('10.4.1.12')),
      'details does not use the waypoint: no listener for its pod',
    );
  t.equal(vipListenerName(productpage, 9080), `inbound-vip|9080||${PP_HOST}`);
});

t.test('stage 1: inbound_CONNECT_terminate matches :authority VIP:port', async (t) => {
  const l = listeners(dump()).get(STAGE_TERMINATE)!;
  t.same(dig(l, 'address'), { socket_address: { address: '10.4.3.10', port_value: 15008 } }, '15008, not the seed’s 15006');
  t.match(dig(l, 'metadata', 'filter_metadata', 'hbone-sim', 'note'), /15006.*15008/);
  const hcm = dig(l, 'filter_chains', 0, 'filters', 0) as JsonObject;
  t.equal(hcm.name, 'envoy.filters.network.http_connection_manager');
  t.equal(dig(hcm, 'typed_config', 'http2_protocol_options', 'allow_connect'), true);
  const routes = list(dig(hcm, 'typed_config', 'route_config', 'virtual_hosts', 0, 'routes'));
  t.equal(
    routes.length,
    served.reduce((n, s) => n + s.ports.length, 0),
    'one route per served service port',
  );
  const pp = routes.find((r) => dig(r, 'match', 'headers', 0, 'string_match', 'exact') === '10.8.4.226:9080')!;
  t.ok(pp, 'the seed’s :authority');
  t.same(dig(pp, 'match', 'connect_matcher'), {});
  t.equal(dig(pp, 'route', 'cluster'), `inbound-vip|9080|internal|${PP_HOST}`);
  t.equal(dig(pp, 'route', 'upgrade_configs', 0, 'upgrade_type'), 'CONNECT');
  const tls = dig(l, 'filter_chains', 0, 'transport_socket', 'typed_config') as JsonObject;
  t.equal(tls['@type'], 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext');
  t.equal(tls.require_client_certificate, true, 'mutual TLS');
  t.equal(dig(tls, 'common_tls_context', 'tls_params', 'tls_minimum_protocol_version'), 'TLSv1_3');

  const internal = clusters(dump()).get(internalClusterName(productpage, 9080))!;
  t.equal(internal.type, 'STATIC');
  t.equal(
    dig(internal, 'load_assignment', 'endpoints', 0, 'lb_endpoints', 0, 'endpoint', 'address', 'envoy_internal_address', 'server_listener_name'),
    `inbound-vip|9080||${PP_HOST}`,
  );
});

t.test('stage 2: inbound-vip|9080|http|<host> routes', async (t) => {
  const d = dump();
  const vip = listeners(d).get(vipListenerName(productpage, 9080))!;
  t.same(vip.internal_listener, {});
  const hcm = dig(vip, 'filter_chains', 0, 'filters', 0, 'typed_config') as JsonObject;
  t.equal(hcm['@type'], 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager');
  t.equal(dig(hcm, 'rds', 'route_config_name'), `inbound-vip|9080|http|${PP_HOST}`);
  t.equal(vipStage(productpage, 9080), `inbound-vip|9080|http|${PP_HOST}`, 'the waypoint’s stage 2 name');

  const routes = routeConfigs(d);
  t.same([...routes.keys()].sort(), served.flatMap((s) => s.ports.map((p) => vipStage(s, p.port))).sort(), 'one route config per served service port');
  const ppRoutes = list(dig(routes.get(vipStage(productpage, 9080)), 'virtual_hosts', 0, 'routes'));
  t.equal(dig(routes.get(vipStage(productpage, 9080)), 'virtual_hosts', 0, 'name'), 'inbound|http|9080');
  t.equal(ppRoutes.length, 1, 'no HTTPRoute on productpage: the default route, as in the seed');
  t.same(dig(ppRoutes[0], 'match'), { prefix: '/' });
  t.equal(dig(ppRoutes[0], 'route', 'cluster'), `inbound-vip|9080|http|${PP_HOST}`);
  t.equal(dig(ppRoutes[0], 'name'), 'default');

  // reviews: the HTTPRoute's two rules, most specific first, named <ns>.<name>.<index>.
  const rv = list(dig(routes.get(vipStage(reviews, 9080)), 'virtual_hosts', 0, 'routes'));
  t.same(
    rv.map((r) => r.name),
    ['default.reviews.0', 'default.reviews.1'],
  );
  t.same(dig(rv[0], 'match', 'headers'), [{ name: 'end-user', string_match: { exact: 'jason' } }]);
  t.equal(dig(rv[0], 'route', 'cluster'), 'inbound-vip|9080|http|reviews-v2.default.svc.cluster.local');
  t.same(dig(rv[1], 'route', 'weighted_clusters', 'clusters'), [
    { name: 'inbound-vip|9080|http|reviews-v1.default.svc.cluster.local', weight: 80 },
    { name: 'inbound-vip|9080|http|reviews-v3.default.svc.cluster.local', weight: 20 },
  ]);
  t.equal(dig(rv[1], 'route', 'retry_policy', 'num_retries'), 2, 'Istio’s default retries');
  t.same(dig(rv[1], 'route', 'retry_policy', 'retriable_status_codes'), [503]);

  // Every cluster a route names exists, as EDS with the service in its istio metadata.
  const cl = clusters(d);
  for (const name of ['inbound-vip|9080|http|reviews-v1.default.svc.cluster.local', `inbound-vip|9080|http|${PP_HOST}`]) {
    const c = cl.get(name)!;
    t.equal(c?.type, 'EDS', name);
    t.equal(dig(c, 'eds_cluster_config', 'service_name'), name);
  }
  t.same(dig(cl.get(`inbound-vip|9080|http|${PP_HOST}`), 'metadata', 'filter_metadata', 'istio', 'services'), [
    { namespace: 'default', name: 'productpage', host: PP_HOST },
  ]);
});

t.test('endpoints: each service’s pods, by their inbound-pod listener', async (t) => {
  const eds = endpoints(dump());
  const pp = eds.get(`inbound-vip|9080|http|${PP_HOST}`)!;
  t.equal(pp['@type'], 'type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment');
  const ep = dig(pp, 'endpoints', 0, 'lb_endpoints', 0) as JsonObject;
  t.equal(dig(ep, 'endpoint', 'address', 'envoy_internal_address', 'server_listener_name'), 'inbound-pod|9080||10.4.0.5');
  t.equal(dig(ep, 'metadata', 'filter_metadata', 'istio', 'workload'), 'productpage-v1;default;productpage;v1;Kubernetes', 'the seed’s workload metadata');
  t.same(dig(ep, 'metadata', 'filter_metadata', 'tunnel'), { destination: '10.4.0.5:9080', address: '10.4.0.5:15008' });
  t.equal(dig(ep, 'health_status'), 'HEALTHY');
  const rv = list(dig(eds.get('inbound-vip|9080|http|reviews.default.svc.cluster.local'), 'endpoints', 0, 'lb_endpoints'));
  t.same(
    rv.map((e) => dig(e, 'endpoint', 'address', 'envoy_internal_address', 'server_listener_name')),
    ['inbound-pod|9080||10.4.3.4', 'inbound-pod|9080||10.4.3.5', 'inbound-pod|9080||10.4.3.6'],
  );
  t.equal(list(dig(eds.get('inbound-vip|9080|http|reviews-v2.default.svc.cluster.local'), 'endpoints', 0, 'lb_endpoints')).length, 1);
  const pod = scenario.workloads.find((w) => w.ip === '10.4.0.5')!;
  t.equal(workloadMetadata(pod), 'productpage-v1;default;productpage;v1;Kubernetes');
});

t.test('stage 3: inbound-pod|9080||10.4.0.5 carries the seed’s RBAC filter', async (t) => {
  const d = dump();
  const l = listeners(d).get('inbound-pod|9080||10.4.0.5')!;
  t.equal(dig(l, 'filter_chains', 0, 'filters', 0, 'typed_config', 'route_config', 'name'), 'inbound-pod|9080||10.4.0.5');
  t.equal(
    dig(l, 'filter_chains', 0, 'filters', 0, 'typed_config', 'route_config', 'virtual_hosts', 0, 'routes', 0, 'route', 'cluster'),
    'inbound-pod|9080||10.4.0.5',
  );
  const filters = httpFilters(l);
  t.same(
    filters.map((f) => f.name),
    ['envoy.filters.http.rbac', 'envoy.filters.http.router'],
  );
  const rbac = dig(filters[0], 'typed_config') as JsonObject;
  t.equal(rbac['@type'], 'type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBAC');
  t.equal(rbac.shadow_rules_stat_prefix, 'istio_dry_run_allow_');
  t.notOk('action' in (rbac.rules as JsonObject), 'ALLOW is proto3’s default: no action field, as in the seed');
  // The policy exactly as the seed prints it.
  t.same(dig(rbac, 'rules', 'policies'), {
    'ns[default]-policy[productpage-viewer]-rule[0]': {
      permissions: [{ and_rules: { rules: [{ any: true }] } }],
      principals: [
        {
          and_ids: {
            ids: [
              {
                or_ids: {
                  ids: [
                    { authenticated: { principal_name: { exact: 'spiffe://cluster.local/ns/default/sa/sleep' } } },
                    { authenticated: { principal_name: { exact: 'spiffe://cluster.local/ns/istio-system/sa/istio-ingressgateway-service-account' } } },
                  ],
                },
              },
            ],
          },
        },
      ],
    },
  });
  // reviews has its own policies (the pod-IP gap closed, see scenarios/bookinfo.yaml); the
  // waypoint applies selector policies too, as the seed's did, so both show here.
  for (const ip of ['10.4.3.4', '10.4.3.5', '10.4.3.6']) {
    const reviews = httpFilters(listeners(d).get(`inbound-pod|9080||${ip}`)!);
    t.same(
      reviews.map((f) => f.name),
      ['envoy.filters.http.rbac', 'envoy.filters.http.router'],
      `reviews (${ip}): an RBAC filter`,
    );
    t.same(
      Object.keys(dig(reviews[0], 'typed_config', 'rules', 'policies') as JsonObject),
      ['ns[default]-policy[reviews-viewer]-rule[0]', 'ns[default]-policy[reviews-ztunnel]-rule[0]'],
      `reviews (${ip}): its own policies, not productpage's`,
    );
  }
});

t.test('the RBAC filter lists what the waypoint’s own decision applies', async (t) => {
  const d = dump();
  const ls = listeners(d);
  for (const service of served) {
    for (const pod of state.endpointsOf(service)) {
      const port = service.ports[0].targetPort;
      const decision = authorizeL7(scenario.policies, rbacTarget(service, pod, waypoint), {
        sourcePrincipal: 'cluster.local/ns/default/sa/sleep',
        sourceIp: '10.4.1.7',
        destinationIp: service.vip,
        destinationPort: service.ports[0].port,
        method: 'GET',
        path: '/',
        host: `${service.vip}:${service.ports[0].port}`,
      });
      const rendered = httpFilters(ls.get(podStage(pod, port))!)
        .filter((f) => f.name === 'envoy.filters.http.rbac')
        .flatMap((f) => Object.keys(dig(f, 'typed_config', 'rules', 'policies') as JsonObject))
        .map((rule) => rule.replace(/-rule\[\d+\]$/, ''));
      t.same([...new Set(rendered)].sort(), [...decision.applicable].sort(), `${service.name} -> ${pod.ip}`);
    }
  }
});

t.test('stage 4: the inbound-pod cluster tunnels through inbound_CONNECT_originate', async (t) => {
  const d = dump();
  const cl = clusters(d);
  const pod = cl.get('inbound-pod|9080||10.4.0.5')!;
  t.equal(pod.type, 'STATIC');
  const ep = dig(pod, 'load_assignment', 'endpoints', 0, 'lb_endpoints', 0) as JsonObject;
  t.same(dig(ep, 'endpoint', 'address', 'envoy_internal_address'), { server_listener_name: 'inbound_CONNECT_originate', endpoint_id: '10.4.0.5:9080' });
  t.same(dig(ep, 'metadata', 'filter_metadata', 'tunnel'), { destination: '10.4.0.5:9080', address: '10.4.0.5:15008' });

  const originate = listeners(d).get(STAGE_ORIGINATE)!;
  const proxy = dig(originate, 'filter_chains', 0, 'filters', 0, 'typed_config') as JsonObject;
  t.equal(proxy['@type'], 'type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy');
  t.equal(proxy.cluster, 'inbound_CONNECT_originate');
  t.equal(dig(proxy, 'tunneling_config', 'hostname'), '%DYNAMIC_METADATA(tunnel:destination)%');
  t.equal(dig(proxy, 'tunneling_config', 'headers_to_add', 0, 'header', 'key'), 'x-envoy-original-dst-host');

  const oc = cl.get(STAGE_ORIGINATE)!;
  t.equal(oc.type, 'ORIGINAL_DST');
  t.equal(oc.lb_policy, 'CLUSTER_PROVIDED');
  const tls = dig(oc, 'transport_socket', 'typed_config') as JsonObject;
  t.equal(tls['@type'], 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext');
  t.same(dig(tls, 'common_tls_context', 'tls_params'), { tls_minimum_protocol_version: 'TLSv1_3', tls_maximum_protocol_version: 'TLSv1_3' });
  t.same(dig(tls, 'common_tls_context', 'alpn_protocols'), ['h2']);
  t.same(dig(tls, 'common_tls_context', 'combined_validation_context', 'default_validation_context', 'match_subject_alt_names'), [
    { prefix: 'spiffe://cluster.local/' },
  ]);
  t.equal(
    dig(
      oc,
      'typed_extension_protocol_options',
      'envoy.extensions.upstreams.http.v3.HttpProtocolOptions',
      'explicit_http_config',
      'http2_protocol_options',
      'allow_connect',
    ),
    true,
  );
});

t.test('every cluster a route or endpoint names is in the dump', async (t) => {
  const d = dump();
  const cl = clusters(d);
  const ls = listeners(d);
  const named = new Set<string>();
  const walk = (v: Json): void => {
    if (Array.isArray(v)) return v.forEach(walk);
    if (v === null || typeof v !== 'object') return;
    for (const [k, x] of Object.entries(v)) {
      if (k === 'cluster' && typeof x === 'string') named.add(x);
      if (k === 'weighted_clusters') list(dig(x, 'clusters')).forEach((c) => named.add(c.name as string));
      walk(x);
    }
  };
  // The bootstrap's node.cluster is the proxy's service cluster, not an Envoy cluster.
  for (const c of d.configs) if (c['@type'] !== DUMP_TYPES.bootstrap) walk(c);
  t.ok(named.size > 5);
  for (const n of named) t.ok(cl.has(n), `cluster ${n}`);
  const listenerRefs = new Set<string>();
  const walkRefs = (v: Json): void => {
    if (Array.isArray(v)) return v.forEach(walkRefs);
    if (v === null || typeof v !== 'object') return;
    for (const [k, x] of Object.entries(v)) {
      if (k === 'server_listener_name' && typeof x === 'string') listenerRefs.add(x);
      walkRefs(x);
    }
  };
  for (const c of d.configs) walkRefs(c);
  for (const n of listenerRefs) t.ok(ls.has(n), `internal listener ${n}`);
});

function policy(name: string, spec: Record<string, unknown>, namespace = 'default'): AuthorizationPolicyDoc {
  return { apiVersion: 'security.istio.io/v1', kind: 'AuthorizationPolicy', metadata: { name, namespace }, spec, origin: `test:${name}` };
}

t.test('DENY, AUDIT, CUSTOM and ALLOW filters in Istio’s order, with L7 fields rendered', async (t) => {
  const docs = [
    policy('allow-get', {
      targetRefs: [{ kind: 'Service', group: '', name: 'reviews' }],
      rules: [
        {
          from: [{ source: { namespaces: ['default'], notPrincipals: ['cluster.local/ns/default/sa/bad*'], ipBlocks: ['10.4.0.0/16'] } }],
          to: [{ operation: { methods: ['GET', 'HEAD'], paths: ['/reviews/*', '/health'], notPaths: ['*.php'], hosts: ['reviews*'], ports: ['9080'] } }],
          when: [
            { key: 'request.headers[end-user]', values: ['jason'] },
            { key: 'destination.port', values: ['9080'] },
          ],
        },
        {},
      ],
    }),
    policy('deny-admin', {
      targetRefs: [{ kind: 'Service', group: '', name: 'reviews' }],
      action: 'DENY',
      rules: [{ to: [{ operation: { paths: ['/admin/{**}'] } }] }],
    }),
    policy('audit-all', { selector: { matchLabels: { app: 'reviews' } }, action: 'AUDIT', rules: [{}] }),
    policy('ext', {
      targetRefs: [{ kind: 'Service', group: '', name: 'reviews' }],
      action: 'CUSTOM',
      provider: { name: 'opa' },
      rules: [{ to: [{ operation: { methods: ['POST'] } }] }],
    }),
    policy('other-service', { targetRefs: [{ kind: 'Service', group: '', name: 'ratings' }], rules: [{}] }),
  ];
  const d = dump({ policies: docs });
  const filters = httpFilters(listeners(d).get('inbound-pod|9080||10.4.3.4')!);
  t.same(
    filters.map((f) => f.name),
    [
      'envoy.filters.http.rbac',
      'envoy.filters.http.ext_authz',
      'envoy.filters.http.rbac',
      'envoy.filters.http.rbac',
      'envoy.filters.http.rbac',
      'envoy.filters.http.router',
    ],
  );
  const [custom, extAuthz, audit, deny, allow] = filters.map((f) => dig(f, 'typed_config') as JsonObject);
  t.same(Object.keys(dig(custom, 'shadow_rules', 'policies') as JsonObject), ['ns[default]-policy[ext]-rule[0]']);
  t.equal(dig(custom, 'shadow_rules_stat_prefix'), 'istio_ext_authz_');
  t.equal(extAuthz.failure_mode_allow, false);
  t.equal(dig(audit, 'rules', 'action'), 'LOG');
  t.equal(dig(deny, 'rules', 'action'), 'DENY');
  t.same(
    dig(
      deny,
      'rules',
      'policies',
      'ns[default]-policy[deny-admin]-rule[0]',
      'permissions',
      0,
      'and_rules',
      'rules',
      0,
      'or_rules',
      'rules',
      0,
      'uri_template',
      'typed_config',
      'path_template',
    ),
    '/admin/{**}',
  );
  t.same(
    Object.keys(dig(allow, 'rules', 'policies') as JsonObject),
    ['ns[default]-policy[allow-get]-rule[0]', 'ns[default]-policy[allow-get]-rule[1]'],
    'other-service is not rendered here',
  );

  const rule0 = dig(allow, 'rules', 'policies', 'ns[default]-policy[allow-get]-rule[0]') as JsonObject;
  t.same(dig(rule0, 'permissions'), [
    {
      and_rules: {
        rules: [
          { or_rules: { rules: [{ header: { name: ':authority', string_match: { prefix: 'reviews', ignore_case: true } } }] } },
          { or_rules: { rules: [{ destination_port: 9080 }] } },
          {
            or_rules: {
              rules: [{ header: { name: ':method', string_match: { exact: 'GET' } } }, { header: { name: ':method', string_match: { exact: 'HEAD' } } }],
            },
          },
          { or_rules: { rules: [{ url_path: { path: { prefix: '/reviews/' } } }, { url_path: { path: { exact: '/health' } } }] } },
          { not_rule: { or_rules: { rules: [{ url_path: { path: { suffix: '.php' } } }] } } },
          { or_rules: { rules: [{ destination_port: 9080 }] } },
        ],
      },
    },
  ]);
  t.same(dig(rule0, 'principals'), [
    {
      and_ids: {
        ids: [
          { not_id: { or_ids: { ids: [{ authenticated: { principal_name: { prefix: 'spiffe://cluster.local/ns/default/sa/bad' } } }] } } },
          { or_ids: { ids: [{ authenticated: { principal_name: { safe_regex: { regex: '.*/ns/default/.*' } } } }] } },
          { or_ids: { ids: [{ direct_remote_ip: { address_prefix: '10.4.0.0', prefix_len: 16 } }] } },
          { or_ids: { ids: [{ header: { name: 'end-user', string_match: { exact: 'jason' } } }] } },
        ],
      },
    },
  ]);
  t.same(
    dig(allow, 'rules', 'policies', 'ns[default]-policy[allow-get]-rule[1]'),
    {
      permissions: [{ and_rules: { rules: [{ any: true }] } }],
      principals: [{ and_ids: { ids: [{ any: true }] } }],
    },
    'an empty rule matches everything',
  );

  // productpage's pod only has the policies that target productpage (none of these).
  t.same(
    httpFilters(listeners(d).get('inbound-pod|9080||10.4.0.5')!).map((f) => f.name),
    ['envoy.filters.http.router'],
  );
});

t.test('a custom route table (the waypoint’s own) is used when given', async (t) => {
  const calls: string[] = [];
  const d = configDump(state, waypoint, [productpage], {
    lastUpdated: WHEN,
    routeTable: (s, port) => {
      calls.push(`${s.name}:${port}`);
      return { service: { name: s.name, namespace: s.namespace, port }, routes: [], matches: [], skipped: [] };
    },
  });
  t.same(calls, ['productpage:9080']);
  t.same(
    [...listeners(d).keys()],
    [STAGE_TERMINATE, vipListenerName(productpage, 9080), 'inbound-pod|9080||10.4.0.5', STAGE_ORIGINATE],
    'only what productpage needs',
  );
});

/** Every HTTP connection manager in the dump, with the listener it sits in. */
function connectionManagers(d: EnvoyConfigDump): [string, JsonObject][] {
  return [...listeners(d)].flatMap(([name, l]) =>
    list(dig(l, 'filter_chains'))
      .flatMap((c) => list(dig(c, 'filters')))
      .filter((f) => f.name === 'envoy.filters.network.http_connection_manager')
      .map((f): [string, JsonObject] => [name, dig(f, 'typed_config') as JsonObject]),
  );
}

t.test('meshConfig.pathNormalization shows as the connection manager fields Istio sets', async (t) => {
  const cases = [
    // Istio's listener builder; merge_slashes is a plain bool, left out of a dump when false.
    { mode: undefined, fields: { normalize_path: true, path_with_escaped_slashes_action: 'KEEP_UNCHANGED' } },
    { mode: 'NONE', fields: { normalize_path: false, path_with_escaped_slashes_action: 'KEEP_UNCHANGED' } },
    { mode: 'BASE', fields: { normalize_path: true, path_with_escaped_slashes_action: 'KEEP_UNCHANGED' } },
    { mode: 'MERGE_SLASHES', fields: { normalize_path: true, merge_slashes: true, path_with_escaped_slashes_action: 'KEEP_UNCHANGED' } },
    { mode: 'DECODE_AND_MERGE_SLASHES', fields: { normalize_path: true, merge_slashes: true, path_with_escaped_slashes_action: 'UNESCAPE_AND_FORWARD' } },
  ] as const;
  for (const c of cases) {
    const s: Scenario = c.mode === undefined ? scenario : { ...scenario, meshConfig: { pathNormalization: { normalization: c.mode } } };
    const d = configDump(new MeshState(s), waypoint, served, { lastUpdated: WHEN });
    const hcms = connectionManagers(d);
    t.ok(hcms.length >= 1 + served.length, `${c.mode ?? 'default'}: every HTTP chain has a connection manager (${hcms.length})`);
    for (const [listener, hcm] of hcms) {
      const got = Object.fromEntries(['normalize_path', 'merge_slashes', 'path_with_escaped_slashes_action'].filter((k) => k in hcm).map((k) => [k, hcm[k]]));
      t.same(got, c.fields, `${c.mode ?? 'default (BASE)'}: ${listener}`);
    }
  }
  // In the dump's field order: normalize_path (30), merge_slashes (33), request_id_extension (36), path_with_escaped_slashes_action (45).
  const vip = connectionManagers(
    configDump(new MeshState({ ...scenario, meshConfig: { pathNormalization: { normalization: 'MERGE_SLASHES' } } }), waypoint, served, { lastUpdated: WHEN }),
  ).find(([n]) => n.startsWith('inbound-vip|'))![1];
  const keys = Object.keys(vip);
  t.ok(
    keys.indexOf('normalize_path') < keys.indexOf('merge_slashes') &&
      keys.indexOf('merge_slashes') < keys.indexOf('request_id_extension') &&
      keys.indexOf('request_id_extension') < keys.indexOf('path_with_escaped_slashes_action'),
    keys.join(','),
  );
});
