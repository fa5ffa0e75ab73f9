// How far apart readings of one reset instant may be. Every header family states a reset to the second at best
// (seconds left, rounded up; or an epoch second, which a `Date` truncated to the second may turn into seconds left),
// so a reading may be up to a second off; readings rounded apart may each be off in their own direction.

/**
 * Readings of one reset from one source (successive answers of one server, in one header family) are less than
 * this far apart: each rounds the time left up to a whole second.
 */
export const ONE_SOURCE_RESET_SPREAD_MS = 1000;

/**
 * Readings of one reset rounded apart are up to this far apart, each a second off at most: two header families of
 * one response (seconds left rounded up beside an epoch second read against a truncated `Date`), or views of one
 * quota that different clients read and published.
 */
export const TWO_SOURCES_RESET_SPREAD_MS = 2 * ONE_SOURCE_RESET_SPREAD_MS;
