import t from 'tap';
import { parseSpiffeId, formatSpiffeId, principalOf, identityFromSubjectAltName, SpiffeIdError } from '../../src/identity/spiffe';

t.test('parses and formats Istio SPIFFE IDs', async (t) => {
  const id = parseSpiffeId('spiffe://cluster.local/ns/istio-system/sa/istio-ingressgateway-service-account');
  t.same(id, { trustDomain: 'cluster.local', namespace: 'istio-system', serviceAccount: 'istio-ingressgateway-service-account' });
  t.equal(formatSpiffeId(id), 'spiffe://cluster.local/ns/istio-system/sa/istio-ingressgateway-service-account');
  t.equal(principalOf(id), 'cluster.local/ns/istio-system/sa/istio-ingressgateway-service-account');
});

t.test('refuses malformed IDs with a message saying what is wrong', async (t) => {
  const cases: Array<[string, RegExp]> = [
    ['cluster.local/ns/default/sa/sleep', /must start with spiffe:\/\//],
    ['spiffe://cluster.local/ns/default/sleep', /3 path segments/],
    ['spiffe://Cluster.Local/ns/default/sa/sleep', /trust domain/],
    ['spiffe://cluster.local/namespace/default/sa/sleep', /not "ns"/],
    ['spiffe://cluster.local/ns/default/serviceaccount/sleep', /not "sa"/],
    ['spiffe://cluster.local/ns/Default/sa/sleep', /namespace "Default"/],
    ['spiffe://cluster.local/ns/default/sa/', /service account ""/],
  ];
  for (const [text, why] of cases) {
    t.throws(() => parseSpiffeId(text), SpiffeIdError, text);
    t.throws(() => parseSpiffeId(text), { message: why }, text);
  }
});

t.test('reads the one URI SAN of a peer certificate', async (t) => {
  t.same(identityFromSubjectAltName('URI:spiffe://cluster.local/ns/default/sa/sleep'), {
    trustDomain: 'cluster.local',
    namespace: 'default',
    serviceAccount: 'sleep',
  });
  t.throws(() => identityFromSubjectAltName('DNS:example.com'), /0 URI SANs/);
  t.throws(() => identityFromSubjectAltName('URI:spiffe://a/ns/b/sa/c, URI:spiffe://a/ns/b/sa/d'), /2 URI SANs/);
});
