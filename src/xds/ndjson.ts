// One JSON message per line on a byte stream (an HTTP/2 request or response body), the framing
// of our xDS and CA messages. A line is capped, so a broken or hostile peer cannot make the
// reader buffer without limit; a line over the cap or that is not JSON ends the stream.
import type { Duplex, Readable, Writable } from 'node:stream';

/** The largest message either side accepts: bookinfo's whole config is a few tens of KiB. */
export const MAX_MESSAGE_BYTES = 4 * 1024 * 1024;

export class FramingError extends Error {
  override name = 'FramingError';
}

/**
 * Calls onMessage for each line read from `stream`, parsed; onError once, with the reason,
 * if a line is too long or not JSON (the caller closes the stream).
 */
export function readMessages(stream: Readable, onMessage: (m: unknown) => void, onError: (err: Error) => void): void {
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let failed = false;
  stream.on('data', (chunk: Buffer) => {
    if (failed) return;
    let start = 0;
    for (let nl = chunk.indexOf(0x0a); nl !== -1; nl = chunk.indexOf(0x0a, start)) {
      const line = Buffer.concat([...pending, chunk.subarray(start, nl)]);
      pending = [];
      pendingBytes = 0;
      start = nl + 1;
      if (line.length > MAX_MESSAGE_BYTES) return fail(new FramingError(`message of ${line.length} bytes is over the ${MAX_MESSAGE_BYTES}-byte limit`));
      if (line.length === 0) continue;
      let message: unknown;
      try {
        message = JSON.parse(line.toString('utf8'));
      } catch {
        return fail(new FramingError('message is not JSON'));
      }
      onMessage(message);
      if (failed) return;
    }
    const rest = chunk.subarray(start);
    pendingBytes += rest.length;
    if (pendingBytes > MAX_MESSAGE_BYTES) return fail(new FramingError(`message is over the ${MAX_MESSAGE_BYTES}-byte limit`));
    if (rest.length > 0) pending.push(rest);
  });
  function fail(err: Error): void {
    failed = true;
    pending = [];
    onError(err);
  }
}

/** Writes one message as a line; false when the stream asks the writer to wait (backpressure). */
export function writeMessage(stream: Writable | Duplex, message: unknown): boolean {
  if (stream.destroyed || stream.writableEnded) return false;
  return stream.write(JSON.stringify(message) + '\n');
}
