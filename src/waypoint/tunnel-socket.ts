// node:http speaks HTTP/1.1 over anything socket-shaped. An Http2Stream is not enough (node:http
// calls setKeepAlive/setNoDelay/setTimeout and reads addresses), so this Duplex wraps a CONNECT
// stream with those, keeping backpressure and turning a destroy with an error into a reset.
import { Duplex } from 'node:stream';
import type { Http2Stream } from 'node:http2';
import { resetStream } from '../hbone/pipe';

export interface SocketAddresses {
  readonly remoteAddress: string;
  readonly remotePort: number;
  readonly localAddress: string;
  readonly localPort: number;
}

export class TunnelSocket extends Duplex {
  readonly remoteAddress: string;
  readonly remotePort: number;
  readonly localAddress: string;
  readonly localPort: number;
  readonly remoteFamily = 'IPv4';
  private idleTimer?: NodeJS.Timeout;
  private idleMs = 0;
  /** The length the current idle timer was made with. */
  private idleTimerMs = 0;

  constructor(
    readonly stream: Http2Stream,
    addresses: SocketAddresses,
    /** Half-open (the default) keeps our side writable after the peer's FIN, as a server needs. */
    options: { readonly allowHalfOpen?: boolean } = {},
  ) {
    super({ allowHalfOpen: options.allowHalfOpen ?? true });
    // node:http drops its listeners once a request is done; a reset arriving after that must
    // not become an uncaught 'error'. Listeners added by users still receive it.
    this.on('error', () => undefined);
    ({ remoteAddress: this.remoteAddress, remotePort: this.remotePort, localAddress: this.localAddress, localPort: this.localPort } = addresses);
    stream.on('data', (chunk: Buffer) => {
      this.touch();
      if (!this.push(chunk)) stream.pause();
    });
    stream.on('end', () => this.push(null));
    stream.on('error', () => undefined); // reported through 'close' and rstCode
    stream.on('close', () => {
      if (!this.destroyed)
        this.destroy(stream.rstCode ? Object.assign(new Error(`HBONE stream reset (code ${stream.rstCode})`), { code: 'ECONNRESET' }) : undefined);
    });
  }

  override _read(): void {
    this.stream.resume();
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.touch();
    if (this.stream.destroyed) return cb(Object.assign(new Error('HBONE stream closed'), { code: 'EPIPE' }));
    if (this.stream.write(chunk)) cb();
    else this.stream.once('drain', () => cb());
  }

  override _final(cb: (err?: Error | null) => void): void {
    if (!this.stream.destroyed) this.stream.end();
    cb();
  }

  override _destroy(err: Error | null, cb: (err: Error | null) => void): void {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    if (!this.stream.destroyed) {
      if (err) resetStream(this.stream);
      else this.stream.close();
    }
    cb(err);
  }

  setKeepAlive(): this {
    return this;
  }

  setNoDelay(): this {
    return this;
  }

  /**
   * node:http's idle timeout: emits 'timeout' after ms without traffic, as net.Socket does. As
   * net.Socket, setTimeout(0, cb) removes cb: node:http's client relies on it to take its
   * per-request listener off a kept-alive connection (adding it instead leaked one listener per
   * request on every pooled upstream connection).
   */
  setTimeout(ms: number, cb?: () => void): this {
    this.idleMs = ms;
    if (cb) {
      if (ms === 0) this.removeListener('timeout', cb);
      else this.once('timeout', cb);
    }
    this.touch();
    return this;
  }

  ref(): this {
    return this;
  }

  unref(): this {
    return this;
  }

  /** Traffic: the idle timer starts again (re-armed, as net.Socket does, not made anew for every chunk). */
  private touch(): void {
    if (this.idleMs <= 0 || this.destroyed) {
      if (this.idleTimer) clearTimeout(this.idleTimer);
      this.idleTimer = undefined;
      return;
    }
    if (this.idleTimer && this.idleTimerMs === this.idleMs) {
      this.idleTimer.refresh();
      return;
    }
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = setTimeout(() => this.emit('timeout'), this.idleMs);
    this.idleTimer.unref();
    this.idleTimerMs = this.idleMs;
  }
}
