// Throttles that only a response's body tells of: GitHub's secondary rate limits (a 403 or 429 whose message says so,
// often with no timing at all), its GraphQL API's spent quota (a 200 whose errors say `RATE_LIMITED`), and whatever a
// budget's `classify` hook recognises. Pure: text in, a verdict out.

/** Most bytes of a body read to look for a throttle's words: a throttle's message is short. */
export const BODY_PEEK_BYTES = 16_384;

/** Longest a body is waited for, in ms: a body that trickles must not hold the call. */
export const BODY_PEEK_MS = 1_000;

/** GitHub's messages for its secondary rate limits, current and former ("abuse detection"). */
const SECONDARY = /secondary rate limit|abuse detection mechanism/i;

/** Whether a 403 or 429 body is GitHub's secondary rate limit. */
export function isSecondaryRateLimit(status: number, bodyText: string | undefined): boolean {
  return (status === 403 || status === 429) && bodyText !== undefined && SECONDARY.test(bodyText);
}

/** An error of type `RATE_LIMITED` in a GraphQL answer's `errors`, as GitHub's GraphQL API reports a spent quota. */
const GRAPHQL_RATE_LIMITED = /"type"\s*:\s*"RATE_LIMITED"/;

/**
 * Whether a request is a GraphQL one (a POST whose path ends in `/graphql`): GitHub's GraphQL API tells a spent quota
 * in the body of a 200, with `x-ratelimit-remaining: 0` (see {@link isSpentCount}); only then is the body worth reading.
 */
export function isGraphQlRequest(method: string, url: string): boolean {
  return method === 'POST' && url.endsWith('/graphql');
}

/** Whether a field's value is the count 0 (a quota's `remaining`). */
export function isSpentCount(value: unknown): boolean {
  return value === 0 || (typeof value === 'string' && value.trim() === '0');
}

/** Whether a 200's body is a GraphQL answer whose errors say its quota is spent (`"type": "RATE_LIMITED"`). */
export function isGraphQlRateLimited(status: number, bodyText: string | undefined): boolean {
  return status === 200 && bodyText !== undefined && GRAPHQL_RATE_LIMITED.test(bodyText);
}

/** The least GitHub asks to wait after a secondary rate limit without timing, in ms. */
const SECONDARY_WAIT_MS = 60_000;
/** The most ratewise waits for one, however often it comes back, in ms. */
const SECONDARY_WAIT_MAX_MS = 16 * SECONDARY_WAIT_MS;

/**
 * How long to wait after a secondary rate limit that names no time: at least a minute, then twice as long for each
 * throttle of the budget in a row before it (GitHub: "wait at least one minute", then "an exponentially increasing
 * amount of time"), at most 16 minutes.
 */
export function secondaryWaitMs(throttlesInARow: number): number {
  const doublings = throttlesInARow >= 1 ? Math.min(Math.floor(throttlesInARow), 4) : 0;
  return Math.min(SECONDARY_WAIT_MS * 2 ** doublings, SECONDARY_WAIT_MAX_MS);
}
