// HTTP/2 keepalive: a PING every interval; a PING unanswered for the timeout drops the session,
// so a dead peer (or a black-holed path) does not hold streams open for ever.
import type { Http2Session } from 'node:http2';
import { PING_INTERVAL_MS, PING_TIMEOUT_MS } from './constants';

export interface KeepaliveOptions {
  intervalMs?: number;
  timeoutMs?: number;
  onTimeout?: (silentForMs: number) => void;
}

export function keepAlive(session: Http2Session, options: KeepaliveOptions = {}): void {
  const intervalMs = options.intervalMs ?? PING_INTERVAL_MS;
  const timeoutMs = options.timeoutMs ?? PING_TIMEOUT_MS;
  let waitingSince: number | undefined;
  const timer = setInterval(() => {
    // A closed (draining) session still carries streams: keep checking until it is destroyed.
    if (session.destroyed) return clearInterval(timer);
    if (waitingSince !== undefined) {
      const silent = Date.now() - waitingSince;
      if (silent >= timeoutMs) {
        clearInterval(timer);
        options.onTimeout?.(silent);
        session.destroy(new Error(`HTTP/2 keepalive: no PING ack for ${silent} ms`));
      }
      return;
    }
    waitingSince = Date.now();
    const sent = session.ping((err) => {
      if (!err) waitingSince = undefined;
    });
    if (!sent) waitingSince = undefined; // too many pings already outstanding: try next tick
  }, intervalMs);
  timer.unref();
  session.once('close', () => clearInterval(timer));
}
