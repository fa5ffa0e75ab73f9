// Local HTTP servers for the demo, the tests and the benchmarks: always on 127.0.0.1, on a free port.
import { once } from 'node:events';
import type { Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** The only address ratewise's own servers listen on. */
export const HOST = '127.0.0.1';

/** Starts `server` on a free loopback port and resolves with the port. */
export async function listen(server: Server): Promise<number> {
  server.listen(0, HOST);
  await once(server, 'listening');
  return (server.address() as AddressInfo).port;
}

/** Closes a node:http server for good: in-flight and keep-alive connections are destroyed, not waited for. */
export async function closeServer(server: Server): Promise<void> {
  if (!server.listening) return;
  const closed = new Promise<void>((resolve, reject) => {
    server.close((error) => {
      if (error) reject(error);
      else resolve();
    });
  });
  server.closeAllConnections();
  await closed;
}

/**
 * Calls `onStatus` with the status of `res`'s head as it is written, whichever framework writes it: Node writes
 * every head through `writeHead`, the implicit one of `res.end()` included, before any byte reaches the client.
 */
export function onHead(res: ServerResponse, onStatus: (status: number) => void): void {
  const writeHead = res.writeHead.bind(res);
  let seen = false;
  res.writeHead = ((...args: Parameters<ServerResponse['writeHead']>) => {
    if (!seen) {
      seen = true;
      onStatus(args[0]);
    }
    return writeHead(...args);
  }) as ServerResponse['writeHead'];
}
