import t from 'tap';
import type { AuthorizationPolicyDoc } from '../../../src/mesh/model';
import {
  authorizeL7,
  appliesAtWaypoint,
  L7Request,
  WaypointTarget,
  RBAC_DENIED_STATUS,
  RBAC_DENIED_BODY,
  requestUrlPath,
  matchPath,
  matchHost,
  remoteIpOf,
  rbacResponseCodeDetails,
  checkPolicy,
  compileAuthorizerL7,
  compilePolicy,
  compileRuleMatcherL7,
  matchRuleL7,
  PolicyError,
} from '../../../src/policy/authz';
import { PATH_NORMALIZATION } from '../../../src/mesh/path-normalization-type';
import { normalizeRequestPath } from '../../../src/waypoint/path-normalization';

const SLEEP = 'cluster.local/ns/default/sa/sleep';
const DETAILS = 'cluster.local/ns/default/sa/bookinfo-details';
const RATINGS = 'cluster.local/ns/default/sa/bookinfo-ratings';
const INGRESS = 'cluster.local/ns/istio-system/sa/istio-ingressgateway-service-account';
const STRANGER = 'cluster.local/ns/untrusted/sa/attacker';

/** productpage behind its waypoint, as in the seed article (VIP 10.8.4.226:9080, pod 10.4.0.5). */
const productpage: WaypointTarget = {
  service: { name: 'productpage', namespace: 'default' },
  workload: { namespace: 'default', labels: { app: 'productpage', version: 'v1' } },
};
const details: WaypointTarget = {
  service: { name: 'details', namespace: 'default' },
  workload: { namespace: 'default', labels: { app: 'details', version: 'v1' } },
};
const elsewhere: WaypointTarget = {
  service: { name: 'productpage', namespace: 'other' },
  workload: { namespace: 'other', labels: { app: 'productpage', version: 'v1' } },
};

function policy(namespace: string, name: string, spec: Record<string, unknown>): AuthorizationPolicyDoc {
  return { apiVersion: 'security.istio.io/v1', kind: 'AuthorizationPolicy', metadata: { name, namespace }, spec, origin: `test.yaml:${name}` };
}

function req(principal: string | undefined, extra: Partial<L7Request> = {}): L7Request {
  return {
    sourcePrincipal: principal,
    sourceIp: '10.4.0.9',
    destinationIp: '10.8.4.226',
    destinationPort: 9080,
    method: 'GET',
    path: '/productpage',
    host: 'productpage:9080',
    headers: {},
    ...extra,
  };
}

/** The seed article's policy: its RBAC filter shows ns[default]-policy[productpage-viewer]-rule[0]. */
const productpageViewer = policy('default', 'productpage-viewer', {
  selector: { matchLabels: { app: 'productpage' } },
  action: 'ALLOW',
  rules: [{ from: [{ source: { principals: [SLEEP, INGRESS] } }] }],
});
const RULE0 = 'ns[default]-policy[productpage-viewer]-rule[0]';

t.test('the HTTP answer for a denial', async (t) => {
  t.equal(RBAC_DENIED_STATUS, 403);
  t.equal(RBAC_DENIED_BODY, 'RBAC: access denied');
  t.equal(rbacResponseCodeDetails(undefined), 'rbac_access_denied_matched_policy[none]');
  t.equal(rbacResponseCodeDetails('a b'), 'rbac_access_denied_matched_policy[a_b]', 'whitespace becomes _, as Envoy sanitizes it');
});

t.test('the seed policy productpage-viewer at the waypoint', async (t) => {
  const pols = [productpageViewer];
  t.same(checkPolicy(productpageViewer), []);
  const matrix: Array<[string, string | undefined, boolean]> = [
    ['sleep', SLEEP, true],
    ['istio-ingressgateway', INGRESS, true],
    ['details', DETAILS, false],
    ['ratings', RATINGS, false],
    ['a stranger', STRANGER, false],
    ['a plaintext client', undefined, false],
  ];
  for (const [who, principal, allowed] of matrix) {
    for (const method of ['GET', 'POST', 'DELETE']) {
      const d = authorizeL7(pols, productpage, req(principal, { method }));
      t.equal(d.allowed, allowed, `${who} ${method} -> ${allowed ? 'allowed' : 'denied'}`);
      if (allowed) {
        t.match(d, { action: 'ALLOW', policy: RULE0, reason: `enforced allowed, matched policy ${RULE0}` });
        t.equal(d.responseCodeDetails, undefined);
      } else {
        t.equal(d.reason, 'enforced denied, matched policy none', 'reads as Envoy logs it');
        t.equal(d.responseCodeDetails, 'rbac_access_denied_matched_policy[none]');
        t.equal(d.policy, undefined);
        t.equal(d.action, undefined);
      }
    }
  }
  t.same(authorizeL7(pols, productpage, req(SLEEP)).applicable, ['ns[default]-policy[productpage-viewer]']);
  t.match(authorizeL7(pols, productpage, req(`spiffe://${SLEEP}`)), { allowed: true }, 'spiffe:// on the peer identity is normalised');
  t.match(
    authorizeL7(pols, details, req(DETAILS)),
    { allowed: true, reason: 'no ALLOW policy applies to the target (allowed by default)', applicable: [] },
    'other workloads are unaffected',
  );
  t.match(authorizeL7(pols, elsewhere, req(DETAILS)), { allowed: true }, 'same labels in another namespace are unaffected');
  t.match(authorizeL7(pols, { service: productpage.service }, req(DETAILS)), { allowed: true }, 'a selector needs the workload in the target');
  t.match(
    authorizeL7(pols, productpage, req(DETAILS), { targetRefsOnly: true }),
    { allowed: true, applicable: [] },
    'targetRefsOnly: Istio 1.22+ waypoints ignore selector policies',
  );
});

t.test('methods and notMethods', async (t) => {
  const p = policy('default', 'read-only', { rules: [{ to: [{ operation: { methods: ['GET', 'HEAD'] } }] }] });
  t.match(authorizeL7([p], productpage, req(SLEEP)), { allowed: true, policy: 'ns[default]-policy[read-only]-rule[0]' });
  t.match(authorizeL7([p], productpage, req(SLEEP, { method: 'HEAD' })), { allowed: true });
  t.match(authorizeL7([p], productpage, req(SLEEP, { method: 'POST' })), { allowed: false, reason: 'enforced denied, matched policy none' });
  t.match(authorizeL7([p], productpage, req(SLEEP, { method: 'get' })), { allowed: false }, 'methods are case-sensitive');

  const noWrites = policy('default', 'no-writes', { action: 'DENY', rules: [{ to: [{ operation: { notMethods: ['GET', 'HEAD', 'OPTIONS'] } }] }] });
  t.match(authorizeL7([noWrites], productpage, req(SLEEP, { method: 'DELETE' })), {
    allowed: false,
    action: 'DENY',
    policy: 'ns[default]-policy[no-writes]-rule[0]',
    reason: 'enforced denied, matched policy ns[default]-policy[no-writes]-rule[0]',
    responseCodeDetails: 'rbac_access_denied_matched_policy[ns[default]-policy[no-writes]-rule[0]]',
  });
  t.match(authorizeL7([noWrites], productpage, req(SLEEP, { method: 'OPTIONS' })), { allowed: true });
});

t.test('paths: exact, prefix, suffix, any; the query string is ignored', async (t) => {
  const p = policy('default', 'paths', {
    rules: [
      { to: [{ operation: { paths: ['/productpage', '/static/*', '*.css', '/api/v1/products*'] } }] },
      { to: [{ operation: { paths: ['*'], methods: ['OPTIONS'] } }] },
    ],
  });
  const cases: Array<[string, boolean, string]> = [
    ['/productpage', true, 'exact'],
    ['/productpage?u=normal', true, 'exact, query ignored'],
    ['/productpage#frag', true, 'fragment ignored'],
    ['/productpage/', false, 'exact is exact'],
    ['/productpages', false, 'exact is not a prefix'],
    ['/Productpage', false, 'case-sensitive'],
    ['/static/img/izzy.png', true, 'prefix'],
    ['/static', false, 'prefix needs the slash'],
    ['/theme/site.css', true, 'suffix'],
    ['/theme/site.css?v=2', true, 'suffix, query ignored'],
    ['/theme/site.cssx', false, 'suffix miss'],
    ['/api/v1/products/1/reviews', true, 'prefix without a slash'],
    ['/login', false, 'nothing matches'],
    ['/login?next=/productpage', false, 'a query that looks like an allowed path does not help'],
  ];
  for (const [path, allowed, why] of cases) {
    t.equal(authorizeL7([p], productpage, req(SLEEP, { path })).allowed, allowed, `${path}: ${why}`);
  }
  t.equal(authorizeL7([p], productpage, req(SLEEP, { path: '/static?x=/static/' })).allowed, false, 'prefix /static/* is checked on /static, not on the query');
  t.match(
    authorizeL7([p], productpage, req(SLEEP, { method: 'OPTIONS', path: '/anything?at=all' })),
    { allowed: true, policy: 'ns[default]-policy[paths]-rule[1]' },
    '"*" matches any path',
  );

  const notAdmin = policy('default', 'no-admin', { action: 'DENY', rules: [{ to: [{ operation: { paths: ['/admin*'] } }] }] });
  t.match(authorizeL7([notAdmin], productpage, req(SLEEP, { path: '/admin/users?x=1' })), { allowed: false, action: 'DENY' });
  // The connection manager normalizes :path before RBAC runs (BASE by default); RBAC matches what it is given.
  const base = (p: string): string => normalizeRequestPath(p, PATH_NORMALIZATION.BASE)!;
  t.match(
    authorizeL7([notAdmin], productpage, req(SLEEP, { path: base('/public/../admin') })),
    { allowed: false },
    'dot segments resolved by normalize_path before matching',
  );
  t.match(authorizeL7([notAdmin], productpage, req(SLEEP, { path: base('/public/%2e%2e/admin') })), { allowed: false }, '%2e%2e counts as ..');
  t.match(
    authorizeL7([notAdmin], productpage, req(SLEEP, { path: '/public/../admin' })),
    { allowed: true },
    'RBAC itself resolves nothing: what NONE lets through, as in Envoy',
  );
  t.match(authorizeL7([notAdmin], productpage, req(SLEEP, { path: '/public?next=/admin' })), { allowed: true });

  const onlyApi = policy('default', 'only-api', { rules: [{ to: [{ operation: { notPaths: ['/internal/*', '*.bak'] } }] }] });
  t.match(authorizeL7([onlyApi], productpage, req(SLEEP, { path: '/api/v1/products' })), { allowed: true });
  t.match(authorizeL7([onlyApi], productpage, req(SLEEP, { path: '/internal/metrics?format=json' })), { allowed: false }, 'notPaths prefix');
  t.match(authorizeL7([onlyApi], productpage, req(SLEEP, { path: '/db.bak' })), { allowed: false }, 'notPaths suffix');
  t.match(authorizeL7([onlyApi], productpage, req(SLEEP, { path: '/db.bak?download=1' })), { allowed: false }, 'notPaths suffix with a query');
});

t.test('path templates {*} and {**}', async (t) => {
  t.ok(matchPath('/api/{*}/reviews', '/api/0/reviews'));
  t.notOk(matchPath('/api/{*}/reviews', '/api/0/1/reviews'), '{*} is one segment');
  t.notOk(matchPath('/api/{*}/reviews', '/api//reviews'), '{*} is not empty');
  t.ok(matchPath('/static/{**}', '/static/a/b/c.css'));
  t.ok(matchPath('/static/{**}', '/static/'));
  t.notOk(matchPath('/static/{**}', '/static'));
  t.ok(matchPath('/v1.0/{*}', '/v1.0/x'));
  t.notOk(matchPath('/v1.0/{*}', '/v1x0/x'), 'literal parts are literal');
  const p = policy('default', 'tmpl', { rules: [{ to: [{ operation: { paths: ['/products/{*}/reviews'] } }] }] });
  t.match(authorizeL7([p], productpage, req(SLEEP, { path: '/products/7/reviews?limit=3' })), { allowed: true });
});

t.test('path helpers', async (t) => {
  t.equal(requestUrlPath('/a/b?c=d#e'), '/a/b');
  t.equal(requestUrlPath('/a/b#e?c'), '/a/b');
  t.equal(requestUrlPath('/a/./b/../c'), '/a/./b/../c', 'nothing resolved: the connection manager did that before (path-normalization.ts)');
  t.equal(requestUrlPath('/a%2Fb'), '/a%2Fb');
});

t.test('hosts and notHosts: case-insensitive, wildcards, port included', async (t) => {
  const p = policy('default', 'hosts', {
    rules: [{ to: [{ operation: { hosts: ['productpage:9080', 'bookinfo.example.com', '*.internal.example.com', 'api.*'] } }] }],
  });
  const cases: Array<[string, boolean, string]> = [
    ['productpage:9080', true, 'exact with port'],
    ['PRODUCTPAGE:9080', true, 'case-insensitive'],
    ['productpage', false, 'port is part of the host'],
    ['bookinfo.example.com', true, 'exact'],
    ['BookInfo.Example.com', true, 'case-insensitive'],
    ['bookinfo.example.com:80', false, 'a port the pattern does not have'],
    ['a.internal.example.com', true, 'suffix wildcard'],
    ['a.internal.example.com:8080', false, 'suffix wildcard does not swallow the port'],
    ['API.v2.example', true, 'prefix wildcard, case-insensitive'],
    ['evil.com', false, 'miss'],
  ];
  for (const [host, allowed, why] of cases) t.equal(authorizeL7([p], productpage, req(SLEEP, { host })).allowed, allowed, `${host}: ${why}`);

  const notPublic = policy('default', 'not-public', {
    action: 'DENY',
    rules: [{ to: [{ operation: { notHosts: ['*.svc.cluster.local', 'productpage*'] } }] }],
  });
  t.match(authorizeL7([notPublic], productpage, req(SLEEP, { host: 'productpage.default.svc.cluster.local' })), { allowed: true });
  t.match(authorizeL7([notPublic], productpage, req(SLEEP, { host: 'PRODUCTPAGE:9080' })), { allowed: true });
  t.match(authorizeL7([notPublic], productpage, req(SLEEP, { host: 'bookinfo.example.com' })), { allowed: false, action: 'DENY' });

  t.ok(matchHost('*', 'anything'));
  t.notOk(matchHost('*', undefined));
});

t.test('ports and notPorts', async (t) => {
  const p = policy('default', 'only-9080', { rules: [{ to: [{ operation: { ports: ['9080'], methods: ['GET'] } }] }] });
  t.match(authorizeL7([p], productpage, req(SLEEP)), { allowed: true });
  t.match(authorizeL7([p], productpage, req(SLEEP, { destinationPort: 9081 })), { allowed: false });
  const deny = policy('default', 'deny-others', { action: 'DENY', rules: [{ to: [{ operation: { notPorts: ['9080'] } }] }] });
  t.match(authorizeL7([deny], productpage, req(SLEEP, { destinationPort: 15000 })), { allowed: false, action: 'DENY' });
  t.match(authorizeL7([deny], productpage, req(SLEEP)), { allowed: true });
});

t.test('operation fields are ANDed, to[] entries ORed, from and to ANDed', async (t) => {
  const p = policy('default', 'combo', {
    rules: [
      {
        from: [{ source: { principals: [SLEEP] } }, { source: { namespaces: ['istio-system'] } }],
        to: [{ operation: { methods: ['GET'], paths: ['/productpage'] } }, { operation: { methods: ['POST'], paths: ['/login', '/logout'] } }],
      },
    ],
  });
  t.match(authorizeL7([p], productpage, req(SLEEP)), { allowed: true });
  t.match(authorizeL7([p], productpage, req(INGRESS, { method: 'POST', path: '/login' })), { allowed: true }, 'second from, second to');
  t.match(authorizeL7([p], productpage, req(SLEEP, { method: 'POST', path: '/productpage' })), { allowed: false }, 'method and path of different operations');
  t.match(authorizeL7([p], productpage, req(DETAILS)), { allowed: false }, 'the right operation from the wrong source');
});

t.test('source fields at the waypoint', async (t) => {
  const p = policy('default', 'sources', {
    rules: [{ from: [{ source: { namespaces: ['default'], notPrincipals: [DETAILS], ipBlocks: ['10.4.0.0/16'], notIpBlocks: ['10.4.9.0/24'] } }] }],
  });
  t.match(authorizeL7([p], productpage, req(SLEEP)), { allowed: true });
  t.match(authorizeL7([p], productpage, req(DETAILS)), { allowed: false }, 'notPrincipals');
  t.match(authorizeL7([p], productpage, req(STRANGER)), { allowed: false }, 'namespaces');
  t.match(authorizeL7([p], productpage, req(SLEEP, { sourceIp: '10.4.9.1' })), { allowed: false }, 'notIpBlocks');
  t.match(authorizeL7([p], productpage, req(SLEEP, { sourceIp: '10.5.0.1' })), { allowed: false }, 'ipBlocks');
  t.match(
    authorizeL7([p], productpage, req(SLEEP, { headers: { 'x-forwarded-for': '10.5.0.1' } })),
    { allowed: true },
    'ipBlocks use the peer address, not X-Forwarded-For',
  );

  const notNs = policy('default', 'not-untrusted', { rules: [{ from: [{ source: { notNamespaces: ['untrusted'] } }] }] });
  t.match(authorizeL7([notNs], productpage, req(STRANGER)), { allowed: false });
  t.match(authorizeL7([notNs], productpage, req(SLEEP)), { allowed: true });

  const remote = policy('default', 'remote', { rules: [{ from: [{ source: { remoteIpBlocks: ['203.0.113.0/24'] } }] }] });
  t.match(
    authorizeL7([remote], productpage, req(INGRESS, { headers: { 'x-forwarded-for': '198.51.100.1, 203.0.113.7' } })),
    { allowed: true },
    'remoteIpBlocks read the last X-Forwarded-For entry',
  );
  t.match(authorizeL7([remote], productpage, req(INGRESS)), { allowed: false }, 'without X-Forwarded-For, the peer address');
  t.equal(remoteIpOf(req(SLEEP)), '10.4.0.9');
});

t.test('requestPrincipals: no JWT, never present', async (t) => {
  const needJwt = policy('default', 'need-jwt', { rules: [{ from: [{ source: { requestPrincipals: ['*'] } }] }] });
  t.match(authorizeL7([needJwt], productpage, req(SLEEP)), { allowed: false, reason: 'enforced denied, matched policy none' });
  const denyNoJwt = policy('default', 'deny-no-jwt', { action: 'DENY', rules: [{ from: [{ source: { notRequestPrincipals: ['*'] } }] }] });
  t.match(
    authorizeL7([denyNoJwt], productpage, req(SLEEP)),
    { allowed: false, action: 'DENY', policy: 'ns[default]-policy[deny-no-jwt]-rule[0]' },
    'notRequestPrincipals matches a request without a token',
  );
  const claim = policy('default', 'claim', { rules: [{ when: [{ key: 'request.auth.claims[groups]', values: ['admin'] }] }] });
  t.match(authorizeL7([claim], productpage, req(SLEEP)), { allowed: false }, 'request.auth.claims never matches');
  const claimDeny = policy('default', 'claim-deny', { action: 'DENY', rules: [{ when: [{ key: 'request.auth.principal', values: ['*'] }] }] });
  t.match(authorizeL7([claimDeny], productpage, req(SLEEP)), { allowed: true }, 'a DENY on request.auth.* never fires');
  const notClaim = policy('default', 'not-claim', { action: 'DENY', rules: [{ when: [{ key: 'request.auth.audiences', notValues: ['bookinfo'] }] }] });
  t.match(authorizeL7([notClaim], productpage, req(SLEEP)), { allowed: false }, 'notValues on an absent attribute match');
});

t.test('when: request headers', async (t) => {
  const p = policy('default', 'headers', {
    rules: [
      {
        when: [
          { key: 'request.headers[x-user]', values: ['admin', 'ops-*'] },
          { key: 'request.headers[User-Agent]', notValues: ['*bot'] },
        ],
      },
    ],
  });
  t.same(checkPolicy(p), []);
  t.match(authorizeL7([p], productpage, req(SLEEP, { headers: { 'x-user': 'admin' } })), { allowed: true, policy: 'ns[default]-policy[headers]-rule[0]' });
  t.match(authorizeL7([p], productpage, req(SLEEP, { headers: { 'x-user': 'ops-jane', 'user-agent': 'curl/8.5.0' } })), { allowed: true }, 'prefix value');
  t.match(authorizeL7([p], productpage, req(SLEEP, { headers: { 'x-user': 'Admin' } })), { allowed: false }, 'values are case-sensitive');
  t.match(authorizeL7([p], productpage, req(SLEEP)), { allowed: false }, 'missing header: values do not match');
  t.match(authorizeL7([p], productpage, req(SLEEP, { headers: { 'x-user': 'admin', 'user-agent': 'googlebot' } })), { allowed: false }, 'notValues suffix');
  t.match(
    authorizeL7([p], productpage, req(SLEEP, { headers: { 'x-user': ['guest', 'admin'] } })),
    { allowed: false },
    'several values are joined "guest,admin", which is not exact "admin"',
  );
  t.match(authorizeL7([p], productpage, req(SLEEP, { headers: { 'x-user': ['ops-a', 'ops-b'] } })), { allowed: true }, '"ops-a,ops-b" starts with ops-');

  const present = policy('default', 'present', { action: 'DENY', rules: [{ when: [{ key: 'request.headers[x-debug]', values: ['*'] }] }] });
  t.match(
    authorizeL7([present], productpage, req(SLEEP, { headers: { 'x-debug': '' } })),
    { allowed: false },
    '"*" is a presence match, even for an empty value',
  );
  t.match(authorizeL7([present], productpage, req(SLEEP)), { allowed: true });

  const mustHave = policy('default', 'must-have', { action: 'DENY', rules: [{ when: [{ key: 'request.headers[x-token]', notValues: ['*'] }] }] });
  t.match(authorizeL7([mustHave], productpage, req(SLEEP)), { allowed: false }, 'notValues ["*"]: deny when the header is missing');
  t.match(authorizeL7([mustHave], productpage, req(SLEEP, { headers: { 'x-token': 'abc' } })), { allowed: true });

  const authority = policy('default', 'authority', {
    rules: [
      {
        when: [
          { key: 'request.headers[:authority]', values: ['productpage*'] },
          { key: 'request.headers[:method]', values: ['GET'] },
        ],
      },
    ],
  });
  t.match(authorizeL7([authority], productpage, req(SLEEP)), { allowed: true }, 'pseudo-headers :authority and :method');
  const hostHeader = policy('default', 'host-header', { rules: [{ when: [{ key: 'request.headers[host]', values: ['*'] }] }] });
  t.match(
    authorizeL7([hostHeader], productpage, req(SLEEP, { headers: { host: 'productpage:9080' } })),
    { allowed: false },
    'Envoy keeps Host as :authority, so request.headers[host] is never present',
  );
});

t.test('when: L4 keys at the waypoint', async (t) => {
  const p = policy('default', 'l4-when', {
    rules: [
      {
        when: [
          { key: 'source.principal', values: [SLEEP, INGRESS] },
          { key: 'source.namespace', notValues: ['untrusted'] },
          { key: 'source.ip', values: ['10.4.0.0/16'] },
          { key: 'destination.ip', values: ['10.8.4.226'] },
          { key: 'destination.port', values: ['9080'] },
          { key: 'remote.ip', notValues: ['192.0.2.0/24'] },
        ],
      },
    ],
  });
  t.same(checkPolicy(p), []);
  t.match(authorizeL7([p], productpage, req(SLEEP)), { allowed: true });
  t.match(authorizeL7([p], productpage, req(DETAILS)), { allowed: false }, 'source.principal');
  t.match(authorizeL7([p], productpage, req(SLEEP, { sourceIp: '10.9.0.1' })), { allowed: false }, 'source.ip');
  t.match(authorizeL7([p], productpage, req(SLEEP, { destinationIp: '10.8.4.227' })), { allowed: false }, 'destination.ip');
  t.match(authorizeL7([p], productpage, req(SLEEP, { destinationPort: 9090 })), { allowed: false }, 'destination.port');
  t.match(authorizeL7([p], productpage, req(SLEEP, { headers: { 'x-forwarded-for': '192.0.2.8' } })), { allowed: false }, 'remote.ip notValues');
});

t.test('a matching DENY beats a matching ALLOW', async (t) => {
  const denyDelete = policy('default', 'deny-delete', {
    action: 'DENY',
    rules: [{ from: [{ source: { principals: [SLEEP] } }], to: [{ operation: { methods: ['DELETE'] } }] }],
  });
  const pols = [productpageViewer, denyDelete];
  const d = authorizeL7(pols, productpage, req(SLEEP, { method: 'DELETE' }));
  t.match(d, {
    allowed: false,
    action: 'DENY',
    policy: 'ns[default]-policy[deny-delete]-rule[0]',
    reason: 'enforced denied, matched policy ns[default]-policy[deny-delete]-rule[0]',
    responseCodeDetails: 'rbac_access_denied_matched_policy[ns[default]-policy[deny-delete]-rule[0]]',
  });
  t.match(authorizeL7(pols, productpage, req(SLEEP, { method: 'GET' })), { allowed: true, policy: RULE0 }, 'the DENY is only for DELETE');
  t.match(authorizeL7(pols, productpage, req(INGRESS, { method: 'DELETE' })), { allowed: true }, 'and only for sleep');
  t.match(authorizeL7([denyDelete], details, req(SLEEP, { method: 'DELETE' })), { allowed: false }, 'a namespace-wide DENY covers every workload');
  t.match(authorizeL7([denyDelete], details, req(DETAILS)), { allowed: true, reason: /no ALLOW policy applies/ });
});

t.test('the reported rule is the first matching one in Envoy name order', async (t) => {
  const rules = Array.from({ length: 11 }, (_, i) => ({ to: [{ operation: { paths: [i === 2 || i === 10 ? '/x' : `/only-${i}`] } }] }));
  const p = policy('default', 'many', { action: 'DENY', rules });
  t.match(authorizeL7([p], productpage, req(SLEEP, { path: '/x' })), { policy: 'ns[default]-policy[many]-rule[10]' }, 'rule[10] sorts before rule[2]');
  const b = policy('default', 'b-deny', { action: 'DENY', rules: [{}] });
  const a = policy('default', 'a-deny', { action: 'DENY', rules: [{}] });
  t.match(authorizeL7([b, a], productpage, req(SLEEP)), { policy: 'ns[default]-policy[a-deny]-rule[0]' }, 'across policies too, whatever the document order');
});

t.test('AUDIT never changes the decision', async (t) => {
  const audit = policy('default', 'audit-posts', { action: 'AUDIT', rules: [{ to: [{ operation: { methods: ['POST'] } }] }] });
  t.match(
    authorizeL7([audit], productpage, req(DETAILS, { method: 'POST' })),
    { allowed: true, audited: ['ns[default]-policy[audit-posts]-rule[0]'] },
    'alone: allowed by default',
  );
  const d = authorizeL7([audit, productpageViewer], productpage, req(DETAILS, { method: 'POST' }));
  t.match(
    d,
    { allowed: false, reason: 'enforced denied, matched policy none', audited: ['ns[default]-policy[audit-posts]-rule[0]'] },
    'with an ALLOW: still denied',
  );
  t.equal(d.action, undefined);
  t.match(authorizeL7([audit, productpageViewer], productpage, req(SLEEP, { method: 'POST' })), {
    allowed: true,
    policy: RULE0,
    audited: ['ns[default]-policy[audit-posts]-rule[0]'],
  });
  t.equal(authorizeL7([audit], productpage, req(SLEEP)).audited, undefined, 'nothing audited for a GET');
});

t.test('CUSTOM fails closed, before DENY and ALLOW', async (t) => {
  const custom = policy('default', 'ext-authz', { action: 'CUSTOM', provider: { name: 'opa' }, rules: [{ to: [{ operation: { paths: ['/admin*'] } }] }] });
  const d = authorizeL7([productpageViewer, custom], productpage, req(SLEEP, { path: '/admin/x' }));
  t.match(d, {
    allowed: false,
    action: 'CUSTOM',
    policy: 'ns[default]-policy[ext-authz]-rule[0]',
    reason: /CUSTOM \(ext-authz provider "opa"\) is not supported by the simulator, failing closed/,
  });
  t.match(authorizeL7([productpageViewer, custom], productpage, req(SLEEP)), { allowed: true, policy: RULE0 }, 'rule does not match: no effect');
});

t.test('targetRefs: Service, the waypoint Gateway, GatewayClass', async (t) => {
  const toService = policy('default', 'pp-get-only', {
    targetRefs: [{ kind: 'Service', group: '', name: 'productpage' }],
    rules: [{ from: [{ source: { principals: [SLEEP] } }], to: [{ operation: { methods: ['GET'] } }] }],
  });
  t.same(checkPolicy(toService), []);
  t.match(authorizeL7([toService], productpage, req(SLEEP)), {
    allowed: true,
    policy: 'ns[default]-policy[pp-get-only]-rule[0]',
    applicable: ['ns[default]-policy[pp-get-only]'],
  });
  t.match(authorizeL7([toService], productpage, req(SLEEP, { method: 'POST' })), { allowed: false, reason: 'enforced denied, matched policy none' });
  t.match(authorizeL7([toService], productpage, req(DETAILS)), { allowed: false });
  t.match(authorizeL7([toService], details, req(DETAILS, { method: 'POST' })), { allowed: true, applicable: [] }, 'another service is unaffected');
  t.match(authorizeL7([toService], elsewhere, req(DETAILS, { method: 'POST' })), { allowed: true }, 'the same name in another namespace is unaffected');
  t.match(
    authorizeL7([toService], { service: { name: 'productpage', namespace: 'default' } }, req(SLEEP, { method: 'POST' })),
    { allowed: false },
    'the service alone is enough',
  );
  t.match(
    authorizeL7([toService], productpage, req(SLEEP, { method: 'POST' }), { targetRefsOnly: true }),
    { allowed: false },
    'still applies with targetRefsOnly',
  );

  const legacy = policy('default', 'legacy', {
    targetRef: { kind: 'Service', name: 'productpage' },
    action: 'DENY',
    rules: [{ to: [{ operation: { methods: ['DELETE'] } }] }],
  });
  t.match(authorizeL7([legacy], productpage, req(SLEEP, { method: 'DELETE' })), { allowed: false, action: 'DENY' }, 'the deprecated single targetRef');

  const wrongGroup = policy('default', 'wrong-group', { targetRefs: [{ kind: 'Service', group: 'networking.istio.io', name: 'productpage' }], rules: [] });
  t.equal(appliesAtWaypoint(wrongGroup, productpage), false, 'an explicit wrong group never matches');
  const crossNs = policy('default', 'cross-ns', { targetRefs: [{ kind: 'Service', name: 'productpage', namespace: 'other' }], rules: [] });
  t.equal(appliesAtWaypoint(crossNs, elsewhere), false, 'cross-namespace references never match');

  const toWaypoint = policy('default', 'waypoint-deny', {
    targetRefs: [{ kind: 'Gateway', group: 'gateway.networking.k8s.io', name: 'waypoint' }],
    action: 'DENY',
    rules: [{ to: [{ operation: { paths: ['/admin*'] } }] }],
  });
  t.match(authorizeL7([toWaypoint], productpage, req(SLEEP, { path: '/admin' })), { allowed: false, policy: 'ns[default]-policy[waypoint-deny]-rule[0]' });
  t.match(authorizeL7([toWaypoint], details, req(SLEEP, { path: '/admin' })), { allowed: false }, 'every service behind the waypoint');
  t.match(authorizeL7([toWaypoint], elsewhere, req(SLEEP, { path: '/admin' })), { allowed: true }, 'not a waypoint of another namespace');
  t.match(
    authorizeL7([toWaypoint], { ...productpage, waypoint: { name: 'bookinfo-waypoint' } }, req(SLEEP, { path: '/admin' })),
    { allowed: true },
    'not another waypoint',
  );
  const noGroup = policy('default', 'no-group', { targetRefs: [{ kind: 'Gateway', name: 'waypoint' }], rules: [] });
  t.equal(appliesAtWaypoint(noGroup, productpage), true, "an omitted group is the kind's own group");

  const gatewayClass = policy('istio-system', 'all-waypoints', {
    targetRefs: [{ kind: 'GatewayClass', group: 'gateway.networking.k8s.io', name: 'istio-waypoint' }],
    action: 'DENY',
    rules: [{ to: [{ operation: { methods: ['TRACE'] } }] }],
  });
  t.match(authorizeL7([gatewayClass], elsewhere, req(SLEEP, { method: 'TRACE' })), {
    allowed: false,
    policy: 'ns[istio-system]-policy[all-waypoints]-rule[0]',
  });
  const gatewayClassNotRoot = policy('default', 'not-root', { targetRefs: [{ kind: 'GatewayClass', name: 'istio-waypoint' }], rules: [] });
  t.equal(appliesAtWaypoint(gatewayClassNotRoot, productpage), false, 'GatewayClass only from the root namespace');
});

t.test('namespace-wide and mesh-wide policies', async (t) => {
  const nsWide = policy('default', 'ns-get-only', { rules: [{ to: [{ operation: { methods: ['GET'] } }] }] });
  t.match(authorizeL7([nsWide], details, req(STRANGER)), { allowed: true });
  t.match(authorizeL7([nsWide], details, req(SLEEP, { method: 'PUT' })), { allowed: false });
  t.match(authorizeL7([nsWide], elsewhere, req(SLEEP, { method: 'PUT' })), { allowed: true }, 'not another namespace');
  t.match(authorizeL7([nsWide], details, req(SLEEP, { method: 'PUT' }), { targetRefsOnly: true }), { allowed: true }, 'ignored with targetRefsOnly');

  const meshDeny = policy('istio-system', 'no-trace', { action: 'DENY', rules: [{ to: [{ operation: { methods: ['TRACE'] } }] }] });
  t.match(authorizeL7([meshDeny], elsewhere, req(SLEEP, { method: 'TRACE' })), { allowed: false, policy: 'ns[istio-system]-policy[no-trace]-rule[0]' });
  const rootSelector = policy('istio-system', 'pp-anywhere', {
    selector: { matchLabels: { app: 'productpage' } },
    action: 'DENY',
    rules: [{ to: [{ operation: { paths: ['/debug*'] } }] }],
  });
  t.match(
    authorizeL7([rootSelector], elsewhere, req(SLEEP, { path: '/debug/vars' })),
    { allowed: false },
    'a root-namespace selector applies in every namespace',
  );
  t.match(authorizeL7([rootSelector], details, req(SLEEP, { path: '/debug/vars' })), { allowed: true }, 'to matching workloads only');
  const custom = policy('mesh-root', 'no-trace', { action: 'DENY', rules: [{ to: [{ operation: { methods: ['TRACE'] } }] }] });
  t.match(
    authorizeL7([custom], elsewhere, req(SLEEP, { method: 'TRACE' }), { rootNamespace: 'mesh-root' }),
    { allowed: false },
    'root namespace is configurable',
  );
});

t.test('empty rules and invalid policies', async (t) => {
  const allowNothing = policy('default', 'allow-nothing', {});
  t.match(authorizeL7([allowNothing], details, req(SLEEP)), { allowed: false, reason: 'enforced denied, matched policy none' });
  const allowAll = policy('default', 'allow-all', { rules: [{}] });
  t.match(authorizeL7([allowNothing, allowAll], details, req(undefined)), { allowed: true, policy: 'ns[default]-policy[allow-all]-rule[0]' });
  const denyNoRules = policy('default', 'deny-nothing', { action: 'DENY' });
  t.match(authorizeL7([denyNoRules], details, req(SLEEP)), { allowed: true });
  const bad = policy('default', 'bad', { rules: [{ from: [{ source: { ipBlocks: ['10.0.0.0/33'] } }] }] });
  t.throws(() => authorizeL7([bad], details, req(SLEEP)), PolicyError);
});

t.test('compiled rules decide as the rules read one request at a time', async (t) => {
  // Every field of a source, an operation and a condition, with its not-form, and the wildcards.
  const pols = [
    policy('default', 'sources', {
      rules: [
        { from: [{ source: { principals: [SLEEP, 'cluster.local/ns/default/*'] } }, { source: { notPrincipals: ['*'] } }] },
        { from: [{ source: { namespaces: ['default'], notNamespaces: ['untrusted'] } }] },
        { from: [{ source: { serviceAccounts: ['sleep', 'untrusted/attacker'] } }] },
        { from: [{ source: { notServiceAccounts: ['bookinfo-details'] } }] },
        { from: [{ source: { ipBlocks: ['10.4.0.0/24'], notIpBlocks: ['10.4.0.66'] } }] },
        { from: [{ source: { remoteIpBlocks: ['192.168.0.0/16'] } }, { source: { notRemoteIpBlocks: ['10.0.0.0/8'] } }] },
        { from: [{ source: { requestPrincipals: ['*'] } }] },
        { from: [{ source: { notRequestPrincipals: ['*'] } }] },
      ],
    }),
    policy('default', 'operations', {
      action: 'DENY',
      rules: [
        { to: [{ operation: { methods: ['GET', 'HEAD'], notPaths: ['/admin*'] } }] },
        { to: [{ operation: { notMethods: ['GET'] } }] },
        { to: [{ operation: { paths: ['/productpage', '/api/*', '*.css', '*', '/v1/{*}/reviews', '/static/{**}'] } }] },
        { to: [{ operation: { hosts: ['*'] } }, { operation: { hosts: ['ProductPage:9080', '*.example.com', 'api.*'], notHosts: ['bad.example.com'] } }] },
        { to: [{ operation: { ports: ['9080'], notPorts: ['15008'] } }] },
        { to: [{ operation: { notPorts: ['9080'] } }] },
      ],
    }),
    policy('default', 'conditions', {
      action: 'AUDIT',
      rules: [
        { when: [{ key: 'request.headers[x-user]', values: ['alice', 'bo*', '*ce', '*'] }] },
        { when: [{ key: 'request.headers[X-Token]', notValues: ['secret'] }] },
        {
          when: [
            { key: 'request.headers[:method]', values: ['POST'] },
            { key: 'request.headers[host]', notValues: ['*'] },
          ],
        },
        { when: [{ key: 'remote.ip', values: ['192.168.1.0/24'] }] },
        { when: [{ key: 'remote.ip', notValues: ['10.4.0.9'] }] },
        {
          when: [
            { key: 'source.principal', values: [SLEEP] },
            { key: 'source.namespace', notValues: ['untrusted'] },
          ],
        },
        {
          when: [
            { key: 'source.ip', values: ['10.4.0.0/16'] },
            { key: 'destination.ip', notValues: ['10.8.4.226'] },
          ],
        },
        { when: [{ key: 'destination.port', values: ['9080'] }] },
        { when: [{ key: 'request.auth.claims[groups]', values: ['admin'] }] },
        { when: [{ key: 'request.auth.principal', notValues: ['x'] }] },
        {
          from: [{ source: { principals: [SLEEP] } }],
          to: [{ operation: { paths: ['/productpage'] } }],
          when: [{ key: 'request.headers[x-user]', values: ['alice'] }],
        },
        {},
      ],
    }),
  ];
  const rules = pols.flatMap((p) => compilePolicy(p).rules);
  const requests: L7Request[] = [];
  for (const principal of [SLEEP, DETAILS, STRANGER, 'cluster.local/not-a-service-account', undefined])
    for (const path of ['/productpage', '/productpage?x=1#f', '/admin/x', '/api/v1', '/a/b.css', '/v1/x/reviews', '/v1/x/y/reviews', '/static/a/b', '/'])
      for (const [method, host, destinationPort] of [
        ['GET', 'productpage:9080', 9080],
        ['POST', 'PRODUCTPAGE:9080', 9080],
        ['HEAD', 'www.example.com', 80],
        ['DELETE', 'bad.example.com', 15008],
        ['GET', '', 9080],
      ] as const)
        for (const headers of [
          {},
          { 'x-user': 'alice', 'x-forwarded-for': '192.168.1.5' },
          { 'x-user': ['bob', 'eve'], 'x-token': 'secret', 'x-forwarded-for': '1.2.3.4, 10.1.2.3' },
          { 'X-User': '', 'X-Token': 'other' },
        ])
          requests.push(req(principal, { path, method, host, destinationPort, headers, sourceIp: principal === STRANGER ? '10.4.0.66' : '10.4.0.9' }));
  let compared = 0;
  let matched = 0;
  const differences: string[] = [];
  for (const rule of rules) {
    const compiled = compileRuleMatcherL7(rule);
    for (const r of requests) {
      const want = matchRuleL7(rule, r);
      compared++;
      if (want) matched++;
      if (compiled(r) !== want) differences.push(`${rule.name} ${JSON.stringify(r)}: compiled ${!want}, expected ${want}`);
    }
  }
  t.same(differences.slice(0, 5), [], `${compared} rule and request pairs, ${matched} matching`);
  t.ok(matched > 1000 && compared - matched > 1000, 'both answers are well represented');
  // The whole filter too: one compiled authorizer for many requests, against each request alone.
  const authorizer = compileAuthorizerL7(pols, productpage);
  for (const r of requests.slice(0, 400)) t.same(authorizer(r), authorizeL7(pols, productpage, r));
});
