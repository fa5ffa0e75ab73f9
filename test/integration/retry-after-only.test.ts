// A server that describes no quota: 20 requests per 1 s fixed window, then a bare 429 whose only field is
// `Retry-After` (whole seconds until the window ends). ratewise has nothing to pace by until it is refused, so it must
// learn from the refusals themselves. One burst of 300 calls is shared by the tests below, which judge it differently.
import { describe, test } from 'vitest';
import { createRatewise } from '../../src/index.js';
import { startScriptedServer } from '../support/servers.js';
import { burst, countStatuses } from './support.js';
import type { BurstResult } from './support.js';

const CALLS = 300;
const LIMIT = 20;
const WINDOW_MS = 1000;

/** What one window of the server saw. */
interface WindowCount {
  accepted: number;
  refused: number;
}

interface Outcome {
  readonly result: BurstResult;
  /** Every window that received a request, in order. */
  readonly windows: readonly WindowCount[];
  readonly total: number;
  readonly refused: number;
}

async function run(): Promise<Outcome> {
  // Fixed windows aligned to the epoch second, as many limiters keep them (one counter per key and second).
  const windows = new Map<number, WindowCount>();
  const server = await startScriptedServer(() => {
    const now = Date.now();
    const index = Math.floor(now / WINDOW_MS);
    let window = windows.get(index);
    if (!window) windows.set(index, (window = { accepted: 0, refused: 0 }));
    if (window.accepted < LIMIT) {
      window.accepted++;
      return { json: { ok: true } };
    }
    window.refused++;
    const retryAfterSeconds = Math.ceil(((index + 1) * WINDOW_MS - now) / 1000);
    return { status: 429, headers: { 'retry-after': retryAfterSeconds }, body: 'Too Many Requests' };
  });
  const rw = createRatewise();
  try {
    const result = await burst(rw, server.url, CALLS);
    const { total, rejected } = server.hits();
    return { result, windows: [...windows.values()], total, refused: rejected };
  } finally {
    await rw.close();
    await server.close();
  }
}

let outcome: Promise<Outcome> | undefined;
/** The one burst, run by whichever test asks first. */
const shared = (): Promise<Outcome> => (outcome ??= run());

const describeWindows = (windows: readonly WindowCount[]): string =>
  windows.map(({ accepted, refused }) => `${accepted}/${refused}`).join(' ');

describe.concurrent(`${CALLS} concurrent calls against ${LIMIT} per ${WINDOW_MS} ms with only Retry-After`, () => {
  test('every call succeeds', { timeout: 60_000 }, async ({ expect, annotate }) => {
    const { result, windows, total, refused } = await shared();
    await annotate(
      `${total} requests sent, ${refused} refused, ${result.elapsedMs} ms; ` +
        `accepted/refused per window: ${describeWindows(windows)}`,
    );
    expect(result.errors).toEqual([]);
    expect(countStatuses(result.statuses)).toEqual({ [200]: CALLS });
  });

  // It learns the window's size from the first refusals and stops sending the whole queue into each window (a client
  // without pacing has 280 refused in the first window alone, and more in each window after). Most runs refuse 10:
  // the slow start's last round (rounds of 10, 20, 40) overshoots the first window. Where the server's second turns
  // between the slow start's rounds (a few runs in a hundred here, more on a loaded machine), the second round has a fresh
  // second to itself and the third overshoots it by up to 40; the limit, counted across both seconds, is then up to
  // 20 too many, and the first second sent at it refuses that many: 50 in all (the CI run of 2026-12-07: 19/0 20/31
  // 20/19). The bound leaves room for a probe refused here and there. test/engine/quiet-server.test.ts holds the
  // exact shapes, at every start within the second, on the fake clock.
  test(
    'refuses fewer than one request for every four calls, and no window more than the slow start sent it',
    {
      timeout: 60_000,
    },
    async ({ expect }) => {
      const { refused, windows } = await shared();
      expect(refused).toBeLessThan(CALLS / 4);
      expect(Math.max(...windows.map((window) => window.refused))).toBeLessThanOrEqual(2 * LIMIT);
    },
  );

  // Was a bug (runs on a loaded machine took 32 s and 96 s, where 14 s are allowed): requests that reached the
  // server after its second turned filled that second, a probe found its last request, and the refusal of the
  // requests sent with the probe lowered the limit to 1, for good: one request a window from then on. A window that
  // has accepted the whole limit is now lowered only by two such windows in a row. Windows between the first and
  // the last that carry less than half the limit: one now and then, where a probe crept to the end of a second and
  // the rest went into the next.
  test(
    'keeps the windows full: at most three between the first and the last carry less than half the limit',
    {
      timeout: 60_000,
    },
    async ({ expect }) => {
      const { windows } = await shared();
      const thin = windows.slice(1, -1).filter((window) => window.accepted < LIMIT / 2);
      expect(thin.length).toBeLessThanOrEqual(3);
    },
  );
});
