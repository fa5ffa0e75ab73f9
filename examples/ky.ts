// ky over rw.fetch, against an API that allows 5 requests per second and says so in IETF RateLimit headers
// (express + express-rate-limit, started here on 127.0.0.1). ky's own retry is off: ratewise retries, once.
// Run: npx tsx examples/ky.ts
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { rateLimit } from 'express-rate-limit';
import ky from 'ky';
import { createRatewise } from '../src/index.js';

let refused = 0;
const app = express();
app.use(rateLimit({ limit: 5, windowMs: 1000, standardHeaders: 'draft-8', legacyHeaders: false }));
app.use((_req, res, next) => {
  res.on('finish', () => (refused += res.statusCode === 429 ? 1 : 0));
  next();
});
app.get('/items/:id', (req, res) => {
  res.json({ id: Number(req.params.id) });
});
const server = app.listen(0, '127.0.0.1');
await once(server, 'listening');

const rw = createRatewise();
const api = ky.create({
  prefixUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
  fetch: rw.fetch,
  retry: 0,
});
const items = await Promise.all(Array.from({ length: 12 }, (_, i) => api.get(`items/${i}`).json<{ id: number }>()));
console.log(`items: ${items.map((item) => item.id).join(', ')}`);
for (const budget of rw.stats()) console.log(`budget ${budget.key}: sent ${budget.counters.sent}, refused ${refused}`);
await rw.close();

server.closeAllConnections();
server.close();
