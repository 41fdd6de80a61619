import type { Server } from 'node:net';

/** Listens, resolving once bound and rejecting with the bind error (EADDRINUSE, EACCES…). */
export function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}
