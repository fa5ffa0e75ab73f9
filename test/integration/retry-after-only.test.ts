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
  // without pacing has 280 refused in the first window alone, and more in each window after). Runs so far refused 10
  // in total over 15 or 16 windows; the bound leaves room for the two windows below at their worst.
  test('refuses fewer than one request for every six calls', { timeout: 60_000 }, async ({ expect }) => {
    const { refused } = await shared();
    expect(refused).toBeLessThan(CALLS / 6);
  });

  // Discovery's bounds against a server that names no quota. The slow start's last round (rounds of 1, 2, 4, 8, 16)
  // overshoots the first window: fewer than a window's limit refused. The limit is then learned from what the
  // refusing window accepted, and may count too many by the requests of the round that met the next window: they
  // are answered within milliseconds of the refusal, and a whole-second Retry-After cannot place them. The first
  // window sent at the learned limit then refuses that many, and its refusal corrects the limit. So at most two
  // windows refuse more than one request, each fewer than the limit; every other window at most one (a probe of the
  // turn). Runs so far: 20/10 20/0 …; 4/0 20/6 20/4 20/0 …; 20/1 9/0 20/9 20/0 … (about half the runs, by where
  // the burst begins in the server's second).
  test(
    'refuses less than a window in at most two windows, at most one in the others',
    { timeout: 60_000 },
    async ({ expect }) => {
      const { windows } = await shared();
      const many = windows.filter((window) => window.refused > 1);
      expect(many.length).toBeLessThanOrEqual(2);
      for (const window of many) expect(window.refused).toBeLessThan(LIMIT);
    },
  );
});
