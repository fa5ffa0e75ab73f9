// ky over rw.fetch, against an API that allows 5 requests per second and says so in IETF RateLimit headers
// (express + express-rate-limit, started here on 127.0.0.1). ky's own retry is off: ratewise retries, once.
// Run: npx tsx examples/ky.ts
import ky from 'ky';
import { createRatewise } from 'ratewise';
import { startItemsApi } from './support/items-api.js';

// The API (./support/items-api.ts): 5 requests per second, said in IETF RateLimit headers.
const server = await startItemsApi();

const rw = createRatewise();
const api = ky.create({
  prefixUrl: server.origin,
  fetch: rw.fetch,
  retry: 0,
});
const items = await Promise.all(Array.from({ length: 12 }, (_, i) => api.get(`items/${i}`).json<{ id: number }>()));
console.log(`items: ${items.map((item) => item.id).join(', ')}`);
for (const budget of rw.stats())
  console.log(`budget ${budget.key}: sent ${budget.counters.sent}, refused ${server.refused()}`);
await rw.close();

server.close();
