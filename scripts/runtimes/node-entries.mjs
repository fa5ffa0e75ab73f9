/* global fetch */
// The conformance checks of the entry points that only Node has: the axios adapter, Node's global fetch
// (`installRatewise`) and the Redis store. main.mjs loads this module in Node only; Workers never bundle it.
import { createRatewise } from 'ratewise';
import { BURST, burst, equal, expectAllOk, fail, record } from './conformance.mjs';

/**
 * @typedef {object} NodeConfig
 * @property {string} axios Like the conformance program's `pace`, for the axios adapter.
 * @property {string} fetch Like `pace`, for global fetch.
 * @property {{ pause: string, url: string }} [redis] A server like `pause`, and the Redis to share budgets through.
 */

/**
 * Runs the checks of Node's entry points.
 * @param {NodeConfig} node
 * @param {import('./conformance.mjs').Check[]} checks
 */
export async function nodeEntries(node, checks) {
  if (node.axios !== undefined) {
    const url = node.axios;
    await record(checks, 'axios', `axios adapter: ${BURST} calls at once`, async () => {
      const { default: axios } = await import('axios');
      const { withRatewise } = await import('ratewise/axios');
      const rw = createRatewise();
      try {
        const api = withRatewise(axios.create(), rw);
        const statuses = await burst(BURST, async (i) => (await api.get(`${url}/items/${i}`)).status);
        expectAllOk(statuses);
        equal(rw.stats()[0]?.counters.sent, BURST, 'counters.sent');
        return `${BURST} × 200`;
      } finally {
        await rw.close();
      }
    });
  }
  if (node.fetch !== undefined) {
    const url = node.fetch;
    await record(checks, 'fetch', `global fetch (installRatewise): ${BURST} calls at once`, async () => {
      const { installRatewise } = await import('ratewise/undici');
      const rw = createRatewise();
      const uninstall = installRatewise(rw);
      try {
        const statuses = await burst(BURST, async (i) => {
          const response = await fetch(`${url}/items/${i}`);
          await response.arrayBuffer();
          return response.status;
        });
        expectAllOk(statuses);
        equal(rw.stats()[0]?.counters.sent, BURST, 'counters.sent (the calls went through ratewise)');
        return `${BURST} × 200`;
      } finally {
        uninstall();
        await rw.close();
      }
    });
  }
  if (node.redis !== undefined) {
    const { pause, url } = node.redis;
    await record(checks, 'redis', 'Redis store: a 429 one client meets pauses another', async () => {
      const { createClient } = await import('redis');
      const { redisStore } = await import('ratewise/redis');
      const client = await createClient({ url }).connect();
      const [first, second] = [0, 1].map(() =>
        createRatewise({ store: redisStore(client, { prefix: 'conformance:' }) }),
      );
      const storeErrors = [];
      const paused = [[], []];
      [first, second].forEach((rw, i) => {
        rw.on('storeError', ({ error }) => storeErrors.push(String(error)));
        rw.on('paused', ({ reason }) => paused[i].push(reason));
      });
      let release;
      const firstPaused = new Promise((resolve) => (release = resolve));
      first.on('paused', () => release());
      try {
        const get = async (rw, path) => {
          const response = await rw.fetch(`${pause}${path}`);
          await response.arrayBuffer();
          return response.status;
        };
        const refused = get(first, '/first');
        await firstPaused;
        // The other client hears of the pause from the store: the parent checks that nothing reached the server
        // before its end.
        const statuses = await Promise.all([refused, get(second, '/other-1'), get(second, '/other-2')]);
        expectAllOk(statuses);
        if (storeErrors.length > 0) fail(`store errors: ${storeErrors.join('; ')}`);
        equal(JSON.stringify(paused[0]), '["retry-after"]', 'paused events of the refused client');
        equal(JSON.stringify(paused[1]), '["shared"]', 'paused events of the other client');
        equal(second.stats()[0]?.shared, 'store', 'stats shared');
        return 'the other client paused too (shared), 3 × 200';
      } finally {
        await first.close();
        await second.close();
        await client.quit();
      }
    });
  }
}
