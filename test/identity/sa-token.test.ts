// Service account tokens: a pod's (bound to its pod and node, no expiry here) and a client's
// from TokenRequest (no pod, an expiry); forged, expired and malformed ones are refused.
import t from 'tap';
import { createHmac } from 'node:crypto';
import { newTokenKey, signToken, verifyToken } from '../../src/identity/sa-token';

const key = newTokenKey();

t.test("a pod's token carries its pod and node", async (t) => {
  t.same(verifyToken(key, signToken(key, { namespace: 'default', serviceAccount: 'sleep', pod: 'sleep-1', node: 'node-a' })), {
    namespace: 'default',
    serviceAccount: 'sleep',
    pod: 'sleep-1',
    node: 'node-a',
  });
});

t.test('a TokenRequest token names no pod and holds until its exp', async (t) => {
  const now = Date.now();
  const exp = Math.floor(now / 1000) + 600;
  const token = signToken(key, { namespace: 'default', serviceAccount: 'sleep', exp });
  t.same(verifyToken(key, token, now), { namespace: 'default', serviceAccount: 'sleep', exp });
  t.throws(() => verifyToken(key, token, exp * 1000), /the token expired at /);
  t.throws(() => verifyToken(key, token, exp * 1000 + 1), /the token expired at /);
});

t.test('forged and malformed tokens are refused with the reason', async (t) => {
  const token = signToken(key, { namespace: 'default', serviceAccount: 'sleep' });
  t.throws(() => verifyToken(newTokenKey(), token), /signature does not verify/);
  t.throws(() => verifyToken(key, 'a.b'), /not a JWT/);
  const header = token.split('.')[0];
  // A payload of our own choosing under the real key: what the checks after the signature see.
  const signed = (payloadB64: string) => {
    const head = `${header}.${payloadB64}`;
    return `${head}.${createHmac('sha256', key).update(head).digest('base64url')}`;
  };
  const sign = (payload: unknown) => signed(Buffer.from(JSON.stringify(payload)).toString('base64url'));
  const iss = 'https://kubernetes.default.svc.cluster.local';
  const sa = { namespace: 'd', serviceaccount: { name: 's' } };
  t.throws(() => verifyToken(key, sign({ iss, 'kubernetes.io': { namespace: 'default' } })), /lacks its claims/);
  t.throws(() => verifyToken(key, sign({ iss: 'https://evil', 'kubernetes.io': sa })), /lacks its claims/);
  t.throws(() => verifyToken(key, sign({ iss, 'kubernetes.io': { ...sa, pod: { name: 7 } } })), /lacks its claims/);
  t.throws(() => verifyToken(key, sign({ iss, exp: 'never', 'kubernetes.io': sa })), /exp is not a number/);
  t.throws(() => verifyToken(key, signed(Buffer.from('not json').toString('base64url'))), /payload is not JSON/);
});
