// sink: raw TCP that discards what it reads. On the client's FIN it answers the decimal
// number of bytes it received and closes: a cheap end-to-end byte count for tests and benches.
import type { AppContext, RunningApp } from './app';
import { listenTcp } from './serve';

export async function startSink(ctx: AppContext): Promise<RunningApp> {
  const server = await listenTcp(ctx.podHostIp, ctx.pod.app.port, (socket) => {
    let bytes = 0;
    socket.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
    });
    socket.on('end', () => socket.end(String(bytes)));
    socket.on('error', (err) => ctx.log.debug('sink connection error', { error: err.message, bytes }));
  });
  ctx.log.info('sink listening', { address: `${server.address}:${server.port}` });
  return server;
}
