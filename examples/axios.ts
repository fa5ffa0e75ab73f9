// axios, throttled: `withRatewise(axios.create(), rw)` against an API that allows 5 requests per second and says so in
// IETF RateLimit headers (express + express-rate-limit, started here on 127.0.0.1). Run: npx tsx examples/axios.ts
import axios, { isAxiosError } from 'axios';
import { withRatewise } from 'ratewise/axios';
import { createRatewise } from 'ratewise';
import { startItemsApi } from './support/items-api.js';

// An API to talk to (./support/items-api.ts). It refuses a sixth request within a second with 429, and answers
// 404 for items from 100 on.
const server = await startItemsApi();

// Your axios instance, interceptors and all: ratewise goes in below them, where axios calls its adapter.
const rw = createRatewise();
const api = withRatewise(axios.create({ baseURL: server.origin }), rw);

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
for (const budget of rw.stats())
  console.log(`budget ${budget.key}: sent ${budget.counters.sent}, refused ${server.refused()}`);
await rw.close();

server.close();
