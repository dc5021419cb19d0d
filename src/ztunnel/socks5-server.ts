// The SOCKS5 listener ztunnel offers on each pod's :15080, for apps that cannot be redirected.
// RFC 1928, no authentication, CONNECT only. The reply is sent once the outbound path is up,
// so a denied or failed destination reaches the client as a SOCKS error code.
import type { Socket } from 'node:net';

export const SOCKS_VERSION = 5;
const CMD_CONNECT = 1;
const ATYP_IPV4 = 1;
const ATYP_DOMAIN = 3;
const ATYP_IPV6 = 4;
const METHOD_NO_AUTH = 0;
const METHOD_NONE_ACCEPTABLE = 0xff;
const HANDSHAKE_TIMEOUT_MS = 10_000;
/** A DOMAINNAME must be a real name: an empty one would make net.connect dial localhost. */
const VALID_HOST_RE = /^[A-Za-z0-9]([A-Za-z0-9.-]{0,252})$/;

export const REPLY_SUCCEEDED = 0x00;
export const REPLY_GENERAL_FAILURE = 0x01;
export const REPLY_NOT_ALLOWED = 0x02;
export const REPLY_HOST_UNREACHABLE = 0x04;
export const REPLY_CONNECTION_REFUSED = 0x05;
export const REPLY_COMMAND_NOT_SUPPORTED = 0x07;
export const REPLY_ADDRESS_TYPE_NOT_SUPPORTED = 0x08;

export interface SocksRequest {
  readonly host: string;
  readonly port: number;
  /** Sends the reply; on success the socket is then a plain byte stream. */
  reply(code: number): void;
}

export class SocksError extends Error {
  override name = 'SocksError';
}

/** Reads the greeting and CONNECT request from a (paused) socket. */
export function acceptSocks5(socket: Socket): Promise<SocksRequest> {
  return new Promise((resolve, reject) => {
    let buf = Buffer.alloc(0);
    let stage: 'greeting' | 'request' = 'greeting';
    const timer = setTimeout(() => fail(new SocksError('SOCKS5 handshake timed out')), HANDSHAKE_TIMEOUT_MS);
    const cleanup = (): void => {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('error', fail);
      socket.off('end', onEnd);
      socket.off('close', onEnd);
      socket.pause();
    };
    function fail(err: Error): void {
      cleanup();
      reject(err);
    }
    function onEnd(): void {
      fail(new SocksError('client closed during the SOCKS5 handshake'));
    }
    function onData(chunk: Buffer): void {
      buf = Buffer.concat([buf, chunk]);
      if (stage === 'greeting') {
        if (buf.length < 2) return;
        if (buf[0] !== SOCKS_VERSION) return fail(new SocksError(`not SOCKS5 (version byte ${buf[0]})`));
        const n = buf[1];
        if (buf.length < 2 + n) return;
        const methods = buf.subarray(2, 2 + n);
        buf = buf.subarray(2 + n);
        if (!methods.includes(METHOD_NO_AUTH)) {
          socket.end(Buffer.from([SOCKS_VERSION, METHOD_NONE_ACCEPTABLE]));
          return fail(new SocksError('SOCKS5 client offers no method we accept (only no-auth)'));
        }
        socket.write(Buffer.from([SOCKS_VERSION, METHOD_NO_AUTH]));
        stage = 'request';
      }
      if (buf.length < 5) return;
      const [ver, cmd, , atyp] = buf;
      if (ver !== SOCKS_VERSION) return fail(new SocksError(`bad SOCKS5 request version ${ver}`));
      let host: string;
      let offset: number;
      if (atyp === ATYP_IPV4) {
        if (buf.length < 10) return;
        host = `${buf[4]}.${buf[5]}.${buf[6]}.${buf[7]}`;
        offset = 8;
      } else if (atyp === ATYP_DOMAIN) {
        const len = buf[4];
        if (buf.length < 5 + len + 2) return;
        host = buf.subarray(5, 5 + len).toString('latin1');
        offset = 5 + len;
        if (!VALID_HOST_RE.test(host)) {
          socket.end(replyBytes(REPLY_HOST_UNREACHABLE));
          return fail(new SocksError(`bad SOCKS5 host name ${JSON.stringify(host)}`));
        }
      } else if (atyp === ATYP_IPV6) {
        if (buf.length < 22) return;
        const groups: string[] = [];
        for (let i = 0; i < 8; i++) groups.push(buf.readUInt16BE(4 + i * 2).toString(16));
        host = groups.join(':');
        offset = 20;
      } else {
        socket.end(replyBytes(REPLY_ADDRESS_TYPE_NOT_SUPPORTED));
        return fail(new SocksError(`unsupported SOCKS5 address type ${atyp}`));
      }
      const port = buf.readUInt16BE(offset);
      const rest = buf.subarray(offset + 2);
      if (cmd !== CMD_CONNECT) {
        socket.end(replyBytes(REPLY_COMMAND_NOT_SUPPORTED));
        return fail(new SocksError(`unsupported SOCKS5 command ${cmd}`));
      }
      cleanup();
      // Anything sent early belongs to the application stream.
      if (rest.length > 0) socket.unshift(rest);
      resolve({
        host,
        port,
        reply: (code) => {
          socket.write(replyBytes(code));
        },
      });
    }
    socket.on('data', onData);
    socket.on('error', fail);
    socket.on('end', onEnd);
    socket.once('close', onEnd);
    socket.resume();
  });
}

function replyBytes(code: number): Buffer {
  // BND.ADDR/BND.PORT are zeros: clients do not use them for CONNECT.
  return Buffer.from([SOCKS_VERSION, code, 0, ATYP_IPV4, 0, 0, 0, 0, 0, 0]);
}
