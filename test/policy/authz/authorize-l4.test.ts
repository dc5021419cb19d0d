import t from 'tap';
import type { AuthorizationPolicyDoc } from '../../../src/mesh/model';
import { authorize, checkPolicy, policyProblems, PolicyError, L4Connection, PolicyTarget, ROOT_NAMESPACE } from '../../../src/policy/authz';

const SLEEP = 'cluster.local/ns/default/sa/sleep';
const DETAILS = 'cluster.local/ns/default/sa/bookinfo-details';
const INGRESS = 'cluster.local/ns/istio-system/sa/istio-ingressgateway-service-account';
const STRANGER = 'cluster.local/ns/untrusted/sa/attacker';

const productpage: PolicyTarget = { namespace: 'default', labels: { app: 'productpage', version: 'v1' } };
const details: PolicyTarget = { namespace: 'default', labels: { app: 'details', version: 'v1' } };
const elsewhere: PolicyTarget = { namespace: 'other', labels: { app: 'productpage', version: 'v1' } };

function policy(namespace: string, name: string, spec: Record<string, unknown>, apiVersion = 'security.istio.io/v1'): AuthorizationPolicyDoc {
  return { apiVersion, kind: 'AuthorizationPolicy', metadata: { name, namespace }, spec, origin: `test.yaml:${name}` };
}

function conn(principal: string | undefined, extra: Partial<L4Connection> = {}): L4Connection {
  return { sourcePrincipal: principal, sourceIp: '10.4.0.9', destinationIp: '10.4.0.5', destinationPort: 9080, ...extra };
}

/** The seed article's policy, exactly. */
const productpageViewer = policy('default', 'productpage-viewer', {
  selector: { matchLabels: { app: 'productpage' } },
  action: 'ALLOW',
  rules: [{ from: [{ source: { principals: [SLEEP, INGRESS] } }] }],
});

t.test('the seed policy productpage-viewer', async (t) => {
  const pols = [productpageViewer];
  t.same(checkPolicy(productpageViewer), [], 'the seed policy is valid');

  const sleep = authorize(pols, productpage, conn(SLEEP));
  t.match(sleep, { allowed: true, action: 'ALLOW', policy: 'ns[default]-policy[productpage-viewer]-rule[0]' });
  t.equal(sleep.reason, 'allowed by ns[default]-policy[productpage-viewer]-rule[0]');

  t.match(authorize(pols, productpage, conn(INGRESS)), { allowed: true, policy: 'ns[default]-policy[productpage-viewer]-rule[0]' }, 'ingress gateway allowed');

  const det = authorize(pols, productpage, conn(DETAILS));
  t.equal(det.allowed, false, 'details denied');
  t.equal(det.policy, undefined);
  t.equal(det.reason, 'no ALLOW policy matched (1 ALLOW policy applies: ns[default]-policy[productpage-viewer])');

  t.equal(authorize(pols, productpage, conn(undefined)).allowed, false, 'a plaintext peer has no principal and is denied');
  t.match(authorize(pols, productpage, conn(`spiffe://${SLEEP}`)), { allowed: true }, 'a principal given with spiffe:// is normalised');

  const other = authorize(pols, elsewhere, conn(DETAILS));
  t.match(other, { allowed: true, reason: /no ALLOW policy applies/ }, 'same labels in another namespace are unaffected');
  t.match(authorize(pols, details, conn(STRANGER)), { allowed: true }, 'other workloads in default are unaffected');
});

t.test('v1beta1 is accepted the same way', async (t) => {
  const beta = policy('default', 'productpage-viewer', productpageViewer.spec as Record<string, unknown>, 'security.istio.io/v1beta1');
  t.same(checkPolicy(beta), []);
  t.match(authorize([beta], productpage, conn(SLEEP)), { allowed: true });
});

t.test('a matching DENY wins over a matching ALLOW', async (t) => {
  const deny = policy('default', 'deny-sleep', { action: 'DENY', rules: [{ from: [{ source: { principals: [SLEEP] } }] }] });
  const d = authorize([productpageViewer, deny], productpage, conn(SLEEP));
  t.match(d, { allowed: false, action: 'DENY', policy: 'ns[default]-policy[deny-sleep]-rule[0]' });
  t.equal(d.reason, 'denied by ns[default]-policy[deny-sleep]-rule[0]');
  t.match(authorize([productpageViewer, deny], productpage, conn(INGRESS)), { allowed: true }, 'the DENY does not match the gateway');
  t.match(authorize([deny], details, conn(DETAILS)), { allowed: true, reason: /no ALLOW policy applies/ }, 'only DENY policies: everything else allowed');
});

t.test('the reason counts the ALLOW policies that apply', async (t) => {
  const second = policy('default', 'allow-ingress', { rules: [{ from: [{ source: { namespaces: ['istio-system'] } }] }] });
  const d = authorize([productpageViewer, second], productpage, conn(DETAILS));
  t.match(d, {
    allowed: false,
    reason: /^no ALLOW policy matched \(2 ALLOW policies apply: ns\[default\]-policy\[productpage-viewer\], ns\[default\]-policy\[allow-ingress\]\)$/,
  });
});

t.test('namespace-wide policy (no selector)', async (t) => {
  const nsOnly = policy('default', 'same-namespace', { action: 'ALLOW', rules: [{ from: [{ source: { namespaces: ['default'] } }] }] });
  t.match(authorize([nsOnly], details, conn(SLEEP)), { allowed: true, policy: 'ns[default]-policy[same-namespace]-rule[0]' });
  t.match(authorize([nsOnly], productpage, conn(STRANGER)), { allowed: false });
  t.match(authorize([nsOnly], elsewhere, conn(STRANGER)), { allowed: true }, 'does not reach another namespace');
  t.match(authorize([nsOnly], productpage, conn(undefined, { sourceNamespace: 'default' })), { allowed: false }, 'namespaces need an mTLS identity');
});

t.test('mesh-wide policies in the root namespace', async (t) => {
  t.equal(ROOT_NAMESPACE, 'istio-system');
  const meshDeny = policy('istio-system', 'deny-untrusted', { action: 'DENY', rules: [{ from: [{ source: { namespaces: ['untrusted'] } }] }] });
  t.match(authorize([meshDeny], elsewhere, conn(STRANGER)), { allowed: false, policy: 'ns[istio-system]-policy[deny-untrusted]-rule[0]' });
  t.match(authorize([meshDeny], productpage, conn(STRANGER)), { allowed: false });
  t.match(authorize([meshDeny], productpage, conn(SLEEP)), { allowed: true });

  const meshAllowNothing = policy('istio-system', 'allow-nothing', {});
  t.match(authorize([meshAllowNothing], elsewhere, conn(SLEEP)), { allowed: false, reason: /1 ALLOW policy applies/ }, 'mesh-wide allow-nothing');
  t.match(authorize([meshAllowNothing, productpageViewer], productpage, conn(SLEEP)), { allowed: true }, 'a workload policy can still allow');

  const rootSelector = policy('istio-system', 'pp-only-from-default', {
    selector: { matchLabels: { app: 'productpage' } },
    rules: [{ from: [{ source: { namespaces: ['default'] } }] }],
  });
  t.match(authorize([rootSelector], elsewhere, conn(STRANGER)), { allowed: false }, 'root-namespace selector applies in every namespace');
  t.match(authorize([rootSelector], details, conn(STRANGER)), { allowed: true }, 'but only to workloads with the labels');

  const custom = policy('mesh-root', 'deny-untrusted', { action: 'DENY', rules: [{ from: [{ source: { namespaces: ['untrusted'] } }] }] });
  t.match(authorize([custom], elsewhere, conn(STRANGER), { rootNamespace: 'mesh-root' }), { allowed: false }, 'root namespace is configurable');
  t.match(authorize([custom], elsewhere, conn(STRANGER)), { allowed: true });
});

t.test('notPrincipals and notNamespaces', async (t) => {
  const requireMtls = policy('default', 'require-mtls', { action: 'DENY', rules: [{ from: [{ source: { notPrincipals: ['*'] } }] }] });
  t.match(authorize([requireMtls], details, conn(undefined)), { allowed: false, policy: 'ns[default]-policy[require-mtls]-rule[0]' }, 'plaintext denied');
  t.match(authorize([requireMtls], details, conn(SLEEP)), { allowed: true }, 'any identity passes');

  const notSleep = policy('default', 'everyone-but-sleep', { rules: [{ from: [{ source: { principals: ['cluster.local/*'], notPrincipals: [SLEEP] } }] }] });
  t.match(authorize([notSleep], details, conn(INGRESS)), { allowed: true });
  t.match(authorize([notSleep], details, conn(SLEEP)), { allowed: false }, 'positive and negative fields are ANDed');

  const notUntrusted = policy('default', 'not-untrusted', { rules: [{ from: [{ source: { notNamespaces: ['untrusted', 'sandbox-*'] } }] }] });
  t.match(authorize([notUntrusted], details, conn(SLEEP)), { allowed: true });
  t.match(authorize([notUntrusted], details, conn(STRANGER)), { allowed: false });
  t.match(authorize([notUntrusted], details, conn('cluster.local/ns/sandbox-7/sa/x')), { allowed: false }, 'wildcards in notNamespaces');
});

t.test('serviceAccounts', async (t) => {
  const p = policy('default', 'by-sa', {
    rules: [{ from: [{ source: { serviceAccounts: ['sleep', 'istio-system/istio-ingressgateway-service-account'] } }] }],
  });
  t.same(checkPolicy(p), []);
  t.match(authorize([p], details, conn(SLEEP)), { allowed: true }, 'bare name is in the policy namespace');
  t.match(authorize([p], details, conn(INGRESS)), { allowed: true }, 'ns/sa form');
  t.match(authorize([p], details, conn('cluster.local/ns/other/sa/sleep')), { allowed: false });
});

t.test('ipBlocks and notIpBlocks', async (t) => {
  const p = policy('default', 'from-pods', { rules: [{ from: [{ source: { ipBlocks: ['10.4.0.0/16', '10.9.9.9'], notIpBlocks: ['10.4.9.0/24'] } }] }] });
  t.same(checkPolicy(p), []);
  t.match(authorize([p], details, conn(undefined, { sourceIp: '10.4.0.9' })), { allowed: true }, 'inside the block, no identity needed');
  t.match(authorize([p], details, conn(undefined, { sourceIp: '10.9.9.9' })), { allowed: true }, 'plain IP entry');
  t.match(authorize([p], details, conn(SLEEP, { sourceIp: '10.4.9.3' })), { allowed: false }, 'excluded by notIpBlocks');
  t.match(authorize([p], details, conn(SLEEP, { sourceIp: '10.5.0.1' })), { allowed: false }, 'outside every block');
});

t.test('ports and notPorts', async (t) => {
  const onlyApp = policy('default', 'only-9080', { rules: [{ to: [{ operation: { ports: ['9080'] } }] }] });
  t.match(authorize([onlyApp], details, conn(SLEEP)), { allowed: true });
  t.match(authorize([onlyApp], details, conn(SLEEP, { destinationPort: 15000 })), { allowed: false });

  const denyOthers = policy('default', 'deny-other-ports', { action: 'DENY', rules: [{ to: [{ operation: { notPorts: ['9080', '9090'] } }] }] });
  t.match(authorize([denyOthers], details, conn(SLEEP, { destinationPort: 22 })), { allowed: false, policy: 'ns[default]-policy[deny-other-ports]-rule[0]' });
  t.match(authorize([denyOthers], details, conn(SLEEP, { destinationPort: 9090 })), { allowed: true });

  const fromAndTo = policy('default', 'sleep-to-9080', {
    rules: [{ from: [{ source: { principals: [SLEEP] } }, { source: { namespaces: ['istio-system'] } }], to: [{ operation: { ports: ['9080'] } }] }],
  });
  t.match(authorize([fromAndTo], details, conn(INGRESS)), { allowed: true }, 'from[] entries are ORed');
  t.match(authorize([fromAndTo], details, conn(SLEEP, { destinationPort: 9090 })), { allowed: false }, 'from and to are ANDed');
});

t.test('when conditions with L4 keys', async (t) => {
  const p = policy('default', 'conditions', {
    rules: [
      {
        when: [
          { key: 'source.namespace', values: ['default', 'istio-system'] },
          { key: 'destination.port', notValues: ['15000'] },
          { key: 'source.ip', values: ['10.4.0.0/16'] },
          { key: 'destination.ip', values: ['10.4.0.5'] },
          { key: 'source.principal', notValues: ['*/sa/bookinfo-details'] },
        ],
      },
    ],
  });
  t.same(checkPolicy(p), []);
  t.match(authorize([p], details, conn(SLEEP)), { allowed: true, policy: 'ns[default]-policy[conditions]-rule[0]' });
  t.match(authorize([p], details, conn(STRANGER)), { allowed: false }, 'source.namespace');
  t.match(authorize([p], details, conn(SLEEP, { destinationPort: 15000 })), { allowed: false }, 'destination.port notValues');
  t.match(authorize([p], details, conn(SLEEP, { sourceIp: '10.5.0.1' })), { allowed: false }, 'source.ip');
  t.match(authorize([p], details, conn(SLEEP, { destinationIp: '10.4.0.6' })), { allowed: false }, 'destination.ip');
  t.match(authorize([p], details, conn(DETAILS)), { allowed: false }, 'source.principal notValues with a suffix wildcard');
});

t.test('wildcard prefixes and suffixes in principals', async (t) => {
  const prefix = policy('default', 'from-default-ns', { rules: [{ from: [{ source: { principals: ['cluster.local/ns/default/*'] } }] }] });
  t.match(authorize([prefix], productpage, conn(DETAILS)), { allowed: true });
  t.match(authorize([prefix], productpage, conn(INGRESS)), { allowed: false });
  const suffix = policy('default', 'any-sleep', { rules: [{ from: [{ source: { principals: ['*/sa/sleep'] } }] }] });
  t.match(authorize([suffix], productpage, conn('other-domain.example/ns/x/sa/sleep')), { allowed: true });
  t.match(authorize([suffix], productpage, conn(DETAILS)), { allowed: false });
  const any = policy('default', 'any-identity', { rules: [{ from: [{ source: { principals: ['*'] } }] }] });
  t.match(authorize([any], productpage, conn(DETAILS)), { allowed: true });
  t.match(authorize([any], productpage, conn(undefined)), { allowed: false }, '"*" requires an identity');
});

t.test('an ALLOW rule with L7 fields never matches at L4 (fails closed)', async (t) => {
  const getOnly = policy('default', 'get-only', {
    rules: [{ from: [{ source: { principals: [SLEEP] } }], to: [{ operation: { methods: ['GET'], paths: ['/productpage'] } }] }],
  });
  const d = authorize([getOnly], productpage, conn(SLEEP));
  t.match(d, { allowed: false, reason: /no ALLOW policy matched/ });
  t.equal(d.l7?.length, 1);
  t.match(d.l7?.[0], { rule: 'ns[default]-policy[get-only]-rule[0]', action: 'ALLOW', fields: ['methods', 'paths'], enforcedAs: 'rule-skipped' });
  t.match(d.l7?.[0].message, /^ns\[default\]-policy\[get-only\]-rule\[0\] has L7 fields \(methods, paths\); enforced at L4 as never matching/);

  const mixed = policy('default', 'mixed', {
    rules: [
      { from: [{ source: { principals: [SLEEP] } }], when: [{ key: 'request.headers[x-user]', values: ['admin'] }] },
      { from: [{ source: { principals: [INGRESS] } }] },
    ],
  });
  t.match(authorize([mixed], productpage, conn(SLEEP)), { allowed: false }, 'L7 when key: rule skipped');
  t.match(authorize([mixed], productpage, conn(INGRESS)), { allowed: true, policy: 'ns[default]-policy[mixed]-rule[1]' }, 'the L4-only rule still allows');

  const jwt = policy('default', 'jwt', { rules: [{ from: [{ source: { requestPrincipals: ['*'] } }] }] });
  t.match(authorize([jwt], productpage, conn(SLEEP)), { allowed: false, l7: [{ fields: ['requestPrincipals'] }] });
});

t.test('a DENY rule with L7 fields is enforced on its L4 fields (fails closed)', async (t) => {
  const noPost = policy('default', 'no-post-from-sleep', {
    action: 'DENY',
    rules: [{ from: [{ source: { principals: [SLEEP] } }], to: [{ operation: { methods: ['POST'] } }] }],
  });
  const d = authorize([noPost], productpage, conn(SLEEP));
  t.match(d, { allowed: false, action: 'DENY', policy: 'ns[default]-policy[no-post-from-sleep]-rule[0]' }, 'any method is denied at L4');
  t.match(d.l7, [{ action: 'DENY', fields: ['methods'], enforcedAs: 'l4-fields-only' }]);
  t.match(d.reason, /^denied by ns\[default\]-policy\[no-post-from-sleep\]-rule\[0\] \(its L7 fields methods cannot be checked at L4/);
  t.match(authorize([noPost], productpage, conn(DETAILS)), { allowed: true }, 'the L4 part still has to match');

  const requireJwt = policy('default', 'require-jwt', { action: 'DENY', rules: [{ from: [{ source: { notRequestPrincipals: ['*'] } }] }] });
  t.match(authorize([requireJwt], productpage, conn(SLEEP)), { allowed: false }, 'an L7-only DENY denies everything at L4');
  const headerDeny = policy('default', 'header-deny', { action: 'DENY', rules: [{ when: [{ key: 'request.auth.claims[groups]', values: ['guests'] }] }] });
  t.match(authorize([headerDeny], productpage, conn(INGRESS)), { allowed: false, l7: [{ fields: ['request.auth.claims[groups]'] }] });
});

t.test('AUDIT never changes the decision', async (t) => {
  const audit = policy('default', 'audit-all', { action: 'AUDIT', rules: [{ from: [{ source: { principals: ['*'] } }] }] });
  t.match(
    authorize([audit], productpage, conn(DETAILS)),
    { allowed: true, audited: ['ns[default]-policy[audit-all]-rule[0]'] },
    'alone: still allowed by default',
  );
  const d = authorize([audit, productpageViewer], productpage, conn(DETAILS));
  t.match(d, { allowed: false, audited: ['ns[default]-policy[audit-all]-rule[0]'] }, 'with an ALLOW: still denied');
  t.equal(d.action, undefined, 'AUDIT is never the deciding action');
  t.equal(authorize([audit], productpage, conn(undefined)).audited, undefined, 'nothing audited when no rule matches');
});

t.test('CUSTOM fails closed only when it would apply', async (t) => {
  const custom = policy('default', 'ext-authz', { action: 'CUSTOM', provider: { name: 'opa' }, rules: [{ to: [{ operation: { ports: ['9080'] } }] }] });
  t.same(checkPolicy(custom), []);
  const d = authorize([custom, productpageViewer], productpage, conn(SLEEP));
  t.match(d, { allowed: false, action: 'CUSTOM', policy: 'ns[default]-policy[ext-authz]-rule[0]', reason: /CUSTOM .*"opa".* not supported .*failing closed/ });
  t.match(authorize([custom], productpage, conn(SLEEP, { destinationPort: 9090 })), { allowed: true }, 'rule does not match: no effect');
  t.match(authorize([custom], elsewhere, conn(SLEEP)), { allowed: true }, 'does not select the workload: no effect');
});

t.test('empty and missing rules', async (t) => {
  const allowNothing = policy('default', 'allow-nothing', { action: 'ALLOW' });
  t.match(authorize([allowNothing], details, conn(SLEEP)), { allowed: false, reason: /no ALLOW policy matched \(1 ALLOW policy applies/ });
  const allowNothingEmpty = policy('default', 'allow-nothing-2', { rules: [] });
  t.match(authorize([allowNothingEmpty], details, conn(SLEEP)), { allowed: false });
  const denyNoRules = policy('default', 'deny-nothing', { action: 'DENY' });
  t.match(authorize([denyNoRules], details, conn(SLEEP)), { allowed: true }, 'DENY with no rules matches nothing');
  const allowAll = policy('default', 'allow-all', { rules: [{}] });
  t.match(
    authorize([allowAll, allowNothing], details, conn(undefined)),
    { allowed: true, policy: 'ns[default]-policy[allow-all]-rule[0]' },
    'an empty rule matches everything',
  );
  const denyAll = policy('default', 'deny-all', { action: 'DENY', rules: [{}] });
  t.match(authorize([denyAll, allowAll], details, conn(SLEEP)), { allowed: false, policy: 'ns[default]-policy[deny-all]-rule[0]' });
});

t.test('targetRefs policies are for waypoints; ztunnel ignores them', async (t) => {
  const waypointOnly = policy('default', 'waypoint-only', {
    targetRefs: [{ kind: 'Service', group: '', name: 'productpage' }],
    action: 'DENY',
    rules: [{ to: [{ operation: { methods: ['DELETE'] } }] }],
  });
  t.same(checkPolicy(waypointOnly), []);
  t.match(authorize([waypointOnly], productpage, conn(SLEEP)), { allowed: true, reason: /no ALLOW policy applies/ });
  t.equal(authorize([waypointOnly], productpage, conn(SLEEP)).l7, undefined, 'not applicable, so no L7 note either');
});

t.test('checkPolicy reports problems that name the policy and the field', async (t) => {
  const badCidr = policy('default', 'bad-cidr', { rules: [{ from: [{ source: { ipBlocks: ['10.0.0.0/8', '10.0.0.0/33'] } }] }] });
  const problems = checkPolicy(badCidr);
  t.equal(problems.length, 1);
  t.match(
    problems[0],
    /^AuthorizationPolicy default\/bad-cidr \(test\.yaml:bad-cidr\): spec\.rules\[0\]\.from\[0\]\.source\.ipBlocks\[1\]: "10\.0\.0\.0\/33" is not a valid CIDR/,
  );
  t.throws(() => authorize([badCidr], details, conn(SLEEP)), PolicyError, 'authorize refuses an invalid policy');
  t.throws(() => authorize([badCidr], details, conn(SLEEP)), { message: /bad-cidr.*ipBlocks\[1\]/ });

  const cases: Array<[Record<string, unknown>, RegExp]> = [
    [{ action: 'REJECT' }, /spec\.action: unknown action "REJECT"; must be one of ALLOW, DENY, AUDIT, CUSTOM/],
    [{ rules: [{ to: [{ operation: { ports: ['http'] } }] }] }, /operation\.ports\[0\]: "http" is not a port number/],
    [{ rules: [{ to: [{ operation: { ports: ['70000'] } }] }] }, /ports\[0\]: "70000" is not a port number/],
    [
      { rules: [{ from: [{ source: { principals: ['spiffe://cluster.local/ns/default/sa/sleep'] } }] }] },
      /principals\[0\]: .*starts with spiffe:\/\/; Istio principals are written without it/,
    ],
    [{ rules: [{ from: [{ source: { notIpBlocks: ['10.0.0'] } }] }] }, /notIpBlocks\[0\]: "10\.0\.0" is not an IP address or CIDR/],
    [{ rules: [{ from: [{ source: { principal: ['x'] } }] }] }, /source\.principal: unknown field \(did you mean "principals"\?\)/],
    [{ rules: [{ from: [{ source: {} }] }] }, /from\[0\]\.source: must not be empty/],
    [{ rules: [{ when: [{ key: 'source.port', values: ['1'] }] }] }, /when\[0\]\.key: unknown attribute "source\.port"/],
    [{ rules: [{ when: [{ key: 'source.ip' }] }] }, /at least one of values or notValues/],
    [{ rules: [{ when: [{ key: 'destination.ip', values: ['10.0.0.300'] }] }] }, /when\[0\]\.values\[0\]: "10\.0\.0\.300"/],
    [{ selector: { matchLabels: { app: 'x' } }, targetRefs: [{ kind: 'Service', name: 'x' }] }, /mutually exclusive/],
    [{ action: 'CUSTOM' }, /spec\.provider: is required with action CUSTOM/],
    [{ rules: 'all' }, /spec\.rules: must be a list/],
  ];
  for (const [spec, why] of cases) {
    const found = checkPolicy(policy('default', 'p', spec));
    t.ok(
      found.some((m) => why.test(m)),
      `${JSON.stringify(spec)} -> ${found.join(' | ') || '(none)'}`,
    );
  }

  const warnOnly = policy('default', 'numeric-port', { rules: [{ to: [{ operation: { ports: [9080] } }] }] });
  t.match(policyProblems(warnOnly), [
    {
      severity: 'warning',
      path: 'spec.rules[0].to[0].operation.ports[0]',
      detail: /^spec\.rules\[0\]\.to\[0\]\.operation\.ports\[0\]: port 9080 is a YAML number/,
    },
  ]);
  t.match(authorize([warnOnly], details, conn(SLEEP)), { allowed: true }, 'warnings do not stop evaluation');

  const wrongKind = { ...productpageViewer, kind: 'PeerAuthentication' } as unknown as AuthorizationPolicyDoc;
  t.match(checkPolicy(wrongKind), [/kind: must be AuthorizationPolicy/]);
  const wrongVersion = policy('default', 'v', {}, 'security.istio.io/v1alpha1');
  t.match(checkPolicy(wrongVersion), [/apiVersion: must be one of security\.istio\.io\/v1, security\.istio\.io\/v1beta1/]);
});
