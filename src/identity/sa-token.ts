// Service account tokens, as the Kubernetes API server issues them to pods and istiod reviews
// them: a JWT naming the namespace, service account, pod and node (a client's TokenRequest token
// names no pod, and expires). The runner plays the API server (it holds the signing key, hands
// each proxy its token and mints tokens for clients); istiod verifies them. Here the JWT is HS256
// with a key shared by those two only; Kubernetes signs with RS256.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

export const TOKEN_ISSUER = 'https://kubernetes.default.svc.cluster.local';
/** Environment variables: a proxy's own token, and the key istiod verifies tokens with. */
export const ENV_SA_TOKEN = 'HBONE_SA_TOKEN';
export const ENV_TOKEN_KEY = 'HBONE_TOKEN_KEY';

export interface TokenClaims {
  readonly namespace: string;
  readonly serviceAccount: string;
  /** The pod and node a pod's token is bound to; a token made by TokenRequest for a client has neither. */
  readonly pod?: string;
  readonly node?: string;
  /** Expiry, seconds since the epoch (the JWT's exp); tokens handed to the mesh's own processes have none. */
  readonly exp?: number;
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
      ...(c.exp !== undefined ? { exp: c.exp } : {}),
      'kubernetes.io': {
        namespace: c.namespace,
        serviceaccount: { name: c.serviceAccount },
        ...(c.pod !== undefined ? { pod: { name: c.pod } } : {}),
        ...(c.node !== undefined ? { node: { name: c.node } } : {}),
      },
    }),
  );
  return `${HEADER}.${payload}.${mac(key, `${HEADER}.${payload}`)}`;
}

/** The claims of a token signed with `key`; throws with the reason for any other. */
export function verifyToken(key: string, token: string, nowMs = Date.now()): TokenClaims {
  const parts = token.split('.');
  if (parts.length !== 3) throw new Error('not a JWT');
  const want = Buffer.from(mac(key, `${parts[0]}.${parts[1]}`));
  const got = Buffer.from(parts[2]);
  if (want.length !== got.length || !timingSafeEqual(want, got)) throw new Error('the token signature does not verify');
  let body: {
    iss?: unknown;
    exp?: unknown;
    'kubernetes.io'?: { namespace?: unknown; serviceaccount?: { name?: unknown }; pod?: { name?: unknown }; node?: { name?: unknown } };
  };
  try {
    body = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8')) as typeof body;
  } catch {
    throw new Error('the token payload is not JSON');
  }
  const k = body['kubernetes.io'];
  const bound = { pod: k?.pod?.name, node: k?.node?.name };
  if (body.iss !== TOKEN_ISSUER || typeof k?.namespace !== 'string' || typeof k.serviceaccount?.name !== 'string')
    throw new Error('the token lacks its claims');
  if (Object.values(bound).some((v) => v !== undefined && typeof v !== 'string')) throw new Error('the token lacks its claims');
  if (body.exp !== undefined && typeof body.exp !== 'number') throw new Error("the token's exp is not a number");
  if (typeof body.exp === 'number' && body.exp * 1000 <= nowMs) throw new Error(`the token expired at ${new Date(body.exp * 1000).toISOString()}`);
  return {
    namespace: k.namespace,
    serviceAccount: k.serviceaccount.name,
    ...(bound.pod !== undefined ? { pod: bound.pod as string } : {}),
    ...(bound.node !== undefined ? { node: bound.node as string } : {}),
    ...(typeof body.exp === 'number' ? { exp: body.exp } : {}),
  };
}

function mac(key: string, data: string): string {
  return createHmac('sha256', key).update(data).digest('base64url');
}

function base64url(s: string): string {
  return Buffer.from(s).toString('base64url');
}
