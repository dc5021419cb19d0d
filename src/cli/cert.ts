// `hbone-sim cert --spiffe <id> --out <dir>`: a mesh certificate for a third-party client. With
// a mesh up, it is asked of that mesh's istiod as a client in a cluster would: a service
// account token from the API server (TokenRequest, as `kubectl create token`), then a CSR to
// istiod's CA on :15012 with that token; the key never leaves this process. With no mesh up
// (or --local), the CA in certs/ signs it here.
import { writeCertFiles, writeWorkloadCert, WrittenCert } from '../identity/cert-files';
import { createCsr } from '../identity/csr';
import { SpiffeId, formatSpiffeId, parseSpiffeId } from '../identity/spiffe';
import { IstiodCaClient } from '../xds/ca-client';
import { NoMesh, readKubeconfig } from '../runner/kubeconfig';
import type { TokenAnswer } from '../runner/api-server';
import { errorMessage } from '../error-message';
import { parseDuration, requireString, stringFlag, UsageError } from './args';
import { Command, CA_DIR_FLAG } from './command';
import { ApiError, MESH_FLAG, callApi } from './api-client';

/** The token lives just long enough for one CSR (TokenRequest's minimum). */
const TOKEN_SECONDS = 600;

export const certCommand: Command = {
  name: 'cert',
  summary: 'issue a mesh certificate for a third-party client (curl, openssl, nghttpx), from istiod when a mesh is up',
  description: [
    "Issues a certificate for a SPIFFE id and writes Istio's file names: cert-chain.pem, key.pem, root-cert.pem.",
    "With a mesh up, the running istiod signs it: the key is made here, a CSR goes to istiod's CA with a",
    'service account token the API server issued for that identity. With no mesh up, or --local, the CA in',
    'certs/ (or --ca-dir) signs it.',
  ].join('\n'),
  flags: {
    spiffe: { kind: 'string', value: 'spiffe://td/ns/NS/sa/SA', required: true, help: 'the identity to certify' },
    out: { kind: 'string', value: 'dir', required: true, help: 'where the three files go (made if missing)' },
    'ca-dir': CA_DIR_FLAG,
    local: { kind: 'boolean', help: 'sign here with the CA in certs/ (or --ca-dir) even when a mesh is up' },
    lifetime: { kind: 'string', value: 'duration', help: 'how long the certificate lives, e.g. 90s, 10m, 24h (default 24h)' },
    mesh: MESH_FLAG,
  },
  run: async ({ flags }) => {
    const spiffe = requireString(flags, 'spiffe', 'cert');
    // A malformed id is refused before any mesh is looked for.
    const id = parseSpiffeId(spiffe);
    const out = requireString(flags, 'out', 'cert');
    const lifetime = stringFlag(flags, 'lifetime');
    const lifetimeMs = lifetime === undefined ? undefined : parseDuration(lifetime);
    const local = flags.local === true || stringFlag(flags, 'ca-dir') !== undefined;
    if (local && stringFlag(flags, 'mesh') !== undefined) throw new UsageError('--mesh asks a running istiod: it cannot go with --local or --ca-dir');
    const mesh = local ? undefined : runningMesh(stringFlag(flags, 'mesh'));
    let written!: WrittenCert;
    let by!: string;
    let stale = false;
    if (mesh) {
      try {
        written = await fromIstiod(mesh, id, out, lifetimeMs);
        by = `istiod of mesh ${mesh.mesh}`;
      } catch (err) {
        if (!(err instanceof ApiError)) throw err;
        // A kubeconfig left by a mesh that was killed is no mesh up, unless that mesh was named.
        stale = err.status === 0 && err.refused && stringFlag(flags, 'mesh') === undefined;
        if (!stale) {
          process.stderr.write(`error: ${err.message}\n`);
          return 1;
        }
        process.stderr.write(`${err.message}: signing locally\n`);
      }
    }
    if (!mesh || stale) {
      written = await writeWorkloadCert({ spiffe, out, caDir: stringFlag(flags, 'ca-dir'), lifetimeMs });
      by = local ? 'the local CA' : 'the local CA (no mesh is up)';
    }
    process.stdout.write(`issued ${spiffe} by ${by} (serial ${written.serial})\n  ${written.chain}\n  ${written.key}\n  ${written.root}\n`);
    return 0;
  },
};

/** The mesh asked for, or the only one up; none when no mesh is up and none was named. */
function runningMesh(name: string | undefined): ReturnType<typeof readKubeconfig> | undefined {
  try {
    return readKubeconfig(name);
  } catch (err) {
    if (err instanceof NoMesh && name === undefined && /no mesh is running/.test(err.message)) return undefined;
    if (err instanceof NoMesh) throw new UsageError(err.message);
    throw err;
  }
}

async function fromIstiod(mesh: ReturnType<typeof readKubeconfig>, id: SpiffeId, out: string, lifetimeMs: number | undefined): Promise<WrittenCert> {
  const spiffe = formatSpiffeId(id);
  const path = `/api/v1/namespaces/${encodeURIComponent(id.namespace)}/serviceaccounts/${encodeURIComponent(id.serviceAccount)}/token`;
  const answer = await callApi<TokenAnswer>(mesh, 'POST', path, { spec: { expirationSeconds: TOKEN_SECONDS } });
  const colon = answer.istiod.lastIndexOf(':');
  const ca = new IstiodCaClient({
    address: answer.istiod.slice(0, colon),
    port: Number(answer.istiod.slice(colon + 1)),
    rootPem: answer.rootCert,
    token: answer.status.token,
  });
  const csr = await createCsr(spiffe);
  try {
    const issued = await ca.signCsr(csr.csrPem, id, { lifetimeMs });
    return writeCertFiles(out, issued, csr.privateKeyPem);
  } catch (err) {
    throw new ApiError(errorMessage(err), (err as { status?: number }).status ?? 0);
  }
}
