// Routes one client learnt (the quota the server named for each), kept in a real redis-server for the clients that
// start later: their calls of that route go to its quota's budget from the first.
import { createServer } from 'node:http';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { closeServer, HOST, listen } from '../../scripts/lib/loopback.js';
import { createRatewise } from '../../src/index.js';
import type { RatewiseStore, StoreRoutes } from '../../src/index.js';
import { REDIS_CLIENTS } from '../support/redis-clients.js';
import { startRedis, type RedisServer } from '../support/redis-server.js';
import { storeOf } from './support/store.js';

let redis: RedisServer;
let url: string;
const server = createServer((req, res) => {
  // As GitHub names the resource an answer counted against: `/search/**` is `search`, the rest `core`.
  const resource = (req.url ?? '/').startsWith('/search/') ? 'search' : 'core';
  res.setHeader('x-ratelimit-resource', resource);
  res.setHeader('x-ratelimit-limit', '1000');
  res.setHeader('x-ratelimit-remaining', '999');
  res.setHeader('x-ratelimit-reset', String(Math.ceil(Date.now() / 1000) + 3600));
  res.end('ok');
});
beforeAll(async () => {
  redis = await startRedis();
  url = `http://${HOST}:${String(await listen(server))}`;
});
afterAll(async () => {
  await closeServer(server);
  await redis.stop();
});

test.each(REDIS_CLIENTS)(
  'through $name: a client starting later sends a learnt route to its quota first',
  async (library) => {
    const connection = await library.connect(redis.url);
    const prefix = `routes-${library.name.replace(/\W/g, '')}:`;
    const store = storeOf(connection, prefix);
    // The later client's store says when it has taken in what the first learnt.
    let told!: () => void;
    const adopted = new Promise<void>((resolve) => (told = resolve));
    const watched: RatewiseStore = {
      ...store,
      sync: store.sync.bind(store),
      routes: async (key: string, learned: StoreRoutes, max: number) => {
        const kept = await store.routes!(key, learned, max);
        told();
        return kept;
      },
    };
    const a = createRatewise({ store });
    const b = createRatewise({ store: watched });
    try {
      await (await a.fetch(`${url}/search/code?q=1`)).text();
      await (await a.fetch(`${url}/repos/1`)).text();
      await (await b.fetch(`${url}/users/1`)).text();
      await adopted;
      // One turn of the event loop: the client's own reaction to that reply has run.
      await new Promise((resolve) => setImmediate(resolve));
      await (await b.fetch(`${url}/search/code?q=2`)).text();
      const sent = Object.fromEntries(b.stats().map((s) => [s.key, s.counters.sent]));
      // b's first call met the origin (its route was new to everyone); the search call went through its quota alone.
      expect(sent[url]).toBe(1);
      expect(sent[`${url} search`]).toBe(1);
    } finally {
      await a.close();
      await b.close();
      await connection.close();
    }
  },
);
