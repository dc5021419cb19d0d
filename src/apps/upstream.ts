// One JSON call to another service through the mesh agent. Failures are values, not
// exceptions: bookinfo pages render around a missing backend instead of failing.
//
// Each call is its own connection unless asked otherwise, as with the real bookinfo clients
// (Python requests without a session): ztunnel then balances every call afresh, so refreshing
// productpage cycles through reviews v1/v2/v3 as it does in a mesh without a waypoint.
import * as http from 'node:http';

export interface UpstreamResult {
  /** The HTTP status, or 0 when no response arrived (refused, reset, timed out). */
  readonly status: number;
  /** The parsed JSON body, when there was one. */
  readonly body?: unknown;
  readonly error?: string;
}

export interface UpstreamOptions {
  readonly agent: http.Agent;
  readonly headers?: http.OutgoingHttpHeaders;
  /** Whole-call deadline, like the timeouts the real bookinfo clients set. */
  readonly timeoutMs: number;
  /** Leave the connection in the agent's pool for the next call. */
  readonly keepAlive?: boolean;
}

export function getJson(url: string, options: UpstreamOptions): Promise<UpstreamResult> {
  return new Promise((resolve) => {
    let status = 0;
    const req = http.get(
      url,
      { agent: options.agent, headers: { accept: 'application/json', ...options.headers, ...(options.keepAlive ? {} : { connection: 'close' }) } },
      (res) => {
        status = res.statusCode ?? 0;
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          clearTimeout(timer);
          let body: unknown;
          try {
            body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
          } catch {
            body = undefined;
          }
          resolve({ status, body });
        });
        res.on('error', (err) => done(err));
        // A body cut short (reset, timeout) ends in 'close' without 'end'.
        res.on('close', () => {
          if (!res.complete) done(new Error('response truncated'));
        });
      },
    );
    const done = (err: Error): void => {
      clearTimeout(timer);
      resolve({ status, error: err.message });
    };
    // Resolve at the deadline even while the SOCKS5 handshake is pending: node:http reports a
    // destroyed request's error only once the agent hands it a socket.
    const timer = setTimeout(() => {
      const err = new Error(`timed out after ${options.timeoutMs} ms`);
      done(err);
      req.destroy(err);
    }, options.timeoutMs);
    req.on('error', done);
  });
}
