// The downstream side of the waypoint's HTTP/1.1 inside a tunnel, where it differs from
// node:http's defaults to behave as Envoy's HTTP/1 codec does:
// - one request at a time per connection: Envoy stops reading a connection once a request is
//   complete and reads the next only when its response is done. node:http parses every request
//   the bytes hold and hands them all over at once; run together, a pipeline of thousands would
//   become thousands of upstream CONNECTs. Here they run in turn and the tunnel is not read
//   while one waits, so what a connection can make the waypoint hold is bounded;
// - codec errors answered with Envoy's status and response code details, then the connection
//   closed (the parser cannot find the next request in bytes it failed to read).
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';

/** A request's turn: starts it once every earlier request of its connection is answered. */
export class RequestsInTurn {
  /** Per connection: the requests waiting behind the running one. */
  private readonly waiting = new WeakMap<Duplex, Array<() => void>>();
  /** Per connection: the last request parsed (a codec error mid-body belongs to it). */
  private readonly lastParsed = new WeakMap<Duplex, IncomingMessage>();
  /** Per connection: called once the last response queued so far is done. */
  private readonly drained = new WeakMap<Duplex, Array<() => void>>();

  run(req: IncomingMessage, res: ServerResponse, start: () => void): void {
    const socket = req.socket as Duplex;
    this.lastParsed.set(socket, req);
    const turn = (): void => {
      res.once('close', () => this.next(socket));
      start();
    };
    const queue = this.waiting.get(socket);
    if (!queue) {
      this.waiting.set(socket, []);
      return turn();
    }
    queue.push(turn);
    // Stop reading until the running request is answered, as Envoy's codec does.
    socket.pause();
  }

  /** The request whose bytes were being parsed last on this connection, if it is still incomplete. */
  incomplete(socket: Duplex): IncomingMessage | undefined {
    const req = this.lastParsed.get(socket);
    return req && !req.complete ? req : undefined;
  }

  /** Calls `then` once every request parsed so far on this connection has been answered. */
  whenIdle(socket: Duplex, then: () => void): void {
    if (!this.waiting.has(socket)) return then();
    const list = this.drained.get(socket) ?? [];
    list.push(then);
    this.drained.set(socket, list);
  }

  private next(socket: Duplex): void {
    const queue = this.waiting.get(socket);
    const turn = queue?.shift();
    if (turn) return turn();
    this.waiting.delete(socket);
    const idle = this.drained.get(socket);
    this.drained.delete(socket);
    for (const then of idle ?? []) then();
    if (!socket.destroyed) socket.resume();
  }
}

/** How Envoy's HTTP/1 codec answers a request it cannot parse. */
export interface CodecErrorAnswer {
  readonly status: number;
  readonly body: string;
  /** %RESPONSE_CODE_DETAILS%, Envoy's Http1ResponseCodeDetails. */
  readonly details: string;
}

const BAD_REQUEST = 'Bad Request';

/** llhttp's error codes (node:http's err.code) by the detail Envoy logs for the same fault. */
const CODEC_ERRORS: Readonly<Record<string, CodecErrorAnswer>> = {
  HPE_HEADER_OVERFLOW: { status: 431, body: 'Request Header Fields Too Large', details: 'http1.headers_too_large' },
  HPE_UNEXPECTED_CONTENT_LENGTH: { status: 400, body: BAD_REQUEST, details: 'http1.content_length_and_chunked_not_allowed' },
  HPE_INVALID_TRANSFER_ENCODING: { status: 400, body: BAD_REQUEST, details: 'http1.invalid_transfer_encoding' },
  HPE_INVALID_HEADER_TOKEN: { status: 400, body: BAD_REQUEST, details: 'http1.invalid_characters' },
  HPE_INVALID_URL: { status: 400, body: BAD_REQUEST, details: 'http1.invalid_url' },
  ERR_HTTP_REQUEST_TIMEOUT: { status: 408, body: 'Request Timeout', details: 'request_overall_timeout' },
};
const CODEC_ERROR: CodecErrorAnswer = { status: 400, body: BAD_REQUEST, details: 'http1.codec_error' };

export function codecErrorAnswer(code: string | undefined): CodecErrorAnswer {
  return (code !== undefined ? CODEC_ERRORS[code] : undefined) ?? CODEC_ERROR;
}

/** A request body the parser failed on: the request is cut and answered with this. */
export class DownstreamProtocolError extends Error {
  override name = 'DownstreamProtocolError';
  constructor(
    readonly answer: CodecErrorAnswer,
    readonly code: string | undefined,
  ) {
    super(`malformed request body (${code ?? 'codec error'})`);
  }
}
