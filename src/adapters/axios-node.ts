// `ratewise/axios` as Node loads it (bundlers, browsers' included, take axios.ts itself, through the `module`
// condition): axios is looked for first, so that a missing peer fails with what to install; the adapter is then
// loaded synchronously (require of an ES module), so that `require('ratewise/axios')` works too: no top-level await.
import { createRequire } from 'node:module';
import { requirePeer } from './peer.js';

const require = createRequire(import.meta.url);
requirePeer(require, 'ratewise/axios', 'axios');
const adapter = require('./axios.js') as typeof import('./axios.js');

export const { withRatewise } = adapter;
