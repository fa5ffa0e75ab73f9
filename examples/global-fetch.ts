// Node's own global `fetch`, throttled without changing the code that calls it (an SDK's, say): `installRatewise(rw)`
// makes ratewise the undici global dispatcher until the function it returns puts the previous one back.
// Run: npx tsx examples/global-fetch.ts
import { installRatewise } from 'ratewise/undici';
import { createRatewise } from 'ratewise';
import { startItemsApi } from './support/items-api.js';

// An API that allows 5 requests per second and says so in IETF RateLimit headers (./support/items-api.ts).
const api = await startItemsApi();

const rw = createRatewise();
const uninstall = installRatewise(rw);
// Plain `fetch`, as third-party code would call it: twelve at once, more than the API allows in a second.
const responses = await Promise.all(Array.from({ length: 12 }, (_, i) => fetch(`${api.origin}/items/${i}`)));
await Promise.all(responses.map((response) => response.arrayBuffer()));
uninstall();
const sent = rw.stats().reduce((sum, budget) => sum + budget.counters.sent, 0);
console.log(`${responses.filter((response) => response.ok).length} of 12 global fetch calls succeeded`);
console.log(`through ratewise: sent ${sent}, refused ${api.refused()}`);
await rw.close();

api.close();
