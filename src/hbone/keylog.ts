// SSLKEYLOGFILE: append every TLS secret in NSS key-log format so Wireshark/tshark can decrypt
// the tunnels. Node hands us complete lines; one append stream per process keeps them whole.
import * as fs from 'node:fs';
import type { TLSSocket } from 'node:tls';
import type { Server as TlsServer } from 'node:tls';

let sink: fs.WriteStream | undefined;
let sinkPath: string | undefined;

function keyLogSink(): fs.WriteStream | undefined {
  const file = process.env.SSLKEYLOGFILE;
  if (!file) return undefined;
  if (!sink || sinkPath !== file) {
    sink = fs.createWriteStream(file, { flags: 'a', mode: 0o600 });
    sink.on('error', (err) => process.stderr.write(`SSLKEYLOGFILE ${file}: ${err.message}\n`));
    sinkPath = file;
  }
  return sink;
}

export function logKeysOfSocket(socket: TLSSocket): void {
  const out = keyLogSink();
  if (out) socket.on('keylog', (line: Buffer) => out.write(line));
}

export function logKeysOfServer(server: TlsServer): void {
  const out = keyLogSink();
  if (out) server.on('keylog', (line: Buffer) => out.write(line));
}
