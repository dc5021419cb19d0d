// An open-loop, evenly paced HTTP/1.1 load generator: fortio's model, the one Istio's published
// latency figures come from. Requests are spaced 1/rate apart over C keep-alive connections
// (connection i sends its k-th request at t0 + (k·C + i)/rate), whether or not the answers have
// come back, and every latency is measured from the request's intended send time. A connection
// still busy at that time sends as soon as it is free, and the wait counts: a stalled path shows
// as latency, not as requests that were never sent (coordinated omission, which a closed-loop
// generator such as autocannon hides).
//
// Raw sockets writing one prebuilt request, not node:http: at 1,000 requests/s over 16
// connections and 1 KB, node:http with a keep-alive Agent cost the client ~95-110 µs of CPU a
// request here, a raw socket with the minimal parser below ~53-58 µs (both including the
// scheduler's timers). That CPU shares the machine's two cores with the mesh being measured, and
// the request/response objects, header parsing and stream machinery of node:http are work a
// fixed, known request does not need.
import * as net from 'node:net';
import * as tls from 'node:tls';
import { performance } from 'node:perf_hooks';

export interface PacedSpec {
  /** http://host:port/path, or https:// with `tls`; the path is sent as is. */
  readonly url: string;
  /**
   * For an https:// url: how to speak TLS to it (client certificate, trusted root, how the server's
   * identity is checked). Each connection's handshake is done before the clock starts, as its
   * TCP connect is.
   */
  readonly tls?: tls.ConnectionOptions;
  readonly connections: number;
  /** Requests per second over all connections. */
  readonly rate: number;
  /** Length of the measured schedule, after the warm-up. */
  readonly seconds: number;
  /** Requests intended in this first stretch are sent and answered but not counted. */
  readonly warmupSeconds?: number;
  readonly body: Buffer;
  /** Extra request headers, e.g. host; content-length is set from the body. */
  readonly headers?: Readonly<Record<string, string>>;
  /** Told of every request as it is written (warm-up too): for tests, and for looking at the schedule. */
  readonly onSend?: (connection: number, intendedMs: number, writtenMs: number) => void;
}

export interface PacedRun {
  /** Each counted answered request's time from its intended send time to its last byte, ms, in completion order. */
  readonly latenciesMs: Float64Array;
  /** For the same requests: how late each was actually written, ms (timer jitter, plus waiting for a busy connection). */
  readonly sendLatenessMs: Float64Array;
  /** The measured schedule, from its first intended send to the last answer. */
  readonly seconds: number;
  /** Answered counted requests per second of the measured schedule. */
  readonly rps: number;
  /** Counted requests whose intended time came; every one ends answered or as an error. */
  readonly sent: number;
  /** Requests of the warm-up, sent and answered (or failed) but in none of the figures. */
  readonly warmupSent: number;
  readonly answered: number;
  /** Connection failures, timeouts, unreadable answers. */
  readonly errors: number;
  /** Answered, but not 2xx. */
  readonly non2xx: number;
}

/** Request timeout: far above any healthy latency here; a stuck path shows as errors, not a hang. */
export const REQUEST_TIMEOUT_MS = 10_000;
/** How often in-flight requests are checked against the timeout: one timer, not one per request. */
const TIMEOUT_CHECK_MS = 250;
/** Sockets get this long to connect before the clock starts, so no counted request pays for a handshake. */
const CONNECT_TIMEOUT_MS = 5_000;
/** Larger than any response head of http-echo or the waypoint; a longer one is an error. */
const MAX_HEAD_BYTES = 16 * 1024;
const HEAD_END = Buffer.from('\r\n\r\n');
const CRLF = Buffer.from('\r\n');

/**
 * When connection i sends its k-th request, ms after the start: fortio divides the rate evenly over
 * the connections, so the whole run is one request every 1/rate, taken by the connections in turn.
 */
export function intendedOffsetMs(k: number, i: number, connections: number, rate: number): number {
  return ((k * connections + i) * 1000) / rate;
}

/** Where one connection's response parser is. */
type ParseState = 'head' | 'body' | 'chunk-size' | 'chunk-data' | 'chunk-crlf' | 'trailers';

/**
 * A minimal HTTP/1.1 response reader for one keep-alive connection: status, Content-Length or
 * chunked bodies (counted and dropped), Connection: close. Enough for http-echo and the proxies in
 * front of it; anything it cannot read fails the request.
 */
class ResponseReader {
  private state: ParseState = 'head';
  private pending: Buffer = Buffer.alloc(0);
  private remaining = 0;
  private status = 0;
  private close = false;

  /** Feeds bytes; calls done once per complete response. Throws on a response it cannot read. */
  feed(chunk: Buffer, done: (status: number, close: boolean) => void): void {
    let buf = this.pending.length > 0 ? Buffer.concat([this.pending, chunk]) : chunk;
    this.pending = Buffer.alloc(0);
    while (buf.length > 0) {
      if (this.state === 'head') {
        const end = buf.indexOf(HEAD_END);
        if (end === -1) {
          if (buf.length > MAX_HEAD_BYTES) throw new Error('response head too long');
          this.pending = buf;
          return;
        }
        const next = this.readHead(buf.toString('latin1', 0, end));
        buf = buf.subarray(end + HEAD_END.length);
        if (next === 'body' && this.remaining === 0) this.finish(done);
      } else if (this.state === 'body' || this.state === 'chunk-data') {
        const take = Math.min(this.remaining, buf.length);
        this.remaining -= take;
        buf = buf.subarray(take);
        if (this.remaining > 0) return;
        if (this.state === 'body') this.finish(done);
        else this.state = 'chunk-crlf';
      } else {
        // chunk-size, chunk-crlf, trailers: line by line.
        const eol = buf.indexOf(CRLF);
        if (eol === -1) {
          if (buf.length > MAX_HEAD_BYTES) throw new Error('chunk line too long');
          this.pending = buf;
          return;
        }
        const line = buf.toString('latin1', 0, eol);
        buf = buf.subarray(eol + CRLF.length);
        if (this.state === 'chunk-crlf') {
          if (line !== '') throw new Error('chunk not followed by CRLF');
          this.state = 'chunk-size';
        } else if (this.state === 'chunk-size') {
          const size = parseInt(line, 16);
          if (!Number.isFinite(size) || size < 0) throw new Error(`bad chunk size ${JSON.stringify(line)}`);
          if (size === 0) this.state = 'trailers';
          else {
            this.state = 'chunk-data';
            this.remaining = size;
          }
        } else if (line === '') this.finish(done);
      }
    }
  }

  /** Reads the status line and headers; returns the state they lead to. */
  private readHead(head: string): ParseState {
    const lines = head.split('\r\n');
    const m = /^HTTP\/1\.[01] (\d{3})/.exec(lines[0]);
    if (!m) throw new Error(`not an HTTP/1.1 response: ${JSON.stringify(lines[0].slice(0, 40))}`);
    this.status = Number(m[1]);
    this.close = lines[0].startsWith('HTTP/1.0');
    let length: number | undefined;
    let chunked = false;
    for (let i = 1; i < lines.length; i++) {
      const colon = lines[i].indexOf(':');
      if (colon === -1) continue;
      const name = lines[i].slice(0, colon).trim().toLowerCase();
      const value = lines[i]
        .slice(colon + 1)
        .trim()
        .toLowerCase();
      if (name === 'content-length') length = Number(value);
      else if (name === 'transfer-encoding') chunked = value.split(',').pop()!.trim() === 'chunked';
      else if (name === 'connection') this.close = value.split(',').some((v) => v.trim() === 'close');
    }
    // A body without a length runs to the close of the connection: not something a keep-alive load test can use.
    if (chunked) this.state = 'chunk-size';
    else if (length !== undefined && Number.isInteger(length) && length >= 0) {
      this.state = 'body';
      this.remaining = length;
    } else if (this.status === 204 || this.status === 304) {
      this.state = 'body';
      this.remaining = 0;
    } else throw new Error('response has neither a length nor chunked encoding');
    return this.state;
  }

  private finish(done: (status: number, close: boolean) => void): void {
    this.state = 'head';
    this.remaining = 0;
    done(this.status, this.close);
  }
}

/** The prebuilt bytes of the one request every connection sends. */
function requestBytes(url: URL, body: Buffer, headers: Readonly<Record<string, string>>): Buffer {
  const lower = new Set(Object.keys(headers).map((h) => h.toLowerCase()));
  const lines = [`POST ${url.pathname}${url.search} HTTP/1.1`];
  if (!lower.has('host')) lines.push(`Host: ${url.host}`);
  for (const [name, value] of Object.entries(headers)) if (name.toLowerCase() !== 'content-length') lines.push(`${name}: ${value}`);
  lines.push(`Content-Length: ${body.length}`, '', '');
  return Buffer.concat([Buffer.from(lines.join('\r\n'), 'latin1'), body]);
}

/** A growable column of float samples, no array of boxed numbers at 1,000 a second. */
class Samples {
  private data = new Float64Array(1024);
  length = 0;
  push(x: number): void {
    if (this.length === this.data.length) {
      const grown = new Float64Array(this.data.length * 2);
      grown.set(this.data);
      this.data = grown;
    }
    this.data[this.length++] = x;
  }
  values(): Float64Array {
    return this.data.subarray(0, this.length);
  }
}

interface InFlight {
  readonly intended: number;
  readonly written: number;
  readonly counted: boolean;
}

/** Drives the paced load and resolves when every scheduled request is answered or failed. */
export async function drivePaced(spec: PacedSpec): Promise<PacedRun> {
  if (!(spec.rate > 0) || !(spec.connections >= 1) || !(spec.seconds > 0)) throw new Error('paced load needs a positive rate, connections and seconds');
  const url = new URL(spec.url);
  const secure = url.protocol === 'https:';
  if (!secure && url.protocol !== 'http:') throw new Error(`paced load speaks HTTP/1.1 over TCP or TLS, not ${url.protocol}`);
  if (secure !== (spec.tls !== undefined)) throw new Error('paced load: an https:// url goes with tls options, an http:// one without');
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const port = Number(url.port || (secure ? 443 : 80));
  // A TLS connection is ready for requests once its handshake is done, a TCP one once connected.
  const dial = (): net.Socket => (secure ? tls.connect({ ...spec.tls, host, port }) : net.connect({ host, port }));
  const readyEvent = secure ? 'secureConnect' : 'connect';
  const wire = requestBytes(url, spec.body, { 'Content-Type': 'application/octet-stream', ...spec.headers });
  const warmupCount = Math.round((spec.warmupSeconds ?? 0) * spec.rate);
  const total = warmupCount + Math.round(spec.seconds * spec.rate);

  const latencies = new Samples();
  const lateness = new Samples();
  let answered = 0;
  let errors = 0;
  let non2xx = 0;
  let settled = 0;
  let lastAnswer = 0;
  /** Requests intended from here on are counted; set when the clock starts. */
  let countedFrom = Infinity;

  class Connection {
    private socket!: net.Socket;
    private reader = new ResponseReader();
    /** Intended times of requests waiting for this connection, oldest first. */
    private queue: number[] = [];
    private head = 0;
    inFlight: InFlight | undefined;

    constructor(private readonly index: number) {
      this.open();
    }

    /** Resolves once connected; a failure is left to the first request to find. */
    connected(): Promise<void> {
      return new Promise((resolve) => {
        if (this.ready || this.socket.destroyed) return resolve();
        const timer = setTimeout(resolve, CONNECT_TIMEOUT_MS);
        const done = () => {
          clearTimeout(timer);
          resolve();
        };
        this.socket.once(readyEvent, done);
        this.socket.once('close', done);
      });
    }

    /** Connected (TCP), or handshake done (TLS): a TLS socket stops `connecting` before its handshake ends. */
    private ready = false;

    private open(): void {
      const socket = dial();
      socket.setNoDelay(true);
      this.socket = socket;
      this.ready = false;
      socket.once(readyEvent, () => {
        if (socket === this.socket) this.ready = true;
      });
      this.reader = new ResponseReader();
      socket.on('data', (chunk: Buffer) => {
        if (socket !== this.socket) return;
        try {
          this.reader.feed(chunk, (status, close) => this.answered(status, close));
        } catch {
          this.fail();
        }
      });
      socket.on('error', () => {});
      socket.on('close', () => {
        if (socket === this.socket) this.fail();
      });
    }

    enqueue(intended: number): void {
      this.queue.push(intended);
      if (!this.inFlight) this.sendNext();
    }

    private sendNext(): void {
      if (this.head === this.queue.length) {
        this.queue.length = 0;
        this.head = 0;
        return;
      }
      const intended = this.queue[this.head++];
      if (this.socket.destroyed) this.open();
      const written = performance.now();
      this.inFlight = { intended, written, counted: intended >= countedFrom };
      this.socket.write(wire);
      spec.onSend?.(this.index, intended, written);
    }

    private answered(status: number, close: boolean): void {
      const r = this.inFlight;
      if (!r) return this.fail();
      const now = performance.now();
      this.inFlight = undefined;
      settled++;
      if (r.counted) {
        answered++;
        if (status < 200 || status > 299) non2xx++;
        latencies.push(now - r.intended);
        lateness.push(r.written - r.intended);
        lastAnswer = now;
      }
      if (close) this.socket.destroy();
      this.sendNext();
      checkDone();
    }

    /** The connection broke (or timed out): its request in flight is an error; the next one opens a fresh socket. */
    fail(): void {
      this.socket.destroy();
      const r = this.inFlight;
      if (!r) return;
      this.inFlight = undefined;
      settled++;
      if (r.counted) errors++;
      this.sendNext();
      checkDone();
    }

    close(): void {
      this.socket.destroy();
    }
  }

  const conns = Array.from({ length: spec.connections }, (_, i) => new Connection(i));
  await Promise.all(conns.map((c) => c.connected()));

  const t0 = performance.now();
  const C = spec.connections;
  /** The n-th request of the run is connection n mod C's (n div C)-th. */
  const intendedAt = (n: number): number => t0 + intendedOffsetMs(Math.floor(n / C), n % C, C, spec.rate);
  countedFrom = intendedAt(warmupCount);
  let next = 0;
  let timer: NodeJS.Timeout | undefined;
  let resolveDone!: () => void;
  const done = new Promise<void>((resolve) => (resolveDone = resolve));
  function checkDone(): void {
    if (next === total && settled === total) resolveDone();
  }

  // Each wake-up sends everything now due, each send time computed from t0 so nothing drifts. Timers
  // fire on a millisecond clock, so a request can go up to ~1 ms late: that lateness is recorded and
  // counted in its latency. Spinning on setImmediate for the last millisecond before each deadline
  // took send lateness to ~1 µs at p50 but cost ~0.95 of a core at 1,000 requests/s (~900 µs of CPU a
  // request, against ~75 µs with timers), a core the mesh under test needs.
  const tick = (): void => {
    const now = performance.now();
    while (next < total && intendedAt(next) <= now) {
      conns[next % C].enqueue(intendedAt(next));
      next++;
    }
    if (next < total) timer = setTimeout(tick, intendedAt(next) - performance.now());
    else checkDone();
  };
  const watchdog = setInterval(() => {
    const now = performance.now();
    for (const c of conns) if (c.inFlight && now - c.inFlight.written > REQUEST_TIMEOUT_MS) c.fail();
  }, TIMEOUT_CHECK_MS);
  tick();
  try {
    await done;
  } finally {
    clearTimeout(timer);
    clearInterval(watchdog);
    for (const c of conns) c.close();
  }
  const seconds = (Math.max(lastAnswer, intendedAt(total)) - countedFrom) / 1000;
  return {
    latenciesMs: latencies.values(),
    sendLatenessMs: lateness.values(),
    seconds,
    rps: answered / seconds,
    sent: total - warmupCount,
    warmupSent: warmupCount,
    answered,
    errors,
    non2xx,
  };
}
