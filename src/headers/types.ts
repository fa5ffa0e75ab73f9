import type { ServerClock } from './server-clock.js';
/**
 * Anything that carries response headers: a fetch `Headers`, a plain record such as Node's
 * `IncomingHttpHeaders` or axios' headers object. Names are matched case-insensitively and
 * repeated field lines (arrays) are joined with `", "`.
 */
export type HeaderInput =
  | {
      /** Calls `callback` with each header's value and name, as a fetch `Headers` does. */
      forEach(callback: (value: string, name: string) => void): void;
    }
  | Readonly<Record<string, string | readonly string[] | number | undefined | null>>;

/** Options of {@link parseRateLimit}. */
export interface ParseRateLimitOptions {
  /**
   * The local instant the response arrived, in epoch milliseconds. Relative values count from it.
   * @default Date.now()
   */
  readonly now?: number;
  /**
   * The response's HTTP status. Only used to decide {@link RateLimitInfo.isRateLimited}.
   * @default undefined (not rate limited)
   */
  readonly status?: number;
  /**
   * What earlier answers of the same server told of its clock. This answer's `Date` narrows it, and absolute
   * instants (epoch resets, HTTP-dates) are placed on the local clock by it, to within what every `Date` read so
   * far allows, rather than by this answer's `Date` alone (whole seconds). Keep one per server.
   * @default undefined (this answer's `Date` alone, or the local clock without one)
   */
  readonly serverClock?: ServerClock;
}

/** Which header family a policy was read from. */
export type RateLimitSource =
  /** IETF `RateLimit` / `RateLimit-Policy`, drafts 08 to 10 (named policies). */
  | 'ietf'
  /** IETF draft 07: `RateLimit: limit=…, remaining=…, reset=…`. */
  | 'ietf-draft7'
  /** IETF drafts 03 to 06: `RateLimit-Limit`, `RateLimit-Remaining`, `RateLimit-Reset` (also GitLab, Twitch, Heroku, Zendesk). */
  | 'ietf-draft6'
  /** Atlassian's prefixed `Beta-RateLimit` / `Beta-RateLimit-Policy` (draft 08+ syntax). */
  | 'ietf-beta'
  /** `X-RateLimit-*` and `X-Rate-Limit-*` (GitHub, X, Okta, Discord, Reddit, Zendesk, Kong, Jira, …). */
  | 'x-ratelimit'
  /** OpenAI and Azure OpenAI `x-ratelimit-{limit,remaining,reset}-{requests,tokens}`. */
  | 'openai'
  /** `anthropic-ratelimit-*`. */
  | 'anthropic'
  /** `X-HubSpot-RateLimit-*`. */
  | 'hubspot'
  /** Azure Resource Manager `x-ms-ratelimit-remaining-*`. */
  | 'azure'
  /** `X-Shopify-Shop-Api-Call-Limit: used/size`. */
  | 'shopify'
  /** Salesforce `Sforce-Limit-Info: api-usage=used/limit`. */
  | 'salesforce';

/** One quota the server described. Every field is optional: absent means the server did not say (or said nonsense). */
export interface RateLimitPolicy {
  /** The header family this policy came from. */
  readonly source: RateLimitSource;
  /** The policy or dimension name (`"default"`, `"requests"`, `"tokens"`, GitHub's `core`, `subscription-reads`, …). */
  readonly name?: string;
  /** What the quota counts: `"requests"` unless the server says otherwise (`"tokens"`, `"content-bytes"`, …). */
  readonly unit: string;
  /** Quota units per window. */
  readonly limit?: number;
  /** Quota units left now. */
  readonly remaining?: number;
  /** Epoch ms when the quota is restored (or more quota becomes available). Never before `now`. */
  readonly resetAt?: number;
  /** Window length in ms, only when the server states it. */
  readonly windowMs?: number;
  /** IETF partition key (`pk`): its bytes in canonical base64 (the text sent, unless that was not canonical). */
  readonly partitionKey?: string;
}

/**
 * What a response's headers say about the client's rate limit: the most restrictive quota, the retry time, and every
 * quota described.
 */
export interface RateLimitInfo {
  /** Quota units per window of the most restrictive policy. */
  readonly limit?: number;
  /** Units left now in that policy (an integer, never negative). */
  readonly remaining?: number;
  /** Epoch ms when that policy's quota is restored. Never before `now`. */
  readonly resetAt?: number;
  /** That policy's window length in ms, when the server states it. */
  readonly windowMs?: number;
  /** Epoch ms before which the client must not send again (`Retry-After` and its equivalents). Never before `now`. */
  readonly retryAt?: number;
  /** Vendor key of the quota bucket this response counts against (GitHub `x-ratelimit-resource`, Discord bucket, GitLab `RateLimit-Name`). */
  readonly bucket?: string;
  /** Vendor scope of a throttle (Discord `X-RateLimit-Scope`: `user`, `global`, `shared`; `global` when `X-RateLimit-Global` is set). */
  readonly scope?: string;
  /**
   * Whether this response is a throttle: a 429; a 503 with a retry time; a 403 with a retry time or `remaining: 0`.
   * A 200 with `remaining: 0` is not.
   */
  readonly isRateLimited: boolean;
  /** Every policy the server described, the selected one included. */
  readonly policies: readonly RateLimitPolicy[];
}
