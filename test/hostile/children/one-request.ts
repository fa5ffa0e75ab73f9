// A process that makes one request through ratewise and then does nothing: no close(), no clean-up. It must exit
// by itself, whatever the answer left behind (a paused budget, a server pace, a keep-alive connection).
import { createRatewise } from '../../../src/index.js';

const url = process.argv[2];
if (url === undefined) throw new Error('usage: one-request.ts <url>');
const rw = createRatewise();
const response = await rw.fetch(url);
await response.text();
console.log(JSON.stringify({ status: response.status, stats: rw.stats().map((s) => s.pausedUntil !== undefined) }));
