// http-echo: the HTTP server of load tests, in the role fortio's server plays in Istio's own
// benchmarks. Any request is answered 200 with its body sent back (a 1 KB POST gets 1 KB back);
// on UPLOAD_PATH the body is counted and dropped instead, and the answer is the decimal count,
// so an upload of any size costs the server no memory.
import type * as http from 'node:http';
import type { AppContext, RunningApp } from './app';
import { listenHttp } from './serve';

/** POST here to stream a body that is counted, not echoed. */
export const UPLOAD_PATH = '/upload';

export async function startHttpEcho(ctx: AppContext): Promise<RunningApp> {
  const server = await listenHttp(ctx.podHostIp, ctx.pod.app.port, (req, res) => {
    req.on('error', (err) => ctx.log.debug('http-echo request error', { error: err.message }));
    if (pathOf(req) === UPLOAD_PATH) {
      let bytes = 0;
      req.on('data', (chunk: Buffer) => (bytes += chunk.length));
      req.on('end', () => {
        const body = String(bytes);
        res.writeHead(200, { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(body) });
        res.end(body);
      });
      return;
    }
    // Echo with the request's own length when it gave one, so a keep-alive client sees no chunking.
    const length = req.headers['content-length'];
    res.writeHead(200, {
      'content-type': req.headers['content-type'] ?? 'application/octet-stream',
      ...(length !== undefined ? { 'content-length': length } : {}),
    });
    req.pipe(res);
  });
  ctx.log.info('http-echo listening', { address: `${server.address}:${server.port}` });
  return server;
}

function pathOf(req: http.IncomingMessage): string {
  const url = req.url ?? '/';
  const q = url.indexOf('?');
  return q === -1 ? url : url.slice(0, q);
}
