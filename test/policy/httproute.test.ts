import t from 'tap';
import { parse } from 'yaml';
import {
  attachesTo,
  applyHeaderModifier,
  applyHeaderModifiers,
  checkHttpRoute,
  compileRoutes,
  CompiledRouteTable,
  ForwardDecision,
  HttpRouteDoc,
  HttpRouteError,
  HttpRouteRule,
  ISTIO_DEFAULT_RETRY,
  parseGatewayDuration,
  route,
  RouteDecision,
  RoutedService,
  RouteRequest,
} from '../../src/policy/httproute';

const REVIEWS: RoutedService = { name: 'reviews', namespace: 'default', port: 9080, portName: 'http' };
const DRAWS = 20_000;
const TOLERANCE = 0.02;

/** xorshift32: a tiny seeded generator in [0, 1), so the weighted split is the same on every run. */
function seeded(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s = (s ^ (s << 13)) >>> 0;
    s = (s ^ (s >>> 17)) >>> 0;
    s = (s ^ (s << 5)) >>> 0;
    return s / 2 ** 32;
  };
}

function httpRoute(
  name: string,
  rules: HttpRouteRule[] | undefined,
  extra: { namespace?: string; parent?: Record<string, unknown>; createdAt?: string } = {},
): HttpRouteDoc {
  const namespace = extra.namespace ?? 'default';
  return {
    apiVersion: 'gateway.networking.k8s.io/v1',
    kind: 'HTTPRoute',
    metadata: { name, namespace, ...(extra.createdAt ? { creationTimestamp: extra.createdAt } : {}) },
    spec: {
      parentRefs: [{ group: '', kind: 'Service', name: 'reviews', port: 9080, ...extra.parent }],
      ...(rules ? { rules } : {}),
    },
  };
}

function get(path: string, headers: Record<string, string> = {}, method = 'GET'): RouteRequest {
  return { method, path, headers };
}

function forward(d: RouteDecision | undefined): ForwardDecision {
  if (d?.kind !== 'forward') throw new Error(`expected a forward decision, got ${JSON.stringify(d)}`);
  return d;
}

function backendOf(table: CompiledRouteTable, request: RouteRequest): string {
  return forward(route(table, request)).backend.name;
}

/** The classic Istio bookinfo example, with per-version Services as Gateway API backends. */
const REVIEWS_YAML = `
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: reviews
  namespace: default
spec:
  parentRefs:
  - group: ""
    kind: Service
    name: reviews
    port: 9080
  rules:
  - matches:
    - headers:
      - name: end-user
        value: jason
    backendRefs:
    - name: reviews-v2
      port: 9080
  - backendRefs:
    - name: reviews-v1
      port: 9080
      weight: 80
    - name: reviews-v2
      port: 9080
      weight: 10
    - name: reviews-v3
      port: 9080
      weight: 10
`;

t.test('bookinfo reviews: jason goes to reviews-v2, everyone else is split 80/10/10', async (t) => {
  const doc = parse(REVIEWS_YAML) as HttpRouteDoc;
  t.same(checkHttpRoute(doc), [], 'the route is valid');
  const table = compileRoutes([doc], REVIEWS);
  t.same(table.routes, ['default.reviews']);

  const jason = forward(route(table, get('/reviews/0', { 'end-user': 'jason' })));
  t.match(jason, { routeName: 'default.reviews', ruleIndex: 0, matchIndex: 0, envoyRouteName: 'default.reviews.0' });
  t.same(jason.backend, { name: 'reviews-v2', namespace: 'default', port: 9080 });
  t.equal(forward(route(table, get('/reviews/0', { 'end-user': 'Jason' }))).ruleIndex, 1, 'header values are case-sensitive: Jason is split like anyone');

  const random = seeded(20240501);
  const counts = new Map<string, number>();
  let otherRule = 0;
  for (let i = 0; i < DRAWS; i++) {
    const d = forward(route(table, get('/reviews/0'), random));
    if (d.ruleIndex !== 1) otherRule++;
    counts.set(d.backend.name, (counts.get(d.backend.name) ?? 0) + 1);
  }
  t.equal(otherRule, 0, 'every draw used the weighted rule');
  const share = (name: string) => (counts.get(name) ?? 0) / DRAWS;
  for (const [name, expected] of [
    ['reviews-v1', 0.8],
    ['reviews-v2', 0.1],
    ['reviews-v3', 0.1],
  ] as const) {
    t.ok(Math.abs(share(name) - expected) <= TOLERANCE, `${name}: ${(share(name) * 100).toFixed(2)}% is within 2 points of ${expected * 100}%`);
  }
  t.equal(
    [...counts.values()].reduce((a, b) => a + b, 0),
    DRAWS,
  );
});

t.test('header names match case-insensitively; repeated headers are joined', async (t) => {
  const table = compileRoutes(
    [httpRoute('by-user', [{ matches: [{ headers: [{ name: 'End-User', value: 'jason' }] }], backendRefs: [{ name: 'reviews-v2', port: 9080 }] }])],
    REVIEWS,
  );
  t.equal(backendOf(table, get('/', { 'end-user': 'jason' })), 'reviews-v2');
  t.match(route(table, get('/', { 'end-user': 'json' })), { kind: 'no-route', status: 404 });
  const regex = compileRoutes(
    [
      httpRoute('re', [
        { matches: [{ headers: [{ type: 'RegularExpression', name: 'x-tags', value: 'a,.*' }] }], backendRefs: [{ name: 'reviews-v3', port: 9080 }] },
      ]),
    ],
    REVIEWS,
  );
  t.equal(backendOf(regex, { method: 'GET', path: '/', headers: { 'x-tags': ['a', 'b'] } }), 'reviews-v3', 'a repeated header is matched as "a,b"');
  t.match(route(regex, { method: 'GET', path: '/', headers: { 'x-tags': 'xa,b' } }), { kind: 'no-route' }, 'regular expressions must match the whole value');
});

t.test('attachment: which routes apply to a Service port', async (t) => {
  const doc = parse(REVIEWS_YAML) as HttpRouteDoc;
  const ratings = compileRoutes([doc], { name: 'ratings', namespace: 'default', port: 9080 });
  t.same(ratings.matches, [], 'a route for reviews does not attach to ratings');
  t.equal(route(ratings, get('/ratings/0')), undefined, 'no attached route: undefined, the caller sends to the Service itself');
  t.equal(route(compileRoutes([doc], { ...REVIEWS, port: 9081 }), get('/')), undefined, 'parentRef port 9080 does not attach to port 9081');

  const anyPort = httpRoute('any-port', [{ backendRefs: [{ name: 'reviews-v1', port: 9080 }] }], { parent: { port: undefined } });
  t.equal(backendOf(compileRoutes([anyPort], { ...REVIEWS, port: 9081 }), get('/')), 'reviews-v1', 'no port: every port of the Service');
  const byName = httpRoute('by-name', [{ backendRefs: [{ name: 'reviews-v1', port: 9080 }] }], { parent: { port: undefined, sectionName: 'http' } });
  t.equal(compileRoutes([byName], REVIEWS).routes.length, 1, 'sectionName names the port');
  t.equal(compileRoutes([byName], { ...REVIEWS, portName: 'grpc' }).routes.length, 0);

  const consumer = httpRoute('from-frontend', [{ backendRefs: [{ name: 'reviews-v1', port: 9080 }] }], {
    namespace: 'frontend',
    parent: { namespace: 'default' },
  });
  const table = compileRoutes([consumer], REVIEWS);
  t.equal(table.matches.length, 0, 'a consumer route is not applied by the waypoint');
  t.match(table.skipped, [{ route: 'frontend.from-frontend', reason: /consumer route/ }]);
});

t.test('requests no rule matches get 404 once any route is attached', async (t) => {
  const table = compileRoutes(
    [httpRoute('v2-only', [{ matches: [{ path: { type: 'PathPrefix', value: '/v2' } }], backendRefs: [{ name: 'reviews-v2', port: 9080 }] }])],
    REVIEWS,
  );
  t.match(route(table, get('/v3')), { kind: 'no-route', status: 404, reason: /default\.v2-only/ });
  t.equal(backendOf(table, get('/v2')), 'reviews-v2');
  t.equal(backendOf(table, get('/v2/')), 'reviews-v2');
  t.equal(backendOf(table, get('/v2/example?x=1')), 'reviews-v2', 'the query string is not part of the path');
  t.match(route(table, get('/v2example')), { kind: 'no-route' }, 'a prefix matches whole path segments');
  const slash = compileRoutes([httpRoute('slash', [{ matches: [{ path: { value: '/v2/' } }], backendRefs: [{ name: 'reviews-v2', port: 9080 }] }])], REVIEWS);
  t.equal(backendOf(slash, get('/v2')), 'reviews-v2', 'a trailing / in a PathPrefix is ignored');
});

t.test('no usable backend: 500', async (t) => {
  const zero = compileRoutes(
    [
      httpRoute('drain', [
        {
          backendRefs: [
            { name: 'reviews-v1', port: 9080, weight: 0 },
            { name: 'reviews-v2', port: 9080, weight: 0 },
          ],
        },
      ]),
    ],
    REVIEWS,
  );
  t.match(route(zero, get('/')), { kind: 'no-backend', status: 500, routeName: 'default.drain', reason: 'every backendRef of the rule has weight 0' });
  const none = compileRoutes([httpRoute('none', [{ matches: [{ path: { value: '/' } }] }])], REVIEWS);
  t.match(route(none, get('/')), { kind: 'no-backend', status: 500, reason: 'the rule has no backendRefs' });
  const noRules = compileRoutes([httpRoute('no-rules', undefined)], REVIEWS);
  t.match(route(noRules, get('/anything')), { kind: 'no-backend', status: 500 }, 'a route without rules gets the default rule, which has no backend');

  const partial = compileRoutes(
    [
      httpRoute('some-zero', [
        {
          backendRefs: [
            { name: 'reviews-v1', port: 9080, weight: 0 },
            { name: 'reviews-v3', port: 9080 },
          ],
        },
      ]),
    ],
    REVIEWS,
  );
  const random = seeded(7);
  const chosen = new Set<string>();
  for (let i = 0; i < 1000; i++) chosen.add(forward(route(partial, get('/'), random)).backend.name);
  t.same([...chosen], ['reviews-v3'], 'weight 0 is never chosen');

  const crossNs = compileRoutes([httpRoute('cross', [{ backendRefs: [{ name: 'reviews-v1', namespace: 'other', port: 9080 }] }])], REVIEWS);
  t.match(route(crossNs, get('/')), { kind: 'no-backend', status: 500, reason: /RefNotPermitted/ });
  const missing = compileRoutes([httpRoute('missing', [{ backendRefs: [{ name: 'reviews-v9', port: 9080 }] }])], REVIEWS, {
    backendExists: (b) => b.name !== 'reviews-v9',
  });
  t.match(route(missing, get('/')), { kind: 'no-backend', status: 500, reason: /BackendNotFound/ });

  const half = compileRoutes(
    [
      httpRoute('half', [
        {
          backendRefs: [
            { name: 'reviews-v1', port: 9080 },
            { name: 'reviews-v9', port: 9080 },
          ],
        },
      ]),
    ],
    REVIEWS,
    { backendExists: (b) => b.name !== 'reviews-v9' },
  );
  const r = seeded(99);
  let failed = 0;
  for (let i = 0; i < DRAWS; i++) if (route(half, get('/'), r)?.kind === 'no-backend') failed++;
  t.ok(Math.abs(failed / DRAWS - 0.5) <= TOLERANCE, `an invalid backend's share gets 500: ${failed} of ${DRAWS}`);
});

t.test('precedence across rules and routes', async (t) => {
  const to = (name: string) => [{ name, port: 9080 }];
  const docs = [
    httpRoute('a-prefix', [
      { name: 'short', matches: [{ path: { type: 'PathPrefix', value: '/api' } }], backendRefs: to('short-prefix') },
      { name: 'long', matches: [{ path: { type: 'PathPrefix', value: '/api/v1' } }], backendRefs: to('long-prefix') },
      { name: 'regex', matches: [{ path: { type: 'RegularExpression', value: '/api/v1/.*' } }], backendRefs: to('regex') },
    ]),
    httpRoute('b-exact', [{ name: 'exact', matches: [{ path: { type: 'Exact', value: '/api/v1' } }], backendRefs: to('exact') }]),
    httpRoute('c-more', [
      { name: 'method', matches: [{ path: { value: '/api/v1' }, method: 'POST' }], backendRefs: to('method') },
      {
        name: 'two-headers',
        matches: [
          {
            path: { value: '/api/v1' },
            headers: [
              { name: 'a', value: '1' },
              { name: 'b', value: '2' },
            ],
          },
        ],
        backendRefs: to('two-headers'),
      },
      { name: 'one-header', matches: [{ path: { value: '/api/v1' }, headers: [{ name: 'a', value: '1' }] }], backendRefs: to('one-header') },
      {
        name: 'query',
        matches: [{ path: { value: '/api/v1' }, headers: [{ name: 'a', value: '1' }], queryParams: [{ name: 'q', value: 'x' }] }],
        backendRefs: to('query'),
      },
    ]),
  ];
  const table = compileRoutes(docs, REVIEWS);
  t.same(
    table.matches.map((m) => m.rule.envoyName),
    ['exact', 'method', 'two-headers', 'query', 'one-header', 'long', 'short', 'regex'],
    'Exact, longest prefix, method, more headers, more query params; regular expressions last (as Istio)',
  );
  t.equal(backendOf(table, get('/api/v1')), 'exact', 'an exact path beats a prefix of the same length');
  t.equal(backendOf(table, get('/api/v1', {}, 'POST')), 'exact');
  t.equal(backendOf(table, get('/api/v1/x', {}, 'POST')), 'method', 'a method match beats header matches');
  t.equal(backendOf(table, get('/api/v1/x', { a: '1', b: '2' })), 'two-headers');
  t.equal(backendOf(table, get('/api/v1/x?q=x', { a: '1' })), 'query', 'a query match breaks a tie on headers');
  t.equal(backendOf(table, get('/api/v1/x', { a: '1' })), 'one-header');
  t.equal(backendOf(table, get('/api/v1/x')), 'long-prefix', 'the longer prefix beats the regex that also matches');
  t.equal(backendOf(table, get('/api/v2')), 'short-prefix');
});

t.test('precedence ties: oldest route, then namespace/name, then rule order', async (t) => {
  const rule = (backend: string): HttpRouteRule => ({ matches: [{ path: { value: '/' } }], backendRefs: [{ name: backend, port: 9080 }] });
  const alpha = httpRoute('alpha', [rule('alpha-first'), rule('alpha-second')]);
  const zulu = httpRoute('zulu', [rule('zulu')]);
  t.equal(backendOf(compileRoutes([zulu, alpha], REVIEWS), get('/x')), 'alpha-first', 'same age: alphabetical by namespace/name, first rule first');
  const oldZulu = httpRoute('zulu', [rule('zulu')], { createdAt: '2024-01-01T00:00:00Z' });
  const newAlpha = httpRoute('alpha', [rule('alpha-first')], { createdAt: '2024-06-01T00:00:00Z' });
  const table = compileRoutes([newAlpha, oldZulu], REVIEWS);
  t.equal(backendOf(table, get('/x')), 'zulu', 'the oldest route wins a tie');
  t.same(table.routes, ['default.zulu', 'default.alpha']);
});

t.test('the mesh conformance case: a header match beats a query-only match', async (t) => {
  const table = compileRoutes(
    [
      httpRoute('params', [
        { matches: [{ queryParams: [{ name: 'animal', value: 'whale' }] }], backendRefs: [{ name: 'echo-v1', port: 8080 }] },
        {
          matches: [{ headers: [{ name: 'version', value: 'one' }], queryParams: [{ name: 'animal', value: 'whale' }] }],
          backendRefs: [{ name: 'echo-v2', port: 8080 }],
        },
      ]),
    ],
    REVIEWS,
  );
  t.equal(backendOf(table, get('/?animal=whale')), 'echo-v1');
  t.equal(backendOf(table, get('/?animal=whale&color=blue')), 'echo-v1');
  t.equal(backendOf(table, get('/?animal=whale', { version: 'one' })), 'echo-v2');
  t.equal(backendOf(table, get('/?animal=whale&animal=dolphin')), 'echo-v1', 'a repeated parameter: the first value counts');
  t.match(route(table, get('/?animal=whaledolphin')), { kind: 'no-route', status: 404 });
  t.match(route(table, get('/?Animal=whale')), { kind: 'no-route' }, 'parameter names are case-sensitive');
});

t.test('RequestHeaderModifier: set, add, remove', async (t) => {
  const input = { 'x-a': 'old', 'x-b': 'foo', 'x-c': 'gone', 'x-list': ['1', '2'], 'x-keep': 'k' };
  const out = applyHeaderModifier(input, {
    set: [{ name: 'x-a', value: 'new' }],
    add: [
      { name: 'x-b', value: 'bar,baz' },
      { name: 'x-list', value: '3' },
      { name: 'x-fresh', value: 'v' },
    ],
    remove: ['x-c'],
  });
  t.same({ ...out }, { 'x-a': 'new', 'x-b': 'foo,bar,baz', 'x-list': '1,2,3', 'x-keep': 'k', 'x-fresh': 'v' });
  t.same(input, { 'x-a': 'old', 'x-b': 'foo', 'x-c': 'gone', 'x-list': ['1', '2'], 'x-keep': 'k' }, 'the input is not changed');
  const odd = applyHeaderModifier(
    {},
    {
      set: [
        { name: 'constructor', value: 'c' },
        { name: '__proto__', value: 'p' },
      ],
      add: [{ name: 'tostring', value: 't' }],
      remove: [],
    },
  );
  t.same(Object.keys(odd).sort(), ['__proto__', 'constructor', 'tostring'], 'any token is a plain header name');

  const table = compileRoutes(
    [
      httpRoute('modify', [
        {
          filters: [
            {
              type: 'RequestHeaderModifier',
              requestHeaderModifier: { set: [{ name: 'X-Route', value: 'reviews' }], add: [{ name: 'x-trail', value: 'rule' }], remove: ['X-Debug'] },
            },
          ],
          backendRefs: [
            {
              name: 'reviews-v2',
              port: 9080,
              filters: [{ type: 'RequestHeaderModifier', requestHeaderModifier: { add: [{ name: 'x-trail', value: 'backend' }] } }],
            },
          ],
        },
      ]),
    ],
    REVIEWS,
  );
  const d = forward(route(table, get('/', { 'x-debug': '1', 'x-trail': 'client', 'x-route': 'spoofed' })));
  t.same(
    d.headerModifiers.map((m) => m.set.map((h) => h.name)),
    [['x-route'], []],
    'names are compiled to lower case',
  );
  const sent = applyHeaderModifiers({ 'x-debug': '1', 'x-trail': 'client', 'x-route': 'spoofed' }, d.headerModifiers);
  t.same({ ...sent }, { 'x-route': 'reviews', 'x-trail': 'client,rule,backend' }, "the rule's filter, then the backend's");
});

t.test('Gateway API durations', async (t) => {
  const good: [string, number][] = [
    ['1h', 3_600_000],
    ['10s', 10_000],
    ['500ms', 500],
    ['1h30m', 5_400_000],
    ['0s', 0],
    ['1s500ms', 1_500],
    ['2m1h', 3_720_000],
    ['99999ms', 99_999],
  ];
  for (const [text, ms] of good) t.equal(parseGatewayDuration(text), ms, text);
  for (const bad of ['', '10', '1.5s', '1d', '-1s', ' 10s', '100000s', '1h1m1s1ms1h', '10S', '1us']) {
    t.equal(parseGatewayDuration(bad), undefined, `${JSON.stringify(bad)} is refused`);
  }
});

t.test('timeouts and retries, as Istio converts them', async (t) => {
  const rule = (extra: Partial<HttpRouteRule>): HttpRouteRule => ({ backendRefs: [{ name: 'reviews-v1', port: 9080 }], ...extra });
  const decide = (extra: Partial<HttpRouteRule>) => forward(route(compileRoutes([httpRoute('r', [rule(extra)])], REVIEWS), get('/')));

  t.equal(decide({ timeouts: { request: '10s' } }).timeoutMs, 10_000);
  t.equal(decide({ timeouts: { request: '0s' } }).timeoutMs, undefined, '0s disables the timeout');
  t.equal(decide({}).timeoutMs, undefined, 'no timeout unless one is written');
  t.same(decide({}).retry, ISTIO_DEFAULT_RETRY, "a rule without retry gets Istio's default: 2 retries, connect failure and 503");

  const retried = decide({ retry: { attempts: 3, codes: [500, 502, 503, 504], backoff: '25ms' }, timeouts: { request: '10s', backendRequest: '2s' } });
  t.same(retried.retry, { attempts: 3, codes: [500, 502, 503, 504], onConnectFailure: true, source: 'route', backoffMs: 25, perTryTimeoutMs: 2_000 });
  t.equal(retried.timeoutMs, 10_000, 'request covers the whole exchange, retries included');
  t.match(decide({ retry: { codes: [503] } }).retry, { attempts: 2, codes: [503], onConnectFailure: true }, 'attempts default to 2');
  t.match(decide({ retry: { attempts: 0 } }).retry, { attempts: 0 }, 'attempts 0 turns retries off');
  const noRetry = decide({ timeouts: { request: '10s', backendRequest: '3s' } });
  t.equal(noRetry.timeoutMs, 3_000, 'without a retry stanza Istio uses backendRequest as the route timeout');
  t.equal(noRetry.retry.perTryTimeoutMs, undefined);
});

const BROKEN_YAML = `
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: broken
  namespace: default
spec:
  parentRefs:
  - kind: ServiceEntry
    name: reviews
  - kind: Service
    name: reviews
  rules:
  - matches:
    - path: { type: PathPrefix, value: /reviews }
    - path: { type: RegularExpression, value: "/reviews/(" }
    - path: { type: Exact, value: /a//b }
      headers:
      - { type: RegularExpression, name: x-user, value: "(?!admin).*" }
      - { name: ":authority", value: reviews }
      method: get
    filters:
    - type: RequestHeaderModifier
      requestHeaderModifier:
        set: [{ name: X-Debug, value: "1" }]
        remove: [x-debug]
    - type: URLRewrite
      urlRewrite: { path: { type: ReplaceFullPath, replaceFullPath: /v2 } }
    backendrefs: []
    backendRefs:
    - { name: reviews-v1, port: 9080, weight: -1 }
    - { name: reviews-v2, port: 9080, weight: 1.5 }
    - { name: reviews-v3, weight: "10" }
    timeouts: { request: 10 seconds, backendRequest: 1m }
    retry: { attempts: 2, codes: [302, 503, 503] }
  - timeouts: { request: 5s, backendRequest: 10s }
`;

t.test('validation problems carry the path of the field', async (t) => {
  const problems = checkHttpRoute(parse(BROKEN_YAML));
  const byPath = new Map(problems.map((p) => [p.path, p.message]));
  const expected: [string, RegExp][] = [
    ['spec.parentRefs[0].kind', /"ServiceEntry" is neither Service \(a waypoint's route\) nor Gateway/],
    ['spec.parentRefs[1].group', /must be written as ""/],
    ['spec.rules[0].matches[1].path.value', /not a regular expression/],
    ['spec.rules[0].matches[2].path.value', /must not contain "\/\/"/],
    ['spec.rules[0].matches[2].headers[0].value', /lookaround.*RE2/],
    ['spec.rules[0].matches[2].headers[1].name', /not a valid header name/],
    ['spec.rules[0].matches[2].method', /"get" is not one of GET/],
    [
      'spec.rules[0].filters[0].requestHeaderModifier.remove[0]',
      /already has an action at spec\.rules\[0\]\.filters\[0\]\.requestHeaderModifier\.set\[0\]\.name/,
    ],
    ['spec.rules[0].filters[1].type', /URLRewrite is a Gateway API filter hbone-sim does not simulate/],
    ['spec.rules[0].backendrefs', /did you mean "backendRefs"/],
    ['spec.rules[0].backendRefs[0].weight', /-1 is outside 0-1000000/],
    ['spec.rules[0].backendRefs[1].weight', /whole number/],
    ['spec.rules[0].backendRefs[2].weight', /whole number, got string/],
    ['spec.rules[0].backendRefs[2].port', /is required/],
    ['spec.rules[0].timeouts.request', /not a Gateway API duration/],
    ['spec.rules[0].retry.codes[0]', /302 is outside 400-599/],
    ['spec.rules[0].retry.codes[2]', /listed twice/],
    ['spec.rules[1].timeouts.backendRequest', /longer than the request timeout/],
  ];
  for (const [path, message] of expected) t.match(byPath.get(path), message, path);
  t.equal(problems.length, expected.length, `no other problems: ${JSON.stringify(problems.map((p) => p.path))}`);
  t.throws(() => compileRoutes([parse(BROKEN_YAML) as HttpRouteDoc], REVIEWS), HttpRouteError, 'compileRoutes refuses a route with problems');
});

t.test('regular expressions: anchored, and only what RE2 also accepts', async (t) => {
  const headerRegex = (value: string) => checkHttpRoute(httpRoute('re', [{ matches: [{ headers: [{ type: 'RegularExpression', name: 'x', value }] }] }]));
  for (const ok of ['v[0-9]+', '(?<name>a)b', '[(?=]x', 'a\\\\1', '.*']) t.same(headerRegex(ok), [], `${ok} is accepted`);
  for (const [bad, why] of [
    ['(?<=a)b', /lookaround/],
    ['(?!a)b', /lookaround/],
    ['(a)\\1', /backreference/],
    ['(?<n>a)\\k<n>', /backreference/],
    ['[a', /not a regular expression/],
  ] as const) {
    t.match(headerRegex(bad), [{ path: 'spec.rules[0].matches[0].headers[0].value', message: why }], `${bad} is refused`);
  }
  const table = compileRoutes(
    [httpRoute('re', [{ matches: [{ path: { type: 'RegularExpression', value: '/reviews/[0-9]+' } }], backendRefs: [{ name: 'reviews-v1', port: 9080 }] }])],
    REVIEWS,
  );
  t.equal(backendOf(table, get('/reviews/12?x=1')), 'reviews-v1');
  t.match(route(table, get('/reviews/12/x')), { kind: 'no-route' }, 'the whole path must match');
});

t.test('an empty matches list is a catch-all, like an absent one', async (t) => {
  const table = compileRoutes([httpRoute('empty', [{ matches: [], backendRefs: [{ name: 'reviews-v1', port: 9080 }] }])], REVIEWS);
  t.equal(backendOf(table, get('/anything')), 'reviews-v1');
});

t.test('validation of the envelope and of parentRefs', async (t) => {
  const paths = (doc: unknown) => checkHttpRoute(doc).map((p) => p.path);
  t.same(paths('not a route'), ['']);
  t.same(paths({ apiVersion: 'v1', kind: 'Route', metadata: { name: 'Bad_Name' }, spec: {} }), [
    'apiVersion',
    'kind',
    'metadata.name',
    'metadata.namespace',
    'spec.parentRefs',
  ]);
  t.same(paths({ ...httpRoute('x', undefined), metadata: { name: 'x', namespace: 'default', creationTimestamp: 'yesterday' } }), [
    'metadata.creationTimestamp',
  ]);
  const twice = httpRoute('twice', undefined);
  t.same(paths({ ...twice, spec: { parentRefs: [twice.spec.parentRefs![0], twice.spec.parentRefs![0]] } }), ['spec.parentRefs[1]']);
  t.same(paths({ ...twice, spec: { ...twice.spec, rules: [] } }), ['spec.rules']);
  t.same(paths({ ...twice, spec: { ...twice.spec, rules: [{ name: 'a' }, { name: 'a' }] } }), ['spec.rules[1].name']);
  t.same(paths({ ...twice, spec: { ...twice.spec, rules: [{ retry: { attempts: -1, backoff: 'soon' } }] } }), [
    'spec.rules[0].retry.attempts',
    'spec.rules[0].retry.backoff',
  ]);
  t.same(
    paths({
      ...twice,
      spec: {
        ...twice.spec,
        rules: [{ filters: [{ type: 'RequestHeaderModifier' }, { type: 'RequestHeaderModifier', requestHeaderModifier: {}, urlRewrite: {} }] }],
      },
    }),
    ['spec.rules[0].filters[0].requestHeaderModifier', 'spec.rules[0].filters[1].urlRewrite', 'spec.rules[0].filters[1]'],
  );
});

t.test("a route whose parent is a Gateway attaches to that Gateway's listener, not to a Service", async (t) => {
  const doc = parse(`apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: { name: bookinfo, namespace: default }
spec:
  parentRefs:
  - name: bookinfo-gateway
  rules:
  - matches:
    - path: { type: Exact, value: /productpage }
    - path: { type: PathPrefix, value: /static }
    backendRefs:
    - name: productpage
      port: 9080
`) as HttpRouteDoc;
  t.same(checkHttpRoute(doc), [], 'kind and group left out mean a Gateway');
  const listener = { kind: 'Gateway' as const, name: 'bookinfo-gateway', namespace: 'default', port: 80, portName: 'http' };
  t.equal(attachesTo(doc, listener), true);
  t.equal(attachesTo(doc, { name: 'bookinfo-gateway', namespace: 'default', port: 80 }), false, 'not to a Service of that name');
  t.equal(attachesTo(doc, { ...listener, namespace: 'other' }), false);
  const table = compileRoutes([doc], listener);
  t.equal(table.matches.length, 2);
  const at = (path: string) => route(table, { method: 'GET', path, headers: {} });
  t.equal(forward(at('/productpage')).backend.name, 'productpage');
  t.equal(forward(at('/static/css/x.css')).backend.name, 'productpage');
  t.equal(at('/admin')?.kind, 'no-route', 'what no rule matches gets no route');
});
