// Service account tokens, as the Kubernetes API server issues them to pods and istiod reviews
// them: a JWT naming the namespace, service account, pod and node. The runner plays the API
// server (it holds the signing key and hands each proxy its token); istiod verifies them. Here
// the JWT is HS256 with a key shared by those two only; Kubernetes signs with RS256.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

export const TOKEN_ISSUER = 'https://kubernetes.default.svc.cluster.local';
/** Environment variables: a proxy's own token, and the key istiod verifies tokens with. */
export const ENV_SA_TOKEN = 'HBONE_SA_TOKEN';
export const ENV_TOKEN_KEY = 'HBONE_TOKEN_KEY';

export interface TokenClaims {
  readonly namespace: string;
  readonly serviceAccount: string;
  readonly pod: string;
  readonly node: string;
}

const HEADER = base64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }));

export function newTokenKey(): string {
  return randomBytes(32).toString('base64url');
}

export function signToken(key: string, c: TokenClaims): string {
  const payload = base64url(
    JSON.stringify({
      iss: TOKEN_ISSUER,
      sub: `system:serviceaccount:${c.namespace}:${c.serviceAccount}`,
      'kubernetes.io': { namespace: c.namespace, serviceaccount: { name: c.serviceAccount }, pod: { name: c.pod }, node: { name: c.node } },
    }),
  );
  return `${HEADER}.${payload}.${mac(key, `${HEADER}.${payload}`)}`;
}

/** The claims of a token signed with `key`; throws with the reason for any other. */
export function verifyToken(key: string, token: string): TokenClaims {
  const parts = token.split('.');
  if (parts.length !== 3) throw new Error('not a JWT');
  const want = Buffer.from(mac(key, `${parts[0]}.${parts[1]}`));
  const got = Buffer.from(parts[2]);
  if (want.length !== got.length || !timingSafeEqual(want, got)) throw new Error('the token signature does not verify');
  let body: {
    iss?: unknown;
    'kubernetes.io'?: { namespace?: unknown; serviceaccount?: { name?: unknown }; pod?: { name?: unknown }; node?: { name?: unknown } };
  };
  try {
    body = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8')) as typeof body;
  } catch {
    throw new Error('the token payload is not JSON');
  }
  const k = body['kubernetes.io'];
  const claims = { namespace: k?.namespace, serviceAccount: k?.serviceaccount?.name, pod: k?.pod?.name, node: k?.node?.name };
  if (body.iss !== TOKEN_ISSUER || Object.values(claims).some((v) => typeof v !== 'string')) throw new Error('the token lacks its claims');
  return claims as TokenClaims;
}

function mac(key: string, data: string): string {
  return createHmac('sha256', key).update(data).digest('base64url');
}

function base64url(s: string): string {
  return Buffer.from(s).toString('base64url');
}
