// Node's own global `fetch`, throttled without changing the code that calls it (an SDK's, say): `installRatewise(rw)`
// makes ratewise the undici global dispatcher until the function it returns puts the previous one back.
// Run: npx tsx examples/global-fetch.ts
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { rateLimit } from 'express-rate-limit';
import { installRatewise } from '../src/adapters/undici.js';
import { createRatewise } from '../src/index.js';

// An API that allows 5 requests per second and says so in IETF RateLimit headers; `refused` counts its 429s.
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

const rw = createRatewise();
const uninstall = installRatewise(rw);
// Plain `fetch`, as third-party code would call it: twelve at once, more than the API allows in a second.
const responses = await Promise.all(Array.from({ length: 12 }, (_, i) => fetch(`${api}/items/${i}`)));
await Promise.all(responses.map((response) => response.arrayBuffer()));
uninstall();
const sent = rw.stats().reduce((sum, budget) => sum + budget.counters.sent, 0);
console.log(`${responses.filter((response) => response.ok).length} of 12 global fetch calls succeeded`);
console.log(`through ratewise: sent ${sent}, refused ${refused}`);
await rw.close();

server.closeAllConnections();
server.close();
