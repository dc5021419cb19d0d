// The rapid reset attacker as a process of its own, so its CPU is not the bench's: the bench
// measures the victim and legitimate latency while this pins whatever core it gets.
//   node dist/bench/attack/rapid-reset-main.js '<json AttackerSpec>'
// Prints one line of JSON (RapidResetResult) and exits 0.
import { loadOrCreateCa } from '../../src/identity/ca-store';
import { WorkloadCertificate } from '../../src/identity/workload-cert';
import { makeSpiffeId } from '../../src/identity/spiffe';
import { rapidReset, RapidResetOptions } from './rapid-reset';

/** What the parent passes: the mesh's CA directory, the attacker's identity and the attack. */
export interface AttackerSpec extends Omit<RapidResetOptions, 'tls'> {
  readonly caDir: string;
  readonly namespace: string;
  readonly serviceAccount: string;
}

async function main(): Promise<void> {
  const spec = JSON.parse(process.argv[2] ?? '') as AttackerSpec;
  const ca = await loadOrCreateCa(spec.caDir);
  const cert = await WorkloadCertificate.obtain(makeSpiffeId(spec.namespace, spec.serviceAccount, ca.trustDomain), ca);
  cert.stop();
  const result = await rapidReset({ ...spec, tls: cert.tls });
  process.stdout.write(JSON.stringify(result) + '\n');
}

main().then(
  () => process.exit(0),
  (err: Error) => {
    process.stderr.write(`rapid-reset: ${err.stack ?? err.message}\n`);
    process.exit(1);
  },
);
