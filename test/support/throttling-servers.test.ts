// The hand-made throttling servers and the request-log figures the bench reads from every server.
import { describe, expect, test } from 'vitest';
import { firstAnsweredAt, refusedAfterFirstAnswer } from './request-log.js';
import type { RecordedRequest } from './servers.js';
import {
  FixedWindowCounter,
  startBare429Server,
  startRetryAfter503Server,
  startSlowServer,
} from './throttling-servers.js';

async function get(url: string): Promise<{ status: number; headers: string[]; body: string }> {
  const response = await fetch(url);
  const body = await response.text();
  return { status: response.status, headers: [...response.headers.keys()], body };
}

/** Fields every node:http answer carries, whatever the server means to say. */
const TRANSPORT = ['connection', 'content-length', 'content-type', 'keep-alive'];
const own = (headers: readonly string[]) => headers.filter((name) => !TRANSPORT.includes(name));

describe('FixedWindowCounter', () => {
  test('a window opens with the first request after the previous one ended, and admits the limit', () => {
    const counter = new FixedWindowCounter({ limit: 2, windowMs: 1_000 });
    expect([1_000, 1_100, 1_200, 1_999].map((at) => counter.admit(at))).toEqual([
      { ok: true },
      { ok: true },
      { ok: false, retryAfterSeconds: 1 },
      { ok: false, retryAfterSeconds: 1 },
    ]);
    // Nothing arrives for a while: the next window opens at the next request, not on a fixed grid.
    expect(counter.admit(2_500)).toEqual({ ok: true });
    expect(counter.admit(3_400)).toEqual({ ok: true });
    expect(counter.admit(3_450)).toEqual({ ok: false, retryAfterSeconds: 1 });
    expect(counter.admit(3_500)).toEqual({ ok: true });
    expect(counter.windows()).toEqual([
      { startAt: 1_000, accepted: 2, refused: 2 },
      { startAt: 2_500, accepted: 2, refused: 1 },
      { startAt: 3_500, accepted: 1, refused: 0 },
    ]);
  });

  test('a refusal gives the whole seconds left in its window, rounded up', () => {
    const counter = new FixedWindowCounter({ limit: 1, windowMs: 2_500 });
    counter.admit(0);
    expect(counter.admit(1)).toEqual({ ok: false, retryAfterSeconds: 3 });
    expect(counter.admit(1_500)).toEqual({ ok: false, retryAfterSeconds: 1 });
  });
});

describe('throttling servers', () => {
  test('bare 429: 200s up to the limit, then 429 with no field at all, and the windows it counted', async () => {
    const server = await startBare429Server({ limit: 2, windowMs: 60_000 });
    try {
      const answers = [await get(server.url), await get(server.url), await get(server.url)];
      expect(answers.map(({ status }) => status)).toEqual([200, 200, 429]);
      for (const { headers } of answers) expect(own(headers)).toEqual([]);
      expect(server.windows()).toEqual([{ startAt: expect.any(Number) as number, accepted: 2, refused: 1 }]);
      expect(server.hits()).toMatchObject({ total: 3, accepted: 2, rejected: 1 });
    } finally {
      await server.close();
    }
  });

  test('503 + Retry-After: 200s up to the limit, then 503 whose only field is Retry-After', async () => {
    const server = await startRetryAfter503Server({ limit: 1, windowMs: 60_000 });
    try {
      const answers = [await get(server.url), await get(server.url)];
      expect(answers.map(({ status }) => status)).toEqual([200, 503]);
      expect(own(answers[0]!.headers)).toEqual([]);
      expect(own(answers[1]!.headers)).toEqual(['retry-after']);
      expect(server.hits().byStatus).toEqual({ 200: 1, 503: 1 });
    } finally {
      await server.close();
    }
  });

  test('slow server: every request of a burst is answered 200, none refused', async () => {
    const server = await startSlowServer({ delayMs: 50 });
    try {
      const answers = await Promise.all(Array.from({ length: 20 }, () => get(server.url)));
      expect(answers.every(({ status, body }) => status === 200 && body === '{"ok":true}')).toBe(true);
      expect(server.hits()).toMatchObject({ total: 20, accepted: 20, maxInFlight: 20 });
    } finally {
      await server.close();
    }
  });
});

describe('request log figures', () => {
  const at = (receivedAt: number, status: number | undefined, answeredAt?: number): RecordedRequest => ({
    method: 'GET',
    url: '/',
    receivedAt,
    status,
    answeredAt,
  });

  test('refused after the first answer: only refusals that arrived strictly after the first answer was written', () => {
    const log = [
      at(10, 200, 30),
      at(11, 429, 20),
      at(20, 429, 21),
      at(21, 503, 22),
      at(22, 200, 25),
      at(23, undefined),
    ];
    expect(firstAnsweredAt(log)).toBe(20);
    expect(refusedAfterFirstAnswer(log)).toEqual([at(21, 503, 22)]);
  });

  test('a log with no answer has no first answer and no late refusal', () => {
    expect(firstAnsweredAt([at(1, undefined)])).toBe(Infinity);
    expect(refusedAfterFirstAnswer([at(1, undefined)])).toEqual([]);
  });
});
