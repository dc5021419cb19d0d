// How sleep's exec commands describe time and failures: float milliseconds from the
// high-resolution clock, and errors as "<code>: <message>" so a learner sees ECONNRESET
// or the SOCKS5 reply without reading a stack.

/** Bytes of a response body or TCP reply kept in the answer. */
export const PREVIEW_BYTES = 4096;

export function stopwatch(): () => number {
  const start = process.hrtime.bigint();
  return () => Number(process.hrtime.bigint() - start) / 1e6;
}

export function describeError(err: Error): string {
  const code = (err as NodeJS.ErrnoException).code;
  return code && !err.message.includes(code) ? `${code}: ${err.message}` : err.message;
}

export function errorWithCode(message: string, code: string): Error {
  return Object.assign(new Error(message), { code });
}

/** Collects the first PREVIEW_BYTES of a stream and counts all of it. */
export class Preview {
  private readonly chunks: Buffer[] = [];
  private kept = 0;
  bytes = 0;

  add(chunk: Buffer): void {
    this.bytes += chunk.length;
    if (this.kept >= PREVIEW_BYTES) return;
    const part = chunk.subarray(0, PREVIEW_BYTES - this.kept);
    this.chunks.push(part);
    this.kept += part.length;
  }

  text(): string {
    return Buffer.concat(this.chunks).toString('utf8');
  }
}
