// sleep's `nc`: one raw TCP connection through the pod's SOCKS5 capture. It sends the text,
// half-closes (FIN) and reads until the far side's FIN, so echo answers the text and sink
// answers the byte count; a refusal or reset is reported in `error`.
import type * as net from 'node:net';
import { Endpoint, socks5Connect } from './socks5';
import { Preview, describeError, errorWithCode, stopwatch } from './outcome';

/** As DEFAULT_FETCH_TIMEOUT_MS: after ztunnel's 10 s, before the runner's 15 s. */
export const DEFAULT_TCP_TIMEOUT_MS = 12_000;

export interface TcpProbe {
  readonly proxy: Endpoint;
  readonly target: Endpoint;
  readonly send: string;
  readonly localAddress?: string;
  readonly timeoutMs: number;
}

export interface TcpProbeResult {
  /** The first 4 KiB received, as UTF-8. */
  readonly received: string;
  readonly bytes: number;
  readonly timeMs: number;
  readonly error?: string;
}

export async function tcpThroughMesh(probe: TcpProbe): Promise<TcpProbeResult> {
  const elapsed = stopwatch();
  const preview = new Preview();
  const result = (err?: Error): TcpProbeResult => ({
    received: preview.text(),
    bytes: preview.bytes,
    timeMs: elapsed(),
    ...(err ? { error: describeError(err) } : {}),
  });

  let socket: net.Socket;
  try {
    socket = await socks5Connect({
      proxy: probe.proxy,
      target: probe.target,
      localAddress: probe.localAddress,
      timeoutMs: probe.timeoutMs,
      allowHalfOpen: true,
    });
  } catch (err) {
    return result(err as Error);
  }

  return new Promise((resolve) => {
    let failure: Error | undefined;
    // One deadline for the whole probe, handshake included.
    const remaining = Math.max(0, probe.timeoutMs - elapsed());
    const timer = setTimeout(
      () => socket.destroy(errorWithCode(`no FIN from ${probe.target.host}:${probe.target.port} within ${probe.timeoutMs} ms`, 'ETIMEDOUT')),
      remaining,
    );
    socket.on('data', (chunk: Buffer) => preview.add(chunk));
    socket.on('error', (err) => {
      failure = err;
    });
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(result(failure));
    });
    // The far side's FIN: our side is already ended, so the socket closes.
    socket.on('end', () => socket.end());
    socket.end(probe.send);
  });
}
