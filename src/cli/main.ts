#!/usr/bin/env node
// The hbone-sim command.
import { parseFlags, parseDuration, UsageError } from './args';
import { writeWorkloadCert } from './cert';
import { SpiffeIdError } from '../identity/spiffe';

const USAGE = `usage: hbone-sim <command> [flags]

commands:
  cert --spiffe <spiffe://td/ns/NS/sa/SA> --out <dir> [--ca-dir <dir>] [--lifetime 24h]
      Issue a mesh certificate for a third-party client: cert-chain.pem, key.pem, root-cert.pem.
`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'cert': {
      const { flags } = parseFlags(rest, { spiffe: 'string', out: 'string', 'ca-dir': 'string', lifetime: 'string' });
      if (typeof flags.spiffe !== 'string') throw new UsageError('cert needs --spiffe <id>');
      if (typeof flags.out !== 'string') throw new UsageError('cert needs --out <dir>');
      const written = await writeWorkloadCert({
        spiffe: flags.spiffe,
        out: flags.out,
        caDir: typeof flags['ca-dir'] === 'string' ? flags['ca-dir'] : undefined,
        lifetimeMs: typeof flags.lifetime === 'string' ? parseDuration(flags.lifetime) : undefined,
      });
      process.stdout.write(`issued ${flags.spiffe} (serial ${written.serial})\n  ${written.chain}\n  ${written.key}\n  ${written.root}\n`);
      return 0;
    }
    case undefined:
    case 'help':
    case '--help':
      process.stdout.write(USAGE);
      return command === undefined ? 2 : 0;
    default:
      throw new UsageError(`unknown command ${JSON.stringify(command)}`);
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: Error) => {
    if (err instanceof UsageError || err instanceof SpiffeIdError) {
      process.stderr.write(`hbone-sim: ${err.message}\n`);
      if (err instanceof UsageError) process.stderr.write(USAGE);
      process.exit(2);
    }
    process.stderr.write(`hbone-sim: ${err.stack ?? err.message}\n`);
    process.exit(1);
  },
);
