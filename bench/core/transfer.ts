// The bench's transfer protocol, the same over TCP, TLS and HBONE so the cases stay comparable:
// the sender writes an 8-byte big-endian length, then that many payload bytes; the sink answers
// with an 8-byte count of what it received once it has everything. The sender's clock stops on
// that answer, so a case is timed until the bytes have arrived, not merely been queued.
// Framing by length (not by FIN) keeps TLS half-close, which node:tls handles poorly, out of it.
import type { Duplex, Writable } from 'node:stream';

export const LENGTH_BYTES = 8;

/** Server side: count the payload, answer with the count, end when the peer ends. */
export function attachSink(stream: Duplex): void {
  let header: Buffer | undefined = Buffer.alloc(0);
  let expected = -1;
  let received = 0;
  stream.on('error', () => undefined); // a peer that goes away mid-run is the sender's problem to report
  stream.on('data', (chunk: Buffer) => {
    if (header !== undefined) {
      header = Buffer.concat([header, chunk]);
      if (header.length < LENGTH_BYTES) return;
      expected = Number(header.readBigUInt64BE(0));
      chunk = header.subarray(LENGTH_BYTES);
      header = undefined;
    }
    received += chunk.length;
    if (received === expected) {
      const ack = Buffer.alloc(LENGTH_BYTES);
      ack.writeBigUInt64BE(BigInt(received));
      stream.write(ack);
    }
  });
  stream.on('end', () => stream.end());
}

/** Client side: sends `total` payload bytes in `chunk`-sized writes, honouring backpressure. */
export function sendPayload(w: Writable, total: number, chunk: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    const length = Buffer.alloc(LENGTH_BYTES);
    length.writeBigUInt64BE(BigInt(total));
    let left = total;
    const onError = (err: Error): void => reject(err);
    w.once('error', onError);
    const pump = (): void => {
      while (left > 0) {
        const n = Math.min(left, chunk.length);
        left -= n;
        // The same buffer is written again and again: nothing mutates it, and allocation stays out of the measurement.
        if (!w.write(n === chunk.length ? chunk : chunk.subarray(0, n))) {
          w.once('drain', pump);
          return;
        }
      }
      w.off('error', onError);
      resolve();
    };
    if (w.write(length)) pump();
    else w.once('drain', pump);
  });
}

/** Client side: resolves when the sink's 8-byte answer arrives, rejects if it counts otherwise. */
export function awaitAck(r: Duplex, total: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let got = Buffer.alloc(0);
    const fail = (err: Error): void => {
      cleanup();
      reject(err);
    };
    const early = (): void => fail(new Error(`stream ended after sending, before the sink acknowledged ${total} bytes`));
    const onData = (chunk: Buffer): void => {
      got = Buffer.concat([got, chunk]);
      if (got.length < LENGTH_BYTES) return;
      cleanup();
      const count = Number(got.readBigUInt64BE(0));
      if (count === total) resolve();
      else reject(new Error(`sink received ${count} bytes, expected ${total}`));
    };
    const cleanup = (): void => {
      r.off('data', onData);
      r.off('error', fail);
      r.off('end', early);
      r.off('close', early);
    };
    r.on('data', onData);
    r.once('error', fail);
    r.once('end', early);
    r.once('close', early);
  });
}

/** Sends `total` bytes and resolves once the sink has acknowledged all of them. */
export async function transfer(stream: Duplex, total: number, chunk: Buffer): Promise<void> {
  const acked = awaitAck(stream, total);
  await sendPayload(stream, total, chunk);
  await acked;
}

/** Ends our side and resolves once the peer ended too and the stream closed. */
export function finish(stream: Duplex): Promise<void> {
  return new Promise((resolve) => {
    if (stream.destroyed) return resolve();
    stream.once('close', () => resolve());
    stream.resume(); // drain anything left, so 'end' (and then 'close') can fire
    stream.end();
  });
}
