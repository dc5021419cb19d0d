// The --istiod flag of a proxy command, with its token from the environment, as one value.
import { ENV_SA_TOKEN } from '../identity/sa-token';
import { Flags, UsageError, stringFlag } from './args';

export function istiodLink(flags: Flags): { address: string; token: string } | undefined {
  const address = stringFlag(flags, 'istiod');
  if (address === undefined) return undefined;
  const token = process.env[ENV_SA_TOKEN];
  if (!token) throw new UsageError(`--istiod needs this proxy's service account token in ${ENV_SA_TOKEN}`);
  return { address, token };
}
