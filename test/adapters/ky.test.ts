// ky (and any client that takes a custom fetch) over rw.fetch: ky's own retry off, so that retries do not stack.
import ky from 'ky';
import { afterEach, describe, expect, it } from 'vitest';
import { createRatewise, type Ratewise } from '../../src/index.js';
import { startExpressServer, startScriptedServer, type TestServer } from '../support/servers.js';

const open: { rw?: Ratewise; server?: TestServer }[] = [];

afterEach(async () => {
  for (const { rw, server } of open.splice(0)) {
    await rw?.close();
    await server?.close();
  }
});

describe('ky.create({ fetch: rw.fetch, retry: 0 })', () => {
  it('paces a burst against express-rate-limit: every call succeeds, none refused after the first answer', async () => {
    const server = await startExpressServer({
      limit: 20,
      windowMs: 500,
      standardHeaders: 'draft-8',
      legacyHeaders: false,
    });
    const rw = createRatewise();
    open.push({ rw, server });
    const api = ky.create({ prefixUrl: server.url, fetch: rw.fetch, retry: 0 });
    let firstAnsweredAt = Infinity;
    const bodies = await Promise.all(
      Array.from({ length: 60 }, async (_, i) => {
        const body = await api.get(`items/${String(i)}`).json<{ ok: boolean }>();
        firstAnsweredAt = Math.min(firstAnsweredAt, Date.now());
        return body;
      }),
    );
    expect(bodies.every((b) => b.ok)).toBe(true);
    const refusedLate = server.requests().filter((r) => r.status === 429 && r.receivedAt > firstAnsweredAt);
    expect(refusedLate).toEqual([]);
    expect(rw.stats()[0]?.counters.sent).toBe(server.hits().total);
  });

  it('retries once, in ratewise: a 503 answered twice reaches the server three times, not three times three', async () => {
    let seen = 0;
    const server = await startScriptedServer(() => (++seen <= 2 ? { status: 503 } : { json: { ok: true } }));
    const rw = createRatewise({ retry: { backoff: { baseMs: 10, maxMs: 20 } } });
    open.push({ rw, server });
    const api = ky.create({ prefixUrl: server.url, fetch: rw.fetch, retry: 0 });
    expect(await api.get('x').json()).toEqual({ ok: true });
    expect(server.hits().total).toBe(3);
    expect(rw.stats()[0]?.counters.retries).toBe(2);
  });
});
