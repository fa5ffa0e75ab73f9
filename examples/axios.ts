// axios, throttled: `withRatewise(axios.create(), rw)` against an API that allows 5 requests per second and says so in
// IETF RateLimit headers (express + express-rate-limit, started here on 127.0.0.1). Run: npx tsx examples/axios.ts
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import axios, { isAxiosError } from 'axios';
import express from 'express';
import { rateLimit } from 'express-rate-limit';
import { withRatewise } from '../src/adapters/axios.js';
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
  const id = Number(req.params.id);
  if (id >= 100) res.status(404).json({ error: `no item ${id}` });
  else res.json({ id });
});
const server = app.listen(0, '127.0.0.1');
await once(server, 'listening');
const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

// Your axios instance, interceptors and all: ratewise goes in below them, where axios calls its adapter.
const rw = createRatewise();
const api = withRatewise(axios.create({ baseURL: origin }), rw);

// Twelve requests at once, more than the API allows in a second: paced by its headers, none refused.
const responses = await Promise.all(Array.from({ length: 12 }, (_, i) => api.get<{ id: number }>(`/items/${i}`)));
console.log(`${responses.filter((response) => response.status === 200).length} of 12 requests succeeded`);
console.log(`items: ${responses.map((response) => response.data.id).join(', ')}`);

// A 404 is judged by axios's validateStatus, as always: an AxiosError carrying the response.
try {
  await api.get('/items/404', { ratewise: { priority: 1 } });
} catch (error) {
  if (!isAxiosError(error)) throw error;
  console.log(`missing item: ${error.code ?? '?'} ${error.response?.status ?? '?'}`);
}
for (const budget of rw.stats()) console.log(`budget ${budget.key}: sent ${budget.counters.sent}, refused ${refused}`);
await rw.close();

server.closeAllConnections();
server.close();
