// The quick start: `rw.fetch` where you had `fetch`, against an API that allows 5 requests per second and says so in
// IETF RateLimit headers (express + express-rate-limit, started here on 127.0.0.1). Run: npx tsx examples/basic-fetch.ts
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { rateLimit } from 'express-rate-limit';
import { createRatewise } from '../src/index.js';

// An API to talk to. It refuses a sixth request within a second with 429; `refused` counts those.
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
const api = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

// The quick start: twelve requests at once, more than the API allows in a second. ratewise reads the first answer's
// headers and spreads the rest over the windows the server announces.
const rw = createRatewise();
const responses = await Promise.all(Array.from({ length: 12 }, (_, i) => rw.fetch(`${api}/items/${i}`)));
const items = (await Promise.all(responses.map((response) => response.json()))) as { id: number }[];
console.log(`${responses.filter((response) => response.ok).length} of 12 requests succeeded`);
console.log(`items: ${items.map((item) => item.id).join(', ')}`);
for (const budget of rw.stats()) console.log(`budget ${budget.key}: sent ${budget.counters.sent}, refused ${refused}`);
await rw.close();

server.closeAllConnections();
server.close();
