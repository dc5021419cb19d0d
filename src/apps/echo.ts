// echo: raw TCP that sends back every byte. Half-close is kept: after the client's FIN it
// finishes echoing what it has, then sends its own FIN (the pipe ends the socket on 'end').
import type { AppContext, RunningApp } from './app';
import { listenTcp } from './serve';

export async function startEcho(ctx: AppContext): Promise<RunningApp> {
  const server = await listenTcp(ctx.podHostIp, ctx.pod.app.port, (socket) => {
    socket.on('error', (err) => ctx.log.debug('echo connection error', { error: err.message }));
    socket.pipe(socket);
  });
  ctx.log.info('echo listening', { address: `${server.address}:${server.port}` });
  return server;
}
