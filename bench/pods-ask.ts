// One request through the mesh as a pod makes it: POSTed through that pod's own SOCKS5 capture
// (its ztunnel's podIP:15080), leaving from the pod's address, so ztunnel sees the pod and its
// identity. The answer is "<status> <body>", or "error <message>": a failure is a result to
// count, never a throw, so one lost request cannot hide what happened to the others.
import * as http from 'node:http';
import { MeshAgent } from '../src/apps/socks5';
import { PORT_SOCKS5 } from '../src/mesh/ports';

/** Longer than ztunnel's 10 s app-connect timeout: the mesh's own verdict comes first. */
const REQUEST_TIMEOUT_MS = 15_000;

export interface Asker {
  /** The pod's address on this machine (127.x.y.z). */
  readonly host: string;
}

export function askThrough(from: Asker, target: { readonly host: string; readonly port: number }, body: string): Promise<string> {
  const agent = new MeshAgent({ proxy: { host: from.host, port: PORT_SOCKS5 }, keepAlive: false });
  return new Promise<string>((resolve, reject) => {
    const req = http.request(
      { host: target.host, port: target.port, method: 'POST', path: '/', agent, localAddress: from.host, timeout: REQUEST_TIMEOUT_MS },
      (res) => {
        let got = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (got += c));
        res.on('end', () => resolve(`${res.statusCode} ${got}`));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer in ${REQUEST_TIMEOUT_MS} ms`)));
    req.on('error', reject);
    req.end(body);
  })
    .catch((err: Error) => `error ${err.message}`)
    .finally(() => agent.destroy());
}

/** Runs `jobs` with at most `parallel` in flight; the results in the jobs' order. */
export async function inBatches<T>(jobs: readonly (() => Promise<T>)[], parallel: number): Promise<T[]> {
  const out: T[] = new Array<T>(jobs.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < jobs.length) {
      const i = next++;
      out[i] = await jobs[i]();
    }
  };
  await Promise.all(Array.from({ length: Math.min(parallel, jobs.length) }, worker));
  return out;
}
