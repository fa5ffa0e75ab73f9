// Which routes of one origin count against which quota, as the server's answers named it (GitHub's
// `x-ratelimit-resource`, Discord's `X-RateLimit-Bucket`, GitLab's `RateLimit-Name`). Bounded: the routes least
// recently used are forgotten first. No clock: the client asks and tells.

import { MAX_LEARNED_ROUTES } from '../config/routes.js';

export class LearnedRoutes {
  /** Route shape → bucket name, least recently used first. */
  readonly #buckets = new Map<string, string>();

  constructor(private readonly max = MAX_LEARNED_ROUTES) {}

  /** The bucket the server named for this route, or undefined while none has. */
  bucketOf(shape: string): string | undefined {
    const bucket = this.#buckets.get(shape);
    if (bucket !== undefined && this.#buckets.size > 1) {
      // Map order is recency order.
      this.#buckets.delete(shape);
      this.#buckets.set(shape, bucket);
    }
    return bucket;
  }

  /** The server named `bucket` for this route. Returns whether that is news (a route learnt or moved). */
  learn(shape: string, bucket: string): boolean {
    const known = this.#buckets.get(shape);
    this.#buckets.delete(shape);
    this.#buckets.set(shape, bucket);
    if (this.#buckets.size > this.max) {
      const oldest = this.#buckets.keys().next();
      if (!oldest.done) this.#buckets.delete(oldest.value);
    }
    return known !== bucket;
  }

  /** Routes remembered. */
  get size(): number {
    return this.#buckets.size;
  }
}
