// `ratewise/otel` as Node loads it (bundlers take instrument.ts itself, through the `module` condition):
// @opentelemetry/api is looked for first, so that a missing peer fails with what to install; the module is then
// loaded synchronously (require of an ES module), so that `require('ratewise/otel')` works too: no top-level await.
import { createRequire } from 'node:module';
import { requirePeer } from '../adapters/peer.js';

const require = createRequire(import.meta.url);
requirePeer(require, 'ratewise/otel', '@opentelemetry/api');
const otel = require('./instrument.js') as typeof import('./instrument.js');

export const { instrument } = otel;
export type { InstrumentOptions, OptionalAttribute } from './instrument.js';
