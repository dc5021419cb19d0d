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
