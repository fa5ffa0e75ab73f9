// The API the examples talk to: express + express-rate-limit on 127.0.0.1, allowing 5 requests per second and saying
// so in IETF RateLimit headers (draft-8). `GET /items/:id` answers `{ id }`, or 404 for an id of 100 and more.
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { rateLimit } from 'express-rate-limit';

export interface ItemsApi {
  /** Such as `http://127.0.0.1:41234`. */
  readonly origin: string;
  /** The 429s it has sent so far: requests beyond 5 in a second. */
  refused(): number;
  close(): void;
}

export async function startItemsApi(): Promise<ItemsApi> {
  let refused = 0;
  const app = express();
  app.use(rateLimit({ limit: 5, windowMs: 1000, standardHeaders: 'draft-8', legacyHeaders: false }));
  app.use((_req, res, next) => {
    res.on('finish', () => (refused += res.statusCode === 429 ? 1 : 0));
    next();
  });
  app.get('/items/:id', (req, res) => {
    const id = Number(req.params.id);
    if (id >= 100) res.status(404).json({ error: `no item ${id}` });
    else res.json({ id });
  });
  const server = app.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    refused: () => refused,
    close: () => {
      server.closeAllConnections();
      server.close();
    },
  };
}
