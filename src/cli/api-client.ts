// The commands' side of the API server: the running mesh from its kubeconfig (`--mesh NAME`),
// and one HTTPS request with the admin's client certificate.
import * as https from 'node:https';
import { readKubeconfig, MeshAccess, NoMesh } from '../runner/kubeconfig';
import type { Flag } from './command';
import { Flags, UsageError, stringFlag } from './args';

const REQUEST_TIMEOUT_MS = 30_000;
const MAX_ANSWER_BYTES = 16 * 1024 * 1024;

export const MESH_FLAG: Flag = { kind: 'string', value: 'name', help: 'which running mesh (default: the only one running)' };

/** An answer of the API server that is not 200: its message is what the user sees. */
export class ApiError extends Error {
  override name = 'ApiError';
  constructor(
    message: string,
    readonly status: number,
    /** The API server refused the connection: its mesh is not running (a kubeconfig left behind). */
    readonly refused = false,
  ) {
    super(message);
  }
}

export function meshAccess(flags: Flags): MeshAccess {
  try {
    return readKubeconfig(stringFlag(flags, 'mesh'));
  } catch (err) {
    if (err instanceof NoMesh) throw new UsageError(err.message);
    throw err;
  }
}

export function callApi<T>(access: MeshAccess, method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
  const url = new URL(path, access.server);
  return new Promise<T>((resolve, reject) => {
    const req = https.request(
      url,
      {
        method,
        ca: access.caPem,
        cert: access.certPem,
        key: access.keyPem,
        minVersion: 'TLSv1.3',
        headers: { 'content-type': 'application/json' },
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size > MAX_ANSWER_BYTES) req.destroy(new Error('answer too large'));
          else chunks.push(c);
        });
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed: { message?: string } & T;
          try {
            parsed = JSON.parse(text) as typeof parsed;
          } catch {
            return reject(new ApiError(`the API server answered ${res.statusCode} with no JSON`, res.statusCode ?? 0));
          }
          if (res.statusCode !== 200) return reject(new ApiError(parsed.message ?? `status ${res.statusCode}`, res.statusCode ?? 0));
          resolve(parsed);
        });
      },
    );
    req.setTimeout(REQUEST_TIMEOUT_MS, () => req.destroy(new Error(`no answer from the API server of ${access.mesh} in ${REQUEST_TIMEOUT_MS} ms`)));
    req.on('error', (err: NodeJS.ErrnoException) =>
      reject(
        err.code === 'ECONNREFUSED'
          ? new ApiError(`mesh ${access.mesh} is not running (its API server at ${access.server} refused the connection)`, 0, true)
          : err,
      ),
    );
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
}

/** A GET whose answer streams (trace --follow): each chunk to `onData` until the server or a signal ends it. */
export function streamApi(access: MeshAccess, path: string, onData: (chunk: string) => void, signal: AbortSignal): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const req = https.request(
      new URL(path, access.server),
      { method: 'GET', ca: access.caPem, cert: access.certPem, key: access.keyPem, minVersion: 'TLSv1.3', agent: false, signal },
      (res) => {
        res.setEncoding('utf8');
        if (res.statusCode !== 200) {
          let text = '';
          res.on('data', (c: string) => (text += c));
          res.on('end', () => reject(new ApiError(messageOf(text) ?? `status ${res.statusCode}`, res.statusCode ?? 0)));
          return;
        }
        res.on('data', onData);
        res.on('end', () => resolve());
        res.on('error', () => resolve());
      },
    );
    req.on('error', (err: NodeJS.ErrnoException) => {
      if (err.name === 'AbortError') return resolve();
      reject(
        err.code === 'ECONNREFUSED'
          ? new ApiError(`mesh ${access.mesh} is not running (its API server at ${access.server} refused the connection)`, 0, true)
          : err,
      );
    });
    req.end();
  });
}

function messageOf(text: string): string | undefined {
  try {
    return (JSON.parse(text) as { message?: string }).message;
  } catch {
    return undefined;
  }
}
