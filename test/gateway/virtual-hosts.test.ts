// Which HTTPRoutes serve a request at an ingress gateway's listener: attached by parentRef (the
// Gateway, its listener by sectionName or port), from the namespaces the listener allows, and
// grouped into virtual hosts by hostname, the most specific of which a request's Host picks.
import t from 'tap';
import type { GatewayDoc, HttpRouteDoc } from '../../src/mesh/model';
import { listenersOf } from '../../src/mesh/ingress-gateway';
import { hostMatches, pickVirtualHost, virtualHosts } from '../../src/gateway/virtual-hosts';

const gateway = (listener: Record<string, unknown>): GatewayDoc => ({
  apiVersion: 'gateway.networking.k8s.io/v1',
  kind: 'Gateway',
  metadata: { name: 'edge', namespace: 'web' },
  spec: { gatewayClassName: 'istio', listeners: [listener] },
  origin: 'gw.yaml:1',
});
const route = (name: string, namespace: string, spec: Record<string, unknown>): HttpRouteDoc => ({
  apiVersion: 'gateway.networking.k8s.io/v1',
  kind: 'HTTPRoute',
  metadata: { name, namespace },
  spec: { rules: [{ backendRefs: [{ name: 'app', port: 8080 }] }], ...spec },
  origin: `${name}.yaml:1`,
});
const parent = (extra: Record<string, unknown> = {}) => ({ parentRefs: [{ name: 'edge', namespace: 'web', ...extra }] });

t.test('routes attach by parentRef, from the namespaces the listener allows', async (t) => {
  const same = gateway({ name: 'http', port: 80, protocol: 'HTTP' });
  const [l] = listenersOf(same);
  t.equal(l.routesFrom, 'Same', 'Same is the default');
  const routes = [
    route('own', 'web', parent()),
    route('other-ns', 'shop', parent()),
    route('by-section', 'web', parent({ sectionName: 'http' })),
    route('wrong-section', 'web', parent({ sectionName: 'admin' })),
    route('wrong-port', 'web', parent({ port: 8080 })),
    route('a-service', 'web', { parentRefs: [{ group: '', kind: 'Service', name: 'edge' }] }),
  ];
  t.same(
    virtualHosts(same, l, routes).flatMap((v) => v.routes.map((r) => r.metadata.name)),
    ['own', 'by-section'],
  );
  const all = gateway({ name: 'http', port: 80, protocol: 'HTTP', allowedRoutes: { namespaces: { from: 'All' } } });
  t.same(
    virtualHosts(all, listenersOf(all)[0], routes).flatMap((v) => v.routes.map((r) => r.metadata.name)),
    ['own', 'other-ns', 'by-section'],
  );
});

t.test('hostnames: the most specific virtual host answers, and only its routes', async (t) => {
  const gw = gateway({ name: 'http', port: 80, protocol: 'HTTP' });
  const [l] = listenersOf(gw);
  const hosts = virtualHosts(gw, l, [
    route('any', 'web', parent()),
    route('exact', 'web', { ...parent(), hostnames: ['shop.example.com'] }),
    route('wild', 'web', { ...parent(), hostnames: ['*.example.com'] }),
  ]);
  t.same(
    hosts.map((h) => h.name),
    ['*:80', 'shop.example.com:80', '*.example.com:80'],
  );
  const pick = (host: string | undefined) => pickVirtualHost(hosts, host)?.routes.map((r) => r.metadata.name);
  t.same(pick('shop.example.com'), ['exact']);
  t.same(pick('SHOP.example.com:80'), ['exact'], 'case and port do not matter');
  t.same(pick('a.b.example.com'), ['wild']);
  t.same(pick('example.com'), ['any'], '*.example.com does not cover example.com itself');
  t.same(pick('10.96.0.9:80'), ['any']);
  t.same(pick(undefined), ['any']);
  t.equal(pickVirtualHost([], 'x'), undefined);
  t.ok(hostMatches('*', 'anything'));
});

t.test("a listener's hostname narrows the routes' hostnames", async (t) => {
  const gw = gateway({ name: 'http', port: 80, protocol: 'HTTP', hostname: '*.example.com' });
  const [l] = listenersOf(gw);
  const hosts = virtualHosts(gw, l, [
    route('any', 'web', parent()),
    route('inside', 'web', { ...parent(), hostnames: ['shop.example.com'] }),
    route('outside', 'web', { ...parent(), hostnames: ['shop.example.org'] }),
    route('wider', 'web', { ...parent(), hostnames: ['*.com'] }),
  ]);
  t.same(
    hosts.map((h) => `${h.name}=${h.routes.map((r) => r.metadata.name).join(',')}`),
    ['*.example.com:80=any,wider', 'shop.example.com:80=inside'],
  );
  t.equal(pickVirtualHost(hosts, 'shop.example.org'), undefined, 'a host outside the listener gets no virtual host: 404');
});
