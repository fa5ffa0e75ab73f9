// The property a shared token bucket promises, checked on what the server saw.

/**
 * By how many requests the arrivals (ms, ascending) ever exceed what a bucket of `burst` refilled at `ratePerSecond`
 * allows from the first arrival on: the largest `admitted - (burst + rate × elapsed)` at any arrival. 0 or less when
 * the budget held.
 */
export function excess(times: readonly number[], ratePerSecond: number, burst: number): number {
  const first = times[0];
  if (first === undefined) return 0;
  let worst = -Infinity;
  times.forEach((at, i) => {
    worst = Math.max(worst, i + 1 - (burst + (ratePerSecond * (at - first)) / 1000));
  });
  return worst;
}

/** Requests per second after the burst, from the first arrival to the last: `(count - burst) / elapsed`. */
export function sustainedRate(times: readonly number[], burst: number): number {
  const first = times[0];
  const last = times.at(-1);
  if (first === undefined || last === undefined || last === first) return 0;
  return ((times.length - burst) * 1000) / (last - first);
}
