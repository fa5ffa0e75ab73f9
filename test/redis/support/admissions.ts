// The property a shared token bucket promises, checked on what the server saw.

/**
 * By how many requests the arrivals (ms, ascending) ever exceed what a bucket of `burst` refilled at `ratePerSecond`
 * allows from `from` on: the largest `admitted - (burst + rate × (arrival - from))`. 0 or less when the budget held.
 *
 * Give as `from` an instant taken before the first call was made (when the bucket held at most `burst`). Without
 * it the count starts at the first arrival, which is stricter than the bucket's promise: a request arrives some
 * time after the instant its token was reserved for, and a first arrival that came late shortens every window.
 */
export function excess(times: readonly number[], ratePerSecond: number, burst: number, from = times[0]): number {
  if (from === undefined) return 0;
  let worst = -Infinity;
  times.forEach((at, i) => {
    worst = Math.max(worst, i + 1 - (burst + (ratePerSecond * (at - from)) / 1000));
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
