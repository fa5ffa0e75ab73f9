// `ratewise/undici` as Node loads it (bundlers take undici.ts itself, through the `module` condition): undici is
// looked for first, so that a missing peer fails with what to install; the adapter is then loaded synchronously
// (require of an ES module), so that `require('ratewise/undici')` works too: no top-level await.
import { createRequire } from 'node:module';
import { requirePeer } from './peer.js';

const require = createRequire(import.meta.url);
requirePeer(require, 'ratewise/undici', 'undici');
const adapter = require('./undici.js') as typeof import('./undici.js');

export const { installRatewise, ratewiseDispatcher, RatewiseDispatcher } = adapter;
export type { RatewiseDispatcherOptions } from './undici.js';
