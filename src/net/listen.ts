// Binding a server, for every listener in the project: resolves with the bound port, rejects
// with the bind error (EADDRINUSE...) so the caller can say which listener it was.
import type { Server } from 'node:net';
import type { AddressInfo } from 'node:net';

export function listen(server: Server, address: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, address, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

/** A bound server that can be stopped without waiting on its clients. */
export interface Serving {
  readonly address: string;
  readonly port: number;
  close(): Promise<void>;
}

/**
 * Binds `server` and returns a handle whose close() stops listening and drops the open
 * connections at once (`dropConnections`), so a stopping process never waits on a keep-alive.
 */
export async function serve(server: Server, address: string, port: number, dropConnections: () => void): Promise<Serving> {
  const bound = await listen(server, address, port);
  return {
    address,
    port: bound,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        dropConnections();
      }),
  };
}
