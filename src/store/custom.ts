// `ratewise/store`: a store of your own (any shared state with one atomic decision per call) made usable as
// `createRatewise({ store })`. The engine's side of sharing comes with it, so that bundles without a store carry none.
import { STORE_LINKS } from '../engine/store-link.js';
import { invalidOption } from '../errors.js';
import { STORE_LINK, type RatewiseStore } from './types.js';

export type * from './public-types.js';

/**
 * Makes `store`, a {@link RatewiseStore} of your own, usable as `createRatewise({ store })`: returns it with the
 * engine's side of sharing attached (`redisStore()` does the same for Redis). The same object, unless it cannot take
 * a property (frozen): then an object whose prototype is `store`. Throws a `TypeError` for anything without a `sync`
 * method.
 */
export function customStore<S extends RatewiseStore>(store: S): S {
  const candidate: unknown = store;
  if (
    typeof candidate !== 'object' ||
    candidate === null ||
    typeof (candidate as Partial<RatewiseStore>).sync !== 'function'
  )
    throw invalidOption('customStore store', 'an object with a sync(key, request) method', store);
  if (store[STORE_LINK] === STORE_LINKS) return store;
  const target: S = Object.isExtensible(store) ? store : (Object.create(store) as S);
  Object.defineProperty(target, STORE_LINK, { value: STORE_LINKS, enumerable: true, configurable: true });
  return target;
}
