import { createServer } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { closeServer, listen } from '../../scripts/lib/loopback.js';
import type { ProgressSnapshot } from '../../scripts/demo/progress.js';
import { CLIENT_ORDER, CLIENTS } from '../../scripts/demo/clients.js';
import { naiveGet, runBurst } from '../../scripts/demo/runs.js';
import { startDemoServer, type DemoServer } from '../../scripts/demo/server.js';

function response(status: number, headers: Record<string, string> = {}): Response {
  return new Response(status === 204 ? null : 'body', { status, headers });
}

/** A fetch answering from a list, remembering each call. */
function scripted(...responses: Response[]): typeof fetch & { calls: number } {
  const stub = Object.assign(
    (): Promise<Response> => {
      stub.calls += 1;
      return Promise.resolve(responses[Math.min(stub.calls, responses.length) - 1]!);
    },
    { calls: 0 },
  );
  return stub;
}

describe('naiveGet', () => {
  it('retries 429s until another answer comes', async () => {
    const fetch = scripted(response(429, { 'retry-after': '0' }), response(429), response(200));
    const res = await naiveGet('http://127.0.0.1:1/', { fetch, random: () => 0 });
    expect(res.status).toBe(200);
    expect(fetch.calls).toBe(3);
  });

  it('returns the last 429 after maxAttempts', async () => {
    const fetch = scripted(response(429, { 'retry-after': 'soon' }));
    const res = await naiveGet('http://127.0.0.1:1/', { fetch, random: () => 0, maxAttempts: 4 });
    expect(res.status).toBe(429);
    expect(fetch.calls).toBe(4);
  });

  it('does not retry other statuses', async () => {
    const fetch = scripted(response(503), response(200));
    expect((await naiveGet('http://127.0.0.1:1/', { fetch })).status).toBe(503);
    expect(fetch.calls).toBe(1);
  });

  it('stops sleeping when the signal aborts, with its reason', async () => {
    const controller = new AbortController();
    const fetch = scripted(response(429, { 'retry-after': '3600' }));
    const call = naiveGet('http://127.0.0.1:1/', { fetch, random: () => 1, signal: controller.signal });
    const reason = new Error('stop');
    setImmediate(() => {
      controller.abort(reason);
    });
    await expect(call).rejects.toBe(reason);
    expect(fetch.calls).toBe(1);
  });
});

describe('runBurst', () => {
  let server: DemoServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  function recorder(): { updates: ProgressSnapshot[]; finished: ProgressSnapshot[] } & {
    update(s: ProgressSnapshot): void;
    finish(s: ProgressSnapshot): void;
  } {
    const updates: ProgressSnapshot[] = [];
    const finished: ProgressSnapshot[] = [];
    return { updates, finished, update: (s) => void updates.push(s), finish: (s) => void finished.push(s) };
  }

  it.each(CLIENT_ORDER)('settles every call of %s, counted by the server as it goes', async (client) => {
    server = await startDemoServer('express', { limit: 5, windowMs: 1_000 });
    const progress = recorder();
    const run = await runBurst({ client, server, requests: 12, progress, tickMs: 20 });
    expect(run.client).toBe(client);
    expect(run.label).toBe(CLIENTS[client].label);
    expect(run.succeeded).toBe(12);
    expect(run.failures).toEqual([]);
    expect(run.arrivals.length).toBeGreaterThanOrEqual(12);
    expect(new Set(run.arrivals.map((a) => a.path)).size).toBe(12);
    const rejected = run.arrivals.filter((a) => a.status === 429).length;
    if (client !== 'ratewise') {
      // 12 at once against 5 per window: the retrying clients are refused, and the first refusal's fields are kept.
      expect(rejected).toBeGreaterThan(0);
      expect(run.firstRejection).toHaveProperty('retry-after');
    }
    expect(progress.finished).toEqual([
      expect.objectContaining({ label: CLIENTS[client].name, done: 12, inFlight: 0, waiting: 0, rejected }),
    ]);
  });

  it.each(CLIENT_ORDER)(
    'counts a call of %s that ends on an error status as failed, by that status',
    async (client) => {
      // A server that answers 404 to everything, which no client retries.
      const http = createServer((_req, res) => {
        res.writeHead(404, { 'content-length': '0' });
        res.end();
      });
      const port = await listen(http);
      const notFound: DemoServer = {
        kind: 'no-headers',
        url: `http://127.0.0.1:${port}`,
        limit: { limit: 1, windowMs: 1_000 },
        arrivals: () => [],
        counts: () => ({ inFlight: 0, rejected: 0 }),
        firstRejection: () => undefined,
        close: () => closeServer(http),
      };
      server = notFound;
      const run = await runBurst({ client, server, requests: 3 });
      expect(run.succeeded).toBe(0);
      expect(run.failures).toEqual([{ reason: 'HTTP 404', count: 3 }]);
    },
  );

  it('gets every call through ratewise with nothing tuned, against a server with headers', async () => {
    server = await startDemoServer('express', { limit: 5, windowMs: 1_000 });
    const run = await runBurst({ client: 'ratewise', server, requests: 12 });
    expect(run.failures).toEqual([]);
    expect(run.succeeded).toBe(12);
    expect(run.arrivals.filter((a) => a.status === 200)).toHaveLength(12);
  });

  it('records ratewise’s pauses against a server that only says Retry-After', async () => {
    server = await startDemoServer('no-headers', { limit: 5, windowMs: 1_000 });
    const run = await runBurst({ client: 'ratewise', server, requests: 12 });
    expect(run.failures).toEqual([]);
    expect(run.succeeded).toBe(12);
    expect(run.pauses.length).toBeGreaterThan(0);
    for (const pause of run.pauses) expect(pause.until).toBeGreaterThan(pause.from);
  });
});
