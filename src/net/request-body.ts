// A server's read of one request body into memory, with a ceiling: every JSON or YAML endpoint
// (the runner's API, the live page's apply, productpage's login) reads small bodies whole, and
// none may be made to hold more than its limit however much a client sends.
import type { IncomingMessage } from 'node:http';

/**
 * The body of `req`, once it has all come, or the error `tooLarge` makes as soon as more than
 * `maxBytes` has arrived (nothing past the limit is kept).
 */
export async function readRequestBody(req: IncomingMessage, maxBytes: number, tooLarge: () => Error): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > maxBytes) throw tooLarge();
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, size);
}
