// A store over a client of the harness: the one place the tests turn the harness's `unknown` client into what
// redisStore() takes.
import { redisStore } from '../../../src/store/redis.js';
import type { RatewiseStore } from '../../../src/index.js';
import type { ConnectedRedisClient } from '../../support/redis-clients.js';

export function storeOf(connection: ConnectedRedisClient, prefix: string): RatewiseStore {
  return redisStore(connection.client as Parameters<typeof redisStore>[0], { prefix });
}
