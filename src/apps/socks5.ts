// A SOCKS5 client (RFC 1928): no authentication, CONNECT only, IPv4 and DOMAINNAME targets.
//
// Workload apps reach services by cluster name (`http://details:9080`) through their own
// pod's SOCKS5 capture on podIP:15080, which the node's ztunnel serves (DESIGN.md section 2).
// ztunnel resolves the name, opens the HBONE tunnel and only then answers the CONNECT, so a
// failure reply here is the mesh's verdict and is reported with the RFC's wording.
import * as http from 'node:http';
import * as net from 'node:net';
import type { Duplex } from 'node:stream';

const SOCKS_VERSION = 0x05;
const METHOD_NO_AUTH = 0x00;
const METHOD_NONE_ACCEPTABLE = 0xff;
const CMD_CONNECT = 0x01;
const RESERVED = 0x00;
const ATYP_IPV4 = 0x01;
const ATYP_DOMAIN = 0x03;
const ATYP_IPV6 = 0x04;
const REPLY_SUCCEEDED = 0x00;
const MAX_DOMAIN_BYTES = 255;
/** VER REP RSV ATYP: the fixed part of a reply before the bound address. */
const REPLY_HEADER_BYTES = 4;
const PORT_BYTES = 2;

/** Longer than ztunnel's 10 s app-connect timeout, so the mesh's own failure reply arrives first. */
export const DEFAULT_SOCKS5_TIMEOUT_MS = 15_000;

/** RFC 1928 section 6, word for word. */
const REPLY_MEANINGS: Readonly<Record<number, string>> = {
  0x00: 'succeeded',
  0x01: 'general SOCKS server failure',
  0x02: 'connection not allowed by ruleset',
  0x03: 'network unreachable',
  0x04: 'host unreachable',
  0x05: 'connection refused',
  0x06: 'TTL expired',
  0x07: 'command not supported',
  0x08: 'address type not supported',
};

/** Node errno codes for replies that mean the same thing, so callers can test err.code as usual. */
const REPLY_ERRNO: Readonly<Record<number, string>> = {
  0x03: 'ENETUNREACH',
  0x04: 'EHOSTUNREACH',
  0x05: 'ECONNREFUSED',
  0x06: 'ETIMEDOUT',
};

/** Code for failures that have no Node errno equivalent (ruleset denial, protocol errors). */
export const ESOCKS5 = 'ESOCKS5';

export interface Endpoint {
  readonly host: string;
  readonly port: number;
}

export interface Socks5ConnectOptions {
  readonly proxy: Endpoint;
  /** The original destination: an IPv4 address or a name the proxy resolves. */
  readonly target: Endpoint;
  /** Local address of the connection to the proxy (the pod's own address). */
  readonly localAddress?: string;
  /** Covers the TCP connect and the whole handshake. */
  readonly timeoutMs?: number;
  /** Keep our side writable after the target's FIN (raw TCP clients that half-close). */
  readonly allowHalfOpen?: boolean;
}

export class Socks5Error extends Error {
  /** Node-style code: ECONNREFUSED, EHOSTUNREACH, ... or ESOCKS5. */
  readonly code: string;
  /** The proxy's reply code, when it sent one. */
  readonly reply?: number;

  constructor(message: string, code: string, reply?: number) {
    super(message);
    this.name = 'Socks5Error';
    this.code = code;
    this.reply = reply;
  }
}

export function replyMeaning(reply: number): string {
  return REPLY_MEANINGS[reply] ?? 'unassigned reply code';
}

function hex(n: number): string {
  return `0x${n.toString(16).padStart(2, '0')}`;
}

function connectRequest(target: Endpoint): Buffer {
  if (!Number.isInteger(target.port) || target.port < 0 || target.port > 0xffff) throw new Socks5Error(`invalid target port ${target.port}`, ESOCKS5);
  let address: Buffer;
  if (net.isIPv4(target.host)) {
    address = Buffer.from([ATYP_IPV4, ...target.host.split('.').map(Number)]);
  } else if (net.isIPv6(target.host)) {
    // Cluster addresses are IPv4 (DESIGN.md section 2); ztunnel's capture takes names and IPv4.
    throw new Socks5Error(`IPv6 target ${target.host} is not supported`, ESOCKS5);
  } else {
    const name = Buffer.from(target.host, 'utf8');
    if (name.length === 0 || name.length > MAX_DOMAIN_BYTES) throw new Socks5Error(`invalid target name '${target.host}'`, ESOCKS5);
    address = Buffer.concat([Buffer.from([ATYP_DOMAIN, name.length]), name]);
  }
  const port = Buffer.alloc(PORT_BYTES);
  port.writeUInt16BE(target.port);
  return Buffer.concat([Buffer.from([SOCKS_VERSION, CMD_CONNECT, RESERVED]), address, port]);
}

/** Length of a complete reply at the head of `buf`, or undefined while more bytes are needed. */
function replyLength(buf: Buffer): number | undefined {
  if (buf.length < REPLY_HEADER_BYTES + 1) return undefined;
  const atyp = buf[3];
  let addressBytes: number;
  if (atyp === ATYP_IPV4) addressBytes = 4;
  else if (atyp === ATYP_IPV6) addressBytes = 16;
  else if (atyp === ATYP_DOMAIN) addressBytes = 1 + buf[4];
  else throw new Socks5Error(`proxy replied with unknown address type ${hex(atyp)}`, ESOCKS5);
  const total = REPLY_HEADER_BYTES + addressBytes + PORT_BYTES;
  return buf.length >= total ? total : undefined;
}

/**
 * Opens a TCP connection to `target` through the SOCKS5 proxy. Resolves with the socket once
 * the proxy answered 0x00 (bytes the target sent after the reply stay readable); rejects with
 * a Socks5Error naming the reply, the socket's own error, or ETIMEDOUT.
 */
export function socks5Connect(options: Socks5ConnectOptions): Promise<net.Socket> {
  const { proxy, target } = options;
  const timeoutMs = options.timeoutMs ?? DEFAULT_SOCKS5_TIMEOUT_MS;
  const via = `SOCKS5 proxy ${proxy.host}:${proxy.port}`;
  const to = `${target.host}:${target.port}`;
  let request: Buffer;
  try {
    request = connectRequest(target);
  } catch (err) {
    return Promise.reject(err);
  }

  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: proxy.host, port: proxy.port, localAddress: options.localAddress, allowHalfOpen: options.allowHalfOpen ?? false });
    socket.setNoDelay(true);
    let received: Buffer = Buffer.alloc(0);
    let stage: 'method' | 'reply' = 'method';
    let settled = false;

    const timer = setTimeout(() => fail(new Socks5Error(`${via}: CONNECT to ${to} timed out after ${timeoutMs} ms`, 'ETIMEDOUT')), timeoutMs);

    const detach = (): void => {
      settled = true;
      clearTimeout(timer);
      socket.off('connect', onConnect);
      socket.off('readable', onReadable);
      socket.off('error', onError);
      socket.off('end', onEnd);
      socket.off('close', onClose);
    };
    const fail = (err: Error): void => {
      if (settled) return;
      detach();
      socket.destroy();
      reject(err);
    };
    const succeed = (rest: Buffer): void => {
      detach();
      // The target may speak first (a banner) in the same segment as the reply: hand it back.
      if (rest.length > 0) socket.unshift(rest);
      resolve(socket);
    };

    const onConnect = (): void => {
      socket.write(Buffer.from([SOCKS_VERSION, 1, METHOD_NO_AUTH]));
    };
    const onError = (err: Error): void => fail(err);
    // The proxy accepted the TCP connection and hung up before answering.
    const onEnd = (): void => fail(new Socks5Error(`${via} closed the connection before answering CONNECT to ${to}`, 'ECONNRESET'));
    const onClose = (): void => fail(new Socks5Error(`${via} closed the connection before answering CONNECT to ${to}`, 'ECONNRESET'));

    // 'readable' + read() rather than 'data': removing a 'readable' listener leaves the socket
    // neither flowing nor explicitly paused, so node:http's own 'data' listener starts it later.
    const onReadable = (): void => {
      let chunk: Buffer | null;
      while (!settled && (chunk = socket.read() as Buffer | null) !== null) {
        received = received.length ? Buffer.concat([received, chunk]) : chunk;
        try {
          step();
        } catch (err) {
          fail(err as Error);
        }
      }
    };

    const step = (): void => {
      if (stage === 'method') {
        if (received.length < 2) return;
        if (received[0] !== SOCKS_VERSION) throw new Socks5Error(`${via} is not a SOCKS5 server (version byte ${hex(received[0])})`, ESOCKS5);
        if (received[1] === METHOD_NONE_ACCEPTABLE) throw new Socks5Error(`${via} requires authentication (no acceptable methods)`, ESOCKS5);
        if (received[1] !== METHOD_NO_AUTH) throw new Socks5Error(`${via} chose unsupported method ${hex(received[1])}`, ESOCKS5);
        received = received.subarray(2);
        stage = 'reply';
        socket.write(request);
      }
      if (received.length < 2) return;
      if (received[0] !== SOCKS_VERSION) throw new Socks5Error(`${via} sent a reply with version byte ${hex(received[0])}`, ESOCKS5);
      const reply = received[1];
      // A failure is known from the second byte; the proxy may close before the rest.
      if (reply !== REPLY_SUCCEEDED) {
        throw new Socks5Error(`${via} refused CONNECT to ${to}: reply ${hex(reply)} ${replyMeaning(reply)}`, REPLY_ERRNO[reply] ?? ESOCKS5, reply);
      }
      const length = replyLength(received);
      if (length === undefined) return;
      succeed(received.subarray(length));
    };

    socket.on('connect', onConnect);
    socket.on('readable', onReadable);
    socket.on('error', onError);
    socket.on('end', onEnd);
    socket.on('close', onClose);
  });
}

export interface MeshAgentOptions extends http.AgentOptions {
  /** This pod's SOCKS5 capture, podIP:15080. */
  readonly proxy: Endpoint;
  /** SOCKS5 handshake timeout per connection. */
  readonly connectTimeoutMs?: number;
}

type CreateCallback = (err: Error | null, stream: Duplex) => void;

/**
 * An http.Agent whose connections are SOCKS5 tunnels: `http.get('http://details:9080/details/0',
 * { agent })` sends the name to the proxy, which picks the destination. Keep-alive is on by
 * default, so one tunnel carries many requests as a real app's connection pool would.
 */
export class MeshAgent extends http.Agent {
  readonly proxy: Endpoint;
  private readonly connectTimeoutMs?: number;

  constructor(options: MeshAgentOptions) {
    const { proxy, connectTimeoutMs, ...agentOptions } = options;
    super({ keepAlive: true, ...agentOptions });
    this.proxy = proxy;
    this.connectTimeoutMs = connectTimeoutMs;
  }

  // node:http accepts the socket through the callback when this returns nothing.
  override createConnection(options: http.ClientRequestArgs, callback?: CreateCallback): Duplex | null | undefined {
    if (!callback) throw new Error('MeshAgent.createConnection needs a callback (connections are asynchronous)');
    const target = { host: options.host ?? options.hostname ?? 'localhost', port: Number(options.port ?? options.defaultPort ?? 80) };
    socks5Connect({ proxy: this.proxy, target, localAddress: options.localAddress, timeoutMs: this.connectTimeoutMs }).then(
      (socket) => callback(null, socket),
      // node:http's callback ignores the stream when given an error.
      (err: Error) => callback(err, undefined as unknown as Duplex),
    );
    return undefined;
  }
}
