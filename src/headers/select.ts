// Choosing the one quota a response is reported by, when several are described (docs/headers.md, "Selecting one
// quota" and "Merging families that describe the same quota").
import { TWO_SOURCES_RESET_SPREAD_MS } from './reset-rounding.js';
import type { RateLimitPolicy } from './types.js';

const resetOf = (p: RateLimitPolicy): number => p.resetAt ?? -Infinity;

function furthestReset(policies: readonly RateLimitPolicy[]): RateLimitPolicy | undefined {
  let best: RateLimitPolicy | undefined;
  for (const p of policies) if (!best || resetOf(p) > resetOf(best)) best = p;
  return best;
}

/**
 * The most restrictive quota: an exhausted one (the furthest reset first); else, when request- and
 * other-denominated quotas are both present, a requests one; then the lowest remaining (ties: the furthest reset).
 * Quotas with no `remaining` are chosen only when no quota states one.
 */
export function selectPolicy(policies: readonly RateLimitPolicy[]): RateLimitPolicy | undefined {
  // One pass for the common answer (a single quota, or several none of them exhausted, all in requests); the
  // general rules below when a quota is exhausted or the units differ.
  let counted = 0;
  let exhausted = false;
  let requests = 0;
  for (const p of policies) {
    if (p.remaining === undefined) continue;
    counted++;
    if (p.remaining === 0) exhausted = true;
    if (p.unit === 'requests') requests++;
  }
  if (counted === 0) return policies.find((p) => p.limit !== undefined || p.resetAt !== undefined);
  if (exhausted) return furthestReset(policies.filter((p) => p.remaining === 0));
  // Requests ones when there are any, else all those counted.
  let best: RateLimitPolicy | undefined;
  for (const p of policies) {
    if (p.remaining === undefined || (requests > 0 && p.unit !== 'requests')) continue;
    if (!best || p.remaining < best.remaining! || (p.remaining === best.remaining && resetOf(p) > resetOf(best))) {
      best = p;
    }
  }
  return best;
}

/**
 * Whether `candidate` is the closer reading of the same reset: every family rounds up (delta seconds, or an epoch
 * second measured against a `Date` truncated to the second), so of two readings within the rounding, the earlier
 * is nearer the truth. Readings further apart are not the same reset; the selected one stands.
 */
function closerReset(current: number | undefined, candidate: number): boolean {
  if (current === undefined) return true;
  return candidate < current && current - candidate <= TWO_SOURCES_RESET_SPREAD_MS;
}

const agree = (a: number | undefined, b: number | undefined): boolean => a === undefined || b === undefined || a === b;

/**
 * Fills the gaps of the selected quota from other families that describe the same quota (same limit and
 * remaining where both state them, and at least one of the two stated by both), such as express-rate-limit's legacy
 * `X-RateLimit-*` beside its draft 7 `RateLimit` field. Policies of the selected one's own family are never merged:
 * the family's own rules (names, `q == limit`) already told its quotas apart.
 */
export function mergeSameQuota(selected: RateLimitPolicy, policies: readonly RateLimitPolicy[]): RateLimitPolicy {
  let merged = selected;
  for (const p of policies) {
    if (p.source === selected.source || p.unit !== selected.unit) continue;
    const sameLimit = merged.limit !== undefined && merged.limit === p.limit;
    const sameRemaining = merged.remaining !== undefined && merged.remaining === p.remaining;
    if (!(sameLimit || sameRemaining) || !agree(merged.limit, p.limit) || !agree(merged.remaining, p.remaining))
      continue;
    merged = {
      ...merged,
      ...(merged.limit === undefined && p.limit !== undefined && { limit: p.limit }),
      ...(merged.remaining === undefined && p.remaining !== undefined && { remaining: p.remaining }),
      ...(p.resetAt !== undefined && closerReset(merged.resetAt, p.resetAt) && { resetAt: p.resetAt }),
      ...(merged.windowMs === undefined && p.windowMs !== undefined && { windowMs: p.windowMs }),
    };
  }
  return merged;
}
