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

/** The fields of a response head as sent, lower-case names, repeated fields joined with `, `. */
export type HeadFields = Record<string, string>;

/**
 * Calls `onStatus` with the status of `res`'s head as it is written, whichever framework writes it: Node writes
 * every head through `writeHead`, the implicit one of `res.end()` included, before any byte reaches the client.
 * `fields()` reads the head's fields, those set beforehand and those handed to `writeHead`, on demand (reading them
 * for every head would cost every server that only wants the status).
 */
export function onHead(res: ServerResponse, onStatus: (status: number, fields: () => HeadFields) => void): void {
  const writeHead = res.writeHead.bind(res);
  let seen = false;
  res.writeHead = ((...args: Parameters<ServerResponse['writeHead']>) => {
    if (!seen) {
      seen = true;
      // writeHead(status, [statusMessage], [headers]): the fields are the last argument given.
      const given: unknown = (args as unknown[]).at(-1);
      onStatus(args[0], () => headFields(res, args.length > 1 ? given : undefined));
    }
    return writeHead(...args);
  }) as ServerResponse['writeHead'];
}

function headFields(res: ServerResponse, given: unknown): HeadFields {
  const fields: HeadFields = {};
  // A field's value is a string, a number or a list of strings (OutgoingHttpHeader).
  const text = (value: unknown): string =>
    Array.isArray(value)
      ? value.map(text).join(', ')
      : typeof value === 'string'
        ? value
        : typeof value === 'number'
          ? String(value)
          : JSON.stringify(value);
  const add = (name: string, value: unknown): void => {
    if (value !== undefined) fields[name.toLowerCase()] = text(value);
  };
  for (const [name, value] of Object.entries(res.getHeaders())) add(name, value);
  if (Array.isArray(given)) {
    // writeHead's raw form: [name, value, name, value, ...] (or pairs).
    const flat = given.flat() as unknown[];
    for (let i = 0; i + 1 < flat.length; i += 2) add(text(flat[i]), flat[i + 1]);
  } else if (given !== null && typeof given === 'object') {
    for (const [name, value] of Object.entries(given)) add(name, value);
  }
  return fields;
}
