// Stage 4's HTTP request to the pod: sent on a pooled upstream connection (a CONNECT tunnel to
// the pod, upstream-pool.ts), its body framed (framing.ts), with the errors that tell the stages
// why it ended.
import * as http from 'node:http';
import type { Logger } from '../telemetry/log';
import { UpstreamPool, TunnelRequestOptions } from './upstream-pool';
import { BodyFraming, isReplayable } from './framing';
import { DownstreamProtocolError } from './downstream';
import { UPSTREAM_NEW, UPSTREAM_REUSED } from './envoy-names';
import { BODY_UPSTREAM_TIMEOUT } from './local-replies';

/** A kept-alive upstream connection the pod closed while idle is replaced at most this often per request. */
const STALE_CONNECTION_RETRIES = 2;

/** The route (or per-try) timeout fired while the upstream had the request. */
export class UpstreamTimeoutError extends Error {
  override name = 'UpstreamTimeoutError';
}

/** The client went away before its response was complete (Envoy's DC). */
export class DownstreamDisconnectError extends Error {
  override name = 'DownstreamDisconnectError';
  constructor() {
    super('downstream connection closed before the response completed');
  }
}

/** The pod's response ended before it was complete: the downstream is reset. */
export class UpstreamResetError extends Error {
  override name = 'UpstreamResetError';
  readonly code = 'ECONNRESET';
}

/** Stage 4's answer: the response head, and whether its connection was a new CONNECT or reused. */
export interface Forwarded {
  readonly res: http.IncomingMessage;
  readonly tunnel: { readonly upstream: string; readonly tunnel_trace?: string };
}

/** The upstream request of one downstream request, while there is one. */
export interface UpstreamCall {
  request?: http.ClientRequest;
}

/** One try of stage 4. */
export interface ForwardRequest {
  readonly req: http.IncomingMessage;
  readonly framing: BodyFraming;
  /** The pod, ip:port. */
  readonly target: string;
  readonly headers: Record<string, string>;
  readonly traceparent: string;
  readonly countBody: (bytes: number) => void;
  readonly upstream: UpstreamCall;
  /** performance.now() by which the response head must have come. */
  readonly deadline?: number;
}

/**
 * Sends the request on a pooled upstream connection to `target` (a new CONNECT if none is idle);
 * resolves with the response head and whether the connection was new or reused. The body
 * leaves framed (framing.ts), whatever the method.
 */
export function forwardRequest(upstreams: UpstreamPool, f: ForwardRequest, log: Logger, staleRetries = STALE_CONNECTION_RETRIES): Promise<Forwarded> {
  const { req, framing, target, headers, traceparent, deadline } = f;
  return new Promise((resolve, reject) => {
    const options: TunnelRequestOptions = { method: req.method, path: req.url, headers, agent: upstreams.agentFor(target), traceparent, servername: '' };
    const out = http.request(options);
    f.upstream.request = out;
    const timer =
      deadline !== undefined
        ? setTimeout(() => out.destroy(new UpstreamTimeoutError(BODY_UPSTREAM_TIMEOUT)), Math.max(0, deadline - performance.now()))
        : undefined;
    out.on('response', (res) => {
      if (timer) clearTimeout(timer);
      const tunnel = out.reusedSocket ? { upstream: UPSTREAM_REUSED, tunnel_trace: UpstreamPool.tunnelTraceOf(out.socket) ?? '' } : { upstream: UPSTREAM_NEW };
      resolve({ res, tunnel });
    });
    out.on('error', (err) => {
      if (timer) clearTimeout(timer);
      // An idle connection the pod closed just as it was picked: send again on another, as
      // Node's docs advise. Only a request without a body can be sent twice.
      const local = err instanceof UpstreamTimeoutError || err instanceof DownstreamProtocolError || err instanceof DownstreamDisconnectError;
      if (out.reusedSocket && isReplayable(framing) && staleRetries > 0 && !local) {
        log.debug('stale upstream connection, sending again', { target, error: err.message });
        return resolve(forwardRequest(upstreams, f, log, staleRetries - 1));
      }
      reject(err);
    });
    // A request without a body may be retried, and a retry cannot re-read an ended request.
    if (isReplayable(framing)) return void out.end();
    req.on('data', (c: Buffer) => f.countBody(c.length));
    req.pipe(out);
  });
}
