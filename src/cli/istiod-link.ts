// The --istiod flag of a proxy command, with its token and the certificate lifetime to ask for
// from the environment, as one value.
import { ENV_SA_TOKEN } from '../identity/sa-token';
import type { IstiodLink } from '../xds/bootstrap';
import { Flags, UsageError, parseDuration, stringFlag } from './args';

/** istio-agent's variable: the lifetime a proxy asks istiod for its certificates (default 24h). */
export const ENV_SECRET_TTL = 'SECRET_TTL';

export function istiodLink(flags: Flags): IstiodLink | undefined {
  const address = stringFlag(flags, 'istiod');
  if (address === undefined) return undefined;
  const token = process.env[ENV_SA_TOKEN];
  if (!token) throw new UsageError(`--istiod needs this proxy's service account token in ${ENV_SA_TOKEN}`);
  const ttl = process.env[ENV_SECRET_TTL];
  if (ttl === undefined || ttl === '') return { address, token };
  let secretTtlMs: number;
  try {
    secretTtlMs = parseDuration(ttl);
  } catch (err) {
    throw new UsageError(`${ENV_SECRET_TTL}: ${(err as Error).message}`);
  }
  if (secretTtlMs < 1000) throw new UsageError(`${ENV_SECRET_TTL}=${ttl}: istiod signs for at least 1s`);
  return { address, token, secretTtlMs };
}
