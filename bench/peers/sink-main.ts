// The peers suite's sink, a process of its own: bench/core/transfer.ts's sink on TCP, which
// answers the count once every byte of a length-framed payload has arrived, not on FIN (nghttpx
// turns a client's FIN into a stream reset). Both implementations of every job deliver to it.
//
//   node sink-main.js HOST PORT    prints "ready HOST:PORT"; exits when its stdin closes
import * as net from 'node:net';
import { attachSink } from '../core/transfer';

const [host, portText] = process.argv.slice(2);
const port = Number(portText);
if (!host || !Number.isInteger(port)) {
  process.stderr.write('usage: sink-main.js HOST PORT\n');
  process.exit(2);
}
const server = net.createServer((s) => {
  s.setNoDelay(true);
  attachSink(s);
});
server.once('error', (err) => {
  process.stderr.write(`sink: ${err.message}\n`);
  process.exit(1);
});
server.listen(port, host, () => process.stdout.write(`ready ${host}:${port}\n`));
// The bench holds our stdin: when it goes away, so do we (exit, so --cpu-prof writes its profile).
process.stdin.on('end', () => process.exit(0));
process.stdin.on('error', () => process.exit(0));
process.stdin.resume();
process.on('SIGTERM', () => process.exit(0));
