// sleep's `curl`: one HTTP request through the pod's mesh agent, answered as data. A request
// the mesh refuses or cuts (policy denial, reset) is a result with status 0 and the error,
// because that is the answer the learner asked for, not a failure of the exec server.
import * as http from 'node:http';
import { Preview, describeError, errorWithCode, stopwatch } from './outcome';

/**
 * Longer than ztunnel's 10 s app-connect timeout (its failure reply should win), shorter than
 * the runner's 15 s exec timeout (so the runner always gets this JSON answer).
 */
export const DEFAULT_FETCH_TIMEOUT_MS = 12_000;

export interface FetchRequest {
  readonly url: string;
  readonly method: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body?: string;
  readonly timeoutMs: number;
}

export interface FetchResult {
  /** HTTP status, 0 when no response arrived. */
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  /** The first 4 KiB of the body, as UTF-8. */
  readonly body: string;
  /** The whole body's length. */
  readonly bytes: number;
  readonly timeMs: number;
  readonly error?: string;
}

/**
 * Each fetch is its own connection, like `kubectl exec sleep -- curl`: `connection: close`
 * unless the caller set a connection header, so a new policy applies to the next fetch.
 */
export function fetchThroughMesh(agent: http.Agent, request: FetchRequest): Promise<FetchResult> {
  const elapsed = stopwatch();
  return new Promise((resolve) => {
    let status = 0;
    let headers: http.IncomingHttpHeaders = {};
    const preview = new Preview();
    let settled = false;
    let timer: NodeJS.Timeout | undefined;
    const finish = (err?: Error): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve({ status, headers, body: preview.text(), bytes: preview.bytes, timeMs: elapsed(), ...(err ? { error: describeError(err) } : {}) });
    };

    let req: http.ClientRequest;
    try {
      const url = new URL(request.url);
      if (url.protocol !== 'http:') throw errorWithCode(`unsupported scheme ${url.protocol} (plain http only; the mesh adds mTLS)`, 'EPROTO');
      const outgoing: http.OutgoingHttpHeaders = { ...request.headers };
      if (!Object.keys(outgoing).some((k) => k.toLowerCase() === 'connection')) outgoing.connection = 'close';
      if (request.body !== undefined) outgoing['content-length'] = Buffer.byteLength(request.body);
      req = http.request(url, { agent, method: request.method, headers: outgoing });
    } catch (err) {
      return finish(err as Error);
    }
    // Answer at the deadline even while the SOCKS5 handshake is pending: node:http reports a
    // destroyed request's error only once the agent hands it a socket.
    timer = setTimeout(() => {
      const err = errorWithCode(`timed out after ${request.timeoutMs} ms`, 'ETIMEDOUT');
      finish(err);
      req.destroy(err);
    }, request.timeoutMs);

    req.on('response', (res) => {
      status = res.statusCode ?? 0;
      headers = res.headers;
      res.on('data', (chunk: Buffer) => preview.add(chunk));
      res.on('end', () => finish());
      res.on('error', (err) => finish(err));
      res.on('close', () => {
        if (!res.complete) finish(errorWithCode('response body truncated', 'ECONNRESET'));
      });
    });
    req.on('error', (err) => finish(err));
    req.end(request.body);
  });
}
