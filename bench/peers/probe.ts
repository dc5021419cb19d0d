// One request on a connection of its own, to check what a hop does with it (its status), or
// that it refuses the connection: the L7 comparison checks both sides apply the route and policy
// before it measures them.
import * as http from 'node:http';
import * as https from 'node:https';
import type { ConnectionOptions } from 'node:tls';
import type { Endpoint } from '../mesh';

const PROBE_TIMEOUT_MS = 5000;

export interface ProbeTarget extends Endpoint {
  /** Mutual TLS to the hop; plain HTTP without. */
  readonly tls?: ConnectionOptions;
}

/** The status the hop answered, or why no answer came ("refused: ..."). */
export type ProbeOutcome = number | `refused: ${string}`;

export function probe(target: ProbeTarget, path: string, headers: Readonly<Record<string, string>>, body: Buffer): Promise<ProbeOutcome> {
  return new Promise((resolve) => {
    const options: http.RequestOptions = {
      host: target.host,
      port: target.port,
      method: 'POST',
      path,
      headers: { ...headers, 'content-length': String(body.length), connection: 'close' },
      agent: false,
      timeout: PROBE_TIMEOUT_MS,
    };
    const req = target.tls ? https.request({ ...options, ...target.tls }) : http.request(options);
    req.once('response', (res) => {
      res.resume();
      res.once('end', () => resolve(res.statusCode ?? 0));
    });
    req.once('timeout', () => req.destroy(new Error(`no answer within ${PROBE_TIMEOUT_MS} ms`)));
    // The code alone ("ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED"): OpenSSL's messages run to a line.
    req.once('error', (err: NodeJS.ErrnoException) => resolve(`refused: ${err.code ?? err.message}`));
    req.end(body);
  });
}
