// Which routes of one origin count against which quota, as the server's answers named it (GitHub's
// `x-ratelimit-resource`, Discord's `X-RateLimit-Bucket`, GitLab's `RateLimit-Name`, the IETF fields' policy names).
// Bounded: the routes least recently used are forgotten first. No clock: the client asks and tells.

import { MAX_LEARNED_ROUTES } from '../config/routes.js';
import type { RateLimitInfo } from '../headers/types.js';
import type { StoreRoutes } from '../store/types.js';

/**
 * Marks a route learnt from IETF policy names: what it stores is a name of its policy group, resolved to the group's
 * current name when asked. Policy names are structured-field keys, which never begin with it.
 */
const POLICY = '=';

export class LearnedRoutes {
  /** Route shape → bucket name (or `=` and a policy name), least recently used first. */
  readonly #buckets = new Map<string, string>();
  /**
   * IETF policy names, grouped: names that one answer listed together are one group, since a request counts against
   * every policy it lists (a per-minute and a per-day quota, a host's quota and a route's). Each name points towards
   * its group's name (union-find).
   */
  readonly #groups = new Map<string, string>();
  /** The group the origin's own budget stands for: the first one named. */
  #hostGroup: string | undefined;

  constructor(private readonly max = MAX_LEARNED_ROUTES) {}

  /**
   * The bucket the server named for this route, or undefined while none has, or when its policies are those of the
   * origin's own budget.
   */
  bucketOf(shape: string): string | undefined {
    const bucket = this.#buckets.get(shape);
    if (bucket === undefined) return undefined;
    if (this.#buckets.size > 1) {
      // Map order is recency order.
      this.#buckets.delete(shape);
      this.#buckets.set(shape, bucket);
    }
    return bucket.startsWith(POLICY) ? this.#policyBucket(bucket.slice(POLICY.length)) : bucket;
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

  /**
   * An answer to this route listed the IETF policies `names` (at least one): the route counts against all of them.
   * Returns the bucket of their group, or undefined when that is the group of the origin's own budget (the first
   * group named, and every group that shares a policy with it).
   *
   * Groups that share a name are one group from then on: two budgets that each paced by their own answers would
   * spend that policy twice. So are routes that name the same policy while the server counts them apart (as
   * express-rate-limit names a policy by its limit and window): slower, never refused.
   */
  learnPolicies(shape: string, names: readonly string[]): string | undefined {
    if (this.#groups.size + names.length > this.max * 4) {
      // Bounded: past it, groups are forgotten with the routes learnt from them, never split.
      this.#groups.clear();
      this.#hostGroup = undefined;
      for (const [route, bucket] of this.#buckets) if (bucket.startsWith(POLICY)) this.#buckets.delete(route);
    }
    let group = this.#find(names[0]!);
    for (let i = 1; i < names.length; i++) group = this.#union(group, this.#find(names[i]!));
    this.#hostGroup ??= group;
    this.learn(shape, POLICY + group);
    return this.#policyBucket(group);
  }

  /**
   * Whether the route's answers named IETF policies: the server says what the route counts against, even when those
   * are the origin's own budget's.
   */
  namesPolicies(shape: string): boolean {
    return this.#buckets.get(shape)?.startsWith(POLICY) ?? false;
  }

  /**
   * Whether `learnPolicies(shape, names)` would teach nothing: the route is known by its policy group, and every name is
   * already of that group. Teaches nothing either (the recency of routes is `bucketOf`'s; finding a group only
   * shortens its names' paths).
   */
  samePolicies(shape: string, names: readonly string[]): boolean {
    const bucket = this.#buckets.get(shape);
    if (bucket === undefined || !bucket.startsWith(POLICY)) return false;
    // The route keeps the name its group had when learnt: once that group merged into another, learning again
    // stores the new name (and the store hears of the route, see `rawOf`).
    const group = bucket.slice(POLICY.length);
    if (this.#find(group) !== group) return false;
    return names.every((name) => this.#groups.has(name) && this.#find(name) === group);
  }

  /** Forgets what was learnt of this route: its calls go through the origin's own budget again. */
  forget(shape: string): void {
    this.#buckets.delete(shape);
  }

  /** Routes remembered. */
  get size(): number {
    return this.#buckets.size;
  }

  /** What was learnt of this route, as learnt (a policy group's name after `=`), without making it recent. */
  rawOf(shape: string): string | undefined {
    return this.#buckets.get(shape);
  }

  /**
   * What another client needs to send this route where this one does: the route's bucket as learnt, the origin's host
   * group, and the names of the route's policy group with the group each belongs to.
   */
  sharedOf(shape: string): StoreRoutes {
    const bucket = this.#buckets.get(shape);
    const groups: [string, string][] = [];
    if (bucket?.startsWith(POLICY)) {
      const group = this.#find(bucket.slice(POLICY.length));
      for (const [name, parent] of this.#groups) {
        if (name !== parent && this.#find(name) === group) groups.push([name, group]);
      }
    }
    return { host: this.#hostGroup, groups, routes: bucket === undefined ? [] : [[shape, bucket]] };
  }

  /**
   * Takes in what other clients learnt (see {@link sharedOf}), where this one knows nothing yet: its own learning is
   * not overruled. Entries that do not fit (too long, a group link that would loop) are left out, and the bounds hold.
   */
  adopt(shared: StoreRoutes): void {
    const fits = (text: unknown): text is string => typeof text === 'string' && text !== '' && text.length <= 512;
    // What a store returns is not trusted: entries of another shape are skipped, and only as many are looked at as
    // could be kept.
    for (const entry of shared.groups.slice(0, this.max * 4)) {
      if (this.#groups.size >= this.max * 4) break;
      const [name, group] = Array.isArray(entry) ? (entry as unknown[]) : [];
      if (!fits(name) || !fits(group) || this.#groups.has(name)) continue;
      // Linked only to a group that does not lead back to it: the group lookups always end.
      if (this.#find(group) === name) continue;
      this.#groups.set(name, group);
    }
    if (this.#hostGroup === undefined && fits(shared.host)) this.#hostGroup = this.#find(shared.host);
    for (const entry of shared.routes.slice(0, this.max)) {
      if (this.#buckets.size >= this.max) break;
      const [shape, bucket] = Array.isArray(entry) ? (entry as unknown[]) : [];
      if (!fits(shape) || !fits(bucket) || this.#buckets.has(shape)) continue;
      if (bucket.startsWith(POLICY)) this.#find(bucket.slice(POLICY.length));
      this.#buckets.set(shape, bucket);
    }
  }

  #policyBucket(name: string): string | undefined {
    const group = this.#find(name);
    return group === this.#hostGroup ? undefined : group;
  }

  #find(name: string): string {
    let group = name;
    for (let next = this.#groups.get(group); next !== undefined && next !== group; next = this.#groups.get(group)) {
      group = next;
    }
    if (!this.#groups.has(name)) this.#groups.set(name, name);
    else if (group !== name) this.#groups.set(name, group); // shortened for the next time
    return group;
  }

  /** One group of `a` and `b` (both group names): the host's name wins, so the origin's budget keeps standing for it. */
  #union(a: string, b: string): string {
    if (a === b) return a;
    const [into, from] = b === this.#hostGroup ? [b, a] : [a, b];
    this.#groups.set(from, into);
    return into;
  }
}

/** Most policy names of one answer taken in: a real server lists one to three. */
export const MAX_POLICY_NAMES = 16;

/** The names of the IETF policies an answer listed (drafts 08 and later, and Atlassian's `Beta-` copy of them). */
export function policyNames(info: RateLimitInfo): string[] {
  const names: string[] = [];
  for (const policy of info.policies) {
    if ((policy.source !== 'ietf' && policy.source !== 'ietf-beta') || policy.name === undefined) continue;
    if (policy.name === '' || names.includes(policy.name)) continue;
    names.push(policy.name);
    if (names.length === MAX_POLICY_NAMES) break;
  }
  return names;
}
