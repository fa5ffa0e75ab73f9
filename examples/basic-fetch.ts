// The quick start: `rw.fetch` where you had `fetch`, against an API that allows 5 requests per second and says so in
// IETF RateLimit headers (express + express-rate-limit, started here on 127.0.0.1). Run: npx tsx examples/basic-fetch.ts
import { createRatewise } from 'ratewise';
import { startItemsApi } from './support/items-api.js';

// An API to talk to (./support/items-api.ts). It refuses a sixth request within a second with 429.
const api = await startItemsApi();

// The quick start: twelve requests at once, more than the API allows in a second. ratewise reads the first answer's
// headers and spreads the rest over the windows the server announces.
const rw = createRatewise();
const responses = await Promise.all(Array.from({ length: 12 }, (_, i) => rw.fetch(`${api.origin}/items/${i}`)));
const items = (await Promise.all(responses.map((response) => response.json()))) as { id: number }[];
console.log(`${responses.filter((response) => response.ok).length} of 12 requests succeeded`);
console.log(`items: ${items.map((item) => item.id).join(', ')}`);
for (const budget of rw.stats())
  console.log(`budget ${budget.key}: sent ${budget.counters.sent}, refused ${api.refused()}`);
await rw.close();

api.close();
