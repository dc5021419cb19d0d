// `hbone-sim cert --spiffe <id> --out <dir>`: a mesh certificate for a third-party client
// (src/identity/cert-files.ts writes it).
import { writeWorkloadCert } from '../identity/cert-files';
import { parseDuration, requireString, stringFlag } from './args';
import { Command, CA_DIR_FLAG } from './command';

export const certCommand: Command = {
  name: 'cert',
  summary: 'issue a mesh certificate for a third-party client (curl, openssl, nghttpx)',
  description: "Issues a certificate for a SPIFFE id from the mesh CA and writes Istio's file names: cert-chain.pem, key.pem, root-cert.pem.",
  flags: {
    spiffe: { kind: 'string', value: 'spiffe://td/ns/NS/sa/SA', required: true, help: 'the identity to certify' },
    out: { kind: 'string', value: 'dir', required: true, help: 'where the three files go (made if missing)' },
    'ca-dir': CA_DIR_FLAG,
    lifetime: { kind: 'string', value: 'duration', help: 'how long the certificate lives, e.g. 90s, 10m, 24h (default 24h)' },
  },
  run: async ({ flags }) => {
    const spiffe = requireString(flags, 'spiffe', 'cert');
    const lifetime = stringFlag(flags, 'lifetime');
    const written = await writeWorkloadCert({
      spiffe,
      out: requireString(flags, 'out', 'cert'),
      caDir: stringFlag(flags, 'ca-dir'),
      lifetimeMs: lifetime === undefined ? undefined : parseDuration(lifetime),
    });
    process.stdout.write(`issued ${spiffe} (serial ${written.serial})\n  ${written.chain}\n  ${written.key}\n  ${written.root}\n`);
    return 0;
  },
};
