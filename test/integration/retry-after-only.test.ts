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

  // What ratewise achieves today: it learns the window's size from the first refusals and stops sending the whole
  // queue into each window (a client without pacing has 280 refused in the first window alone, and more in each
  // window after). Runs so far refused 20 to 38 in total over 15 to 17 windows; the bound leaves room for two
  // more windows in which a whole window's worth is refused (see below).
  test('refuses fewer than one request for every three calls', { timeout: 60_000 }, async ({ expect }) => {
    const { refused } = await shared();
    expect(refused).toBeLessThan(CALLS / 3);
  });

  // The bound. Not met yet: additive slow start has several requests in flight when the first refusal
  // comes (5 to 9 refused in that window, and in the next too when the ramp spans two), and a learned window size
  // is dropped as "the limit went up" when the requests since a pause straddle two server windows, after which a
  // whole window's worth is sent at once (13 to 20 refused in that window, in about half the runs).
  test.fails('refuses at most one request per window', { timeout: 60_000 }, async ({ expect }) => {
    const { windows } = await shared();
    expect(Math.max(...windows.map((window) => window.refused))).toBeLessThanOrEqual(1);
  });
});
