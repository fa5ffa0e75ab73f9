/* global fetch, Headers, AbortController, setTimeout, performance */
// The conformance program: what every runtime under test runs against the built package, imported by its name as a
// user's project would. Plain ES modules and web APIs only (fetch, Headers, AbortController, timers), so that Node,
// Bun, Deno and workerd run it as it is. The servers are started by the parent (Node 20) on 127.0.0.1, which judges
// what they saw; this side checks what the client saw and reports it.
import { ClosedError, createRatewise, isRatewiseError, parseRateLimit, parseRetryAfter } from 'ratewise';
import { HEADER_SETS, NOW } from './header-table.mjs';

/** Calls fired at once at a server that allows 20 per second. */
export const BURST = 60;

/**
 * @typedef {object} Config
 * @property {string} pace express-rate-limit, draft-8, 20 per 1 s.
 * @property {string} pause Answers its first request 429 with `Retry-After: 1`, then 200.
 * @property {string} hold Holds `/hang/…` requests open until the client leaves; answers `/seen/hang/…` once
 *   it has received `/hang/…`, and anything else 200.
 * @property {import('./node-entries.mjs').NodeConfig} [node] For Node's entry points.
 */

/**
 * @typedef {object} Check
 * @property {string} id Stable, for the parent to add what its servers saw.
 * @property {string} name
 * @property {boolean} ok
 * @property {string} detail What was seen, or what failed.
 */

export function fail(message) {
  throw new Error(message);
}

export function equal(actual, expected, what) {
  if (actual !== expected) fail(`${what}: expected ${String(expected)}, got ${String(actual)}`);
}

export function tally(values) {
  const counts = {};
  for (const value of values) counts[String(value)] = (counts[String(value)] ?? 0) + 1;
  return counts;
}

/** Settles after every pending callback of this turn and the next timers phase, without reading the clock. */
function tick() {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

/** How a promise settled: `{ ok: true, value }` or `{ ok: false, error }`. */
function settle(promise) {
  return promise.then(
    (value) => ({ ok: true, value }),
    (error) => ({ ok: false, error }),
  );
}

/** Resolves once the hold server has received a request for `path`: then that request is on the wire. */
async function received(config, path) {
  const response = await fetch(`${config.hold}/seen${path}`);
  await response.arrayBuffer();
}

/** Fires `calls` requests at once through `send` and reads every body. */
export async function burst(calls, send) {
  return Promise.all(
    Array.from({ length: calls }, async (_, i) => {
      try {
        return await send(i);
      } catch (error) {
        return `error: ${String(error)}`;
      }
    }),
  );
}

/** The burst every entry point is held to: all answered 200, nothing refused. */
export function expectAllOk(statuses) {
  const counts = tally(statuses);
  if (counts['200'] !== statuses.length) fail(`statuses ${JSON.stringify(counts)}`);
}

// -----------------------------------------------------------------------------------------------------------------

async function pacingAndEvents(config, checks) {
  const rw = createRatewise();
  const events = { queued: 0, throttled: [], paused: 0, retry: 0, giveUp: 0, rateLimitInfo: 0 };
  rw.on('queued', () => events.queued++);
  rw.on('throttled', ({ reason }) => events.throttled.push(reason));
  rw.on('paused', () => events.paused++);
  rw.on('retry', () => events.retry++);
  rw.on('giveUp', () => events.giveUp++);
  rw.on('rateLimitInfo', () => events.rateLimitInfo++);
  let statuses;
  let stats;
  try {
    statuses = await burst(BURST, async (i) => {
      const response = await rw.fetch(`${config.pace}/items/${i}`);
      await response.arrayBuffer();
      return response.status;
    });
    stats = rw.stats();
  } finally {
    await rw.close();
  }
  await record(checks, 'pacing', `pacing: ${BURST} calls at once, draft-8 20 per 1 s`, () => {
    expectAllOk(statuses);
    return `${BURST} × 200`;
  });
  await record(checks, 'events', 'events and stats', () => {
    equal(stats.length, 1, 'budgets in stats()');
    const [budget] = stats;
    equal(budget.key, config.pace, 'stats key');
    equal(budget.queued, 0, 'stats queued');
    equal(budget.inFlight, 0, 'stats inFlight');
    equal(budget.counters.sent, BURST, 'counters.sent');
    equal(budget.counters.rateLimited, 0, 'counters.rateLimited');
    equal(budget.server?.limit, 20, 'server.limit');
    equal(events.rateLimitInfo, BURST, 'rateLimitInfo events');
    equal(events.paused, 0, 'paused events');
    equal(events.retry, 0, 'retry events');
    equal(events.giveUp, 0, 'giveUp events');
    if (events.queued === 0) fail('no queued event');
    if (!events.throttled.some((reason) => reason === 'server-quota' || reason === 'server')) {
      fail(`no throttled event for the server's quota: ${JSON.stringify(tally(events.throttled))}`);
    }
    return `queued ${events.queued}, throttled ${JSON.stringify(tally(events.throttled))}, rateLimitInfo ${events.rateLimitInfo}`;
  });
}

async function pause(config, checks) {
  await record(checks, 'pause', '429 with Retry-After pauses the budget', async () => {
    const rw = createRatewise();
    const paused = [];
    const retries = [];
    let release;
    const pausedOnce = new Promise((resolve) => (release = resolve));
    rw.on('paused', (event) => {
      paused.push(event);
      release();
    });
    rw.on('retry', ({ source, status }) => retries.push({ source, status }));
    try {
      const get = async (path) => {
        const response = await rw.fetch(`${config.pause}${path}`);
        await response.arrayBuffer();
        return response.status;
      };
      const first = get('/items?first');
      await pausedOnce;
      // Calls of the same route made during the pause wait for it: the parent checks that none reached the server
      // before its end. (A call of another route would probe whether the limit is the whole host's.)
      const statuses = await Promise.all([first, get('/items?during-1'), get('/items?during-2')]);
      expectAllOk(statuses);
      equal(paused.length, 1, 'paused events');
      equal(paused[0].reason, 'retry-after', 'paused reason');
      equal(paused[0].status, 429, 'paused status');
      equal(retries.length, 1, 'retry events');
      equal(retries[0].source, 'server', 'retry source');
      return `one pause (${String(paused[0].reason)}), one retry, 3 × 200`;
    } finally {
      await rw.close();
    }
  });
}

async function aborts(config, checks) {
  const rw = createRatewise({ budgets: { '*': { concurrency: 1 } } });
  const inFlight = new AbortController();
  const queued = new AbortController();
  try {
    const first = settle(rw.fetch(`${config.hold}/hang/in-flight`, { signal: inFlight.signal }));
    await received(config, '/hang/in-flight');
    const second = settle(rw.fetch(`${config.hold}/hang/queued`, { signal: queued.signal }));
    await tick();
    await record(checks, 'abort-queued', 'abort while queued', async () => {
      equal(rw.stats()[0]?.queued, 1, 'queued before the abort');
      const reason = new Error('caller gave up while queued');
      queued.abort(reason);
      const outcome = await second;
      if (outcome.ok) fail('the call resolved');
      equal(outcome.error, reason, 'rejection (the caller’s reason)');
      equal(rw.stats()[0]?.queued, 0, 'queued after the abort');
      return 'rejected with the caller’s reason, never sent';
    });
    await record(checks, 'abort-in-flight', 'abort in flight', async () => {
      equal(rw.stats()[0]?.inFlight, 1, 'in flight before the abort');
      const reason = new Error('caller gave up in flight');
      inFlight.abort(reason);
      const outcome = await first;
      if (outcome.ok) fail('the call resolved');
      equal(outcome.error, reason, 'rejection (the caller’s reason)');
      equal(rw.stats()[0]?.inFlight, 0, 'in flight after the abort');
      return 'rejected with the caller’s reason';
    });
  } finally {
    inFlight.abort();
    queued.abort();
    await rw.close();
  }
}

async function close(config, checks) {
  await record(checks, 'close', 'close()', async () => {
    const rw = createRatewise({ budgets: { '*': { concurrency: 1 } } });
    const onWire = new AbortController();
    try {
      const first = settle(rw.fetch(`${config.hold}/hang/close`, { signal: onWire.signal }));
      await received(config, '/hang/close');
      const waiting = [settle(rw.fetch(`${config.hold}/ok/1`)), settle(rw.fetch(`${config.hold}/ok/2`))];
      await tick();
      let closed = false;
      const closing = rw.close().then(() => {
        closed = true;
      });
      for (const outcome of await Promise.all(waiting)) {
        if (outcome.ok) fail('a waiting call resolved after close()');
        if (!(outcome.error instanceof ClosedError) || !isRatewiseError(outcome.error, 'ERR_RATEWISE_CLOSED')) {
          fail(`a waiting call rejected with ${String(outcome.error)}`);
        }
      }
      await tick();
      if (closed) fail('close() resolved while a request was on the wire');
      onWire.abort(new Error('done'));
      await first;
      await closing;
      const after = await settle(rw.fetch(`${config.hold}/ok/3`));
      if (after.ok || !isRatewiseError(after.error, 'ERR_RATEWISE_CLOSED')) fail('a call after close() did not fail');
      return 'waiting calls fail with ClosedError, close() waits for the wire, later calls fail';
    } finally {
      onWire.abort();
    }
  });
}

function parseTable() {
  return HEADER_SETS.map(({ name, headers, status }) => {
    const fields = new Headers();
    for (const [field, value] of Object.entries(headers)) {
      for (const one of Array.isArray(value) ? value : [value]) fields.append(field, one);
    }
    const options = status === undefined ? { now: NOW } : { now: NOW, status };
    return {
      name,
      record: parseRateLimit(headers, options),
      headers: parseRateLimit(fields, options),
      retryAfter: parseRetryAfter(fields, { now: NOW }),
    };
  });
}

/**
 * How this runtime's timers keep time, for the report: how many of `rounds` timers of 1 to 8 ms fired before
 * `Date.now()` (or `performance.now()`) said their delay had passed, and by how much at most. ratewise re-checks
 * the time when a timer fires, so an early timer must cost a re-arm, never a request sent early.
 */
async function timerProbe(rounds = 40) {
  let early = 0;
  let earlyPerf = 0;
  let worst = 0;
  for (let round = 0; round < rounds; round++) {
    const delay = 1 + (round % 8);
    const start = Date.now();
    const startPerf = performance.now();
    await new Promise((resolve) => setTimeout(resolve, delay));
    const elapsed = Date.now() - start;
    if (elapsed < delay) {
      early++;
      worst = Math.max(worst, delay - elapsed);
    }
    if (performance.now() - startPerf < delay) earlyPerf++;
  }
  return `${early} of ${rounds} timers fired early by Date.now() (by ${worst} ms at most), ${earlyPerf} by performance.now()`;
}

// -----------------------------------------------------------------------------------------------------------------

/**
 * Runs `fn` as the check `id` and records how it went: its result as the detail, or what it threw.
 * @param {Check[]} checks
 * @param {string} id
 * @param {string} name
 * @param {() => unknown} fn
 */
export async function record(checks, id, name, fn) {
  try {
    checks.push({ id, name, ok: true, detail: String(await fn()) });
  } catch (error) {
    checks.push({ id, name, ok: false, detail: error instanceof Error ? error.message : String(error) });
  }
}

/**
 * Runs every check against the parent's servers.
 * @param {Config} config
 * @param {(checks: Check[]) => Promise<void>} [more] Checks of the runtime's own entry points (Node's).
 * @returns {Promise<{ checks: Check[], parse: unknown, timers: string }>}
 */
export async function runConformance(config, more) {
  /** @type {Check[]} */
  const checks = [];
  await pacingAndEvents(config, checks);
  await pause(config, checks);
  await aborts(config, checks);
  await close(config, checks);
  let parse;
  await record(checks, 'parse', 'parseRateLimit runs on every header set', () => {
    parse = parseTable();
    return `${HEADER_SETS.length} sets, as records and as Headers`;
  });
  if (more !== undefined) await more(checks);
  const timers = await timerProbe();
  // JSON, so that what crosses to the parent is the same in every runtime (no undefined, no -0).
  return JSON.parse(JSON.stringify({ checks, parse, timers }));
}
