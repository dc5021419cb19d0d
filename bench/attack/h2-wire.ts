// HTTP/2 frames written and read by hand (RFC 9113 section 4), for the hostile bench and tests:
// an attacker does not go through a well-behaved client library, so neither do we. HPACK is
// the smallest subset that names a header (RFC 7541: literals without indexing, no Huffman).

/** The client connection preface (RFC 9113 section 3.4). */
export const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');
export const FRAME_HEADER_BYTES = 9;

export const FrameType = {
  DATA: 0x0,
  HEADERS: 0x1,
  PRIORITY: 0x2,
  RST_STREAM: 0x3,
  SETTINGS: 0x4,
  PUSH_PROMISE: 0x5,
  PING: 0x6,
  GOAWAY: 0x7,
  WINDOW_UPDATE: 0x8,
  CONTINUATION: 0x9,
} as const;

export const Flag = {
  END_STREAM: 0x1,
  ACK: 0x1,
  END_HEADERS: 0x4,
  PADDED: 0x8,
} as const;

/** Error codes (RFC 9113 section 7), by the names GOAWAY and RST_STREAM carry. */
export const ErrorCode = {
  NO_ERROR: 0x0,
  PROTOCOL_ERROR: 0x1,
  INTERNAL_ERROR: 0x2,
  FLOW_CONTROL_ERROR: 0x3,
  SETTINGS_TIMEOUT: 0x4,
  STREAM_CLOSED: 0x5,
  FRAME_SIZE_ERROR: 0x6,
  REFUSED_STREAM: 0x7,
  CANCEL: 0x8,
  COMPRESSION_ERROR: 0x9,
  CONNECT_ERROR: 0xa,
  ENHANCE_YOUR_CALM: 0xb,
  INADEQUATE_SECURITY: 0xc,
  HTTP_1_1_REQUIRED: 0xd,
} as const;

const ERROR_NAMES = new Map(Object.entries(ErrorCode).map(([name, code]) => [code as number, name]));

export function errorName(code: number): string {
  return ERROR_NAMES.get(code) ?? `0x${code.toString(16)}`;
}

/** HPACK static table indexes (RFC 7541 appendix A) of the names used here. */
export const StaticName = {
  ':authority': 1,
  ':method': 2,
  ':path': 4,
  ':scheme': 6,
  ':status': 8,
} as const;

export const Setting = {
  HEADER_TABLE_SIZE: 0x1,
  ENABLE_PUSH: 0x2,
  MAX_CONCURRENT_STREAMS: 0x3,
  INITIAL_WINDOW_SIZE: 0x4,
  MAX_FRAME_SIZE: 0x5,
  MAX_HEADER_LIST_SIZE: 0x6,
} as const;

export function frame(type: number, flags: number, streamId: number, payload: Buffer = Buffer.alloc(0)): Buffer {
  const out = Buffer.allocUnsafe(FRAME_HEADER_BYTES + payload.length);
  out.writeUIntBE(payload.length, 0, 3);
  out[3] = type;
  out[4] = flags;
  out.writeUInt32BE(streamId & 0x7fffffff, 5);
  payload.copy(out, FRAME_HEADER_BYTES);
  return out;
}

export function settingsFrame(entries: ReadonlyArray<readonly [number, number]> = []): Buffer {
  const payload = Buffer.alloc(entries.length * 6);
  entries.forEach(([id, value], i) => {
    payload.writeUInt16BE(id, i * 6);
    payload.writeUInt32BE(value, i * 6 + 2);
  });
  return frame(FrameType.SETTINGS, 0, 0, payload);
}

export const SETTINGS_ACK = frame(FrameType.SETTINGS, Flag.ACK, 0);

export function pingFrame(data: Buffer = Buffer.alloc(8), ack = false): Buffer {
  return frame(FrameType.PING, ack ? Flag.ACK : 0, 0, data);
}

export function rstStreamFrame(streamId: number, code: number): Buffer {
  const payload = Buffer.alloc(4);
  payload.writeUInt32BE(code);
  return frame(FrameType.RST_STREAM, 0, streamId, payload);
}

export function windowUpdateFrame(streamId: number, increment: number): Buffer {
  const payload = Buffer.alloc(4);
  payload.writeUInt32BE(increment & 0x7fffffff);
  return frame(FrameType.WINDOW_UPDATE, 0, streamId, payload);
}

export function dataFrame(streamId: number, data: Buffer, endStream = false): Buffer {
  return frame(FrameType.DATA, endStream ? Flag.END_STREAM : 0, streamId, data);
}

/** An HPACK integer with an n-bit prefix (RFC 7541 section 5.1); `first` holds the pattern bits. */
function hpackInteger(value: number, prefixBits: number, first: number): Buffer {
  const max = (1 << prefixBits) - 1;
  if (value < max) return Buffer.from([first | value]);
  const bytes = [first | max];
  let rest = value - max;
  while (rest >= 128) {
    bytes.push((rest % 128) + 128);
    rest = Math.floor(rest / 128);
  }
  bytes.push(rest);
  return Buffer.from(bytes);
}

function hpackString(text: string | Buffer): Buffer {
  const raw = typeof text === 'string' ? Buffer.from(text, 'latin1') : text;
  return Buffer.concat([hpackInteger(raw.length, 7, 0), raw]);
}

/**
 * One header field as a literal without indexing (RFC 7541 section 6.2.2): an indexed name from
 * the static table when there is one, else a literal name. Nothing enters the dynamic table, so
 * every block decodes alone.
 */
export function hpackField(name: string | Buffer, value: string | Buffer): Buffer {
  const index = typeof name === 'string' ? (StaticName as Record<string, number>)[name] : undefined;
  if (index !== undefined) return Buffer.concat([hpackInteger(index, 4, 0x00), hpackString(value)]);
  return Buffer.concat([Buffer.from([0x00]), hpackString(name), hpackString(value)]);
}

export function headerBlock(fields: ReadonlyArray<readonly [string | Buffer, string | Buffer]>): Buffer {
  return Buffer.concat(fields.map(([n, v]) => hpackField(n, v)));
}

/** The HBONE request: `:method CONNECT` and `:authority` only (RFC 9113 section 8.5). */
export function connectBlock(authority: string, extra: ReadonlyArray<readonly [string, string]> = []): Buffer {
  return headerBlock([[':method', 'CONNECT'], [':authority', authority], ...extra]);
}

export function headersFrame(streamId: number, block: Buffer, flags: number = Flag.END_HEADERS): Buffer {
  return frame(FrameType.HEADERS, flags, streamId, block);
}

export function continuationFrame(streamId: number, block: Buffer, endHeaders: boolean): Buffer {
  return frame(FrameType.CONTINUATION, endHeaders ? Flag.END_HEADERS : 0, streamId, block);
}

export function goawayCode(payload: Buffer): number {
  return payload.length >= 8 ? payload.readUInt32BE(4) : -1;
}

export interface Frame {
  readonly type: number;
  readonly flags: number;
  readonly streamId: number;
  readonly payload: Buffer;
}

/** Splits a byte stream into frames, whatever the chunking. */
export class FrameReader {
  private pending: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): Frame[] {
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    const frames: Frame[] = [];
    while (this.pending.length >= FRAME_HEADER_BYTES) {
      const length = this.pending.readUIntBE(0, 3);
      if (this.pending.length < FRAME_HEADER_BYTES + length) break;
      frames.push({
        type: this.pending[3],
        flags: this.pending[4],
        streamId: this.pending.readUInt32BE(5) & 0x7fffffff,
        payload: this.pending.subarray(FRAME_HEADER_BYTES, FRAME_HEADER_BYTES + length),
      });
      this.pending = this.pending.subarray(FRAME_HEADER_BYTES + length);
    }
    return frames;
  }
}

/** HPACK Huffman codes (RFC 7541 appendix B) of the ten digits: all a :status needs. */
const HUFFMAN_DIGITS: ReadonlyArray<readonly [string, number, number]> = [
  ['0', 0x0, 5],
  ['1', 0x1, 5],
  ['2', 0x2, 5],
  ['3', 0x19, 6],
  ['4', 0x1a, 6],
  ['5', 0x1b, 6],
  ['6', 0x1c, 6],
  ['7', 0x1d, 6],
  ['8', 0x1e, 6],
  ['9', 0x1f, 6],
];

function huffmanDigits(bytes: Buffer): string {
  let bits = '';
  for (const b of bytes) bits += b.toString(2).padStart(8, '0');
  let out = '';
  let at = 0;
  while (at < bits.length) {
    const hit = HUFFMAN_DIGITS.find(([, code, len]) => at + len <= bits.length && parseInt(bits.slice(at, at + len), 2) === code);
    // What is left is EOS padding (all ones, under a byte).
    if (!hit) break;
    out += hit[0];
    at += hit[2];
  }
  return out;
}

/** HPACK static table entries 8 to 14: ":status" and its common values. */
const STATIC_STATUS: Readonly<Record<number, number>> = { 8: 200, 9: 204, 10: 206, 11: 304, 12: 400, 13: 404, 14: 500 };

/**
 * The :status of a response header block, which servers send first: an indexed static entry
 * (0x88..0x8e) or a literal with the static name ":status" (index 8), raw or Huffman-coded.
 */
export function responseStatus(block: Buffer): number | undefined {
  const first = block[0];
  if (first >= 0x88 && first <= 0x8e) return STATIC_STATUS[first & 0x7f];
  // Literal with incremental indexing (01xxxxxx), without indexing (0000xxxx), never indexed (0001xxxx).
  const nameIndex = (first & 0xc0) === 0x40 ? first & 0x3f : first & 0x0f;
  if (nameIndex !== 8) return undefined;
  const huffman = (block[1] & 0x80) !== 0;
  const length = block[1] & 0x7f;
  const raw = block.subarray(2, 2 + length);
  return Number(huffman ? huffmanDigits(raw) : raw.toString('latin1'));
}
