/**
 * The pure parts of the LLM test servers (llm-servers.ts): the token buckets that admit requests, the token count of
 * a prompt, and the two vendors' ways of writing a reset. Nothing here reads a clock: every instant is an argument.
 */

/** A limit as the vendors state it: `limit` units per `windowMs`, refilled continuously. */
export interface UnitLimit {
  /** Units per window, and the bucket's capacity. */
  readonly limit: number;
  /** Window length, ms: the bucket refills `limit` units over it. */
  readonly windowMs: number;
}

/**
 * A token bucket that refills continuously, as OpenAI and Anthropic describe theirs: it starts full, refills at
 * `limit / windowMs` units per ms up to `limit`, and a request is admitted only if the bucket holds its whole cost.
 */
export class UnitBucket {
  readonly limit: number;
  /** Units per ms. */
  readonly refillPerMs: number;
  #level: number;
  #at: number;

  constructor({ limit, windowMs }: UnitLimit, now: number) {
    if (!(limit > 0) || !(windowMs > 0)) throw new RangeError(`a limit needs limit > 0 and windowMs > 0`);
    this.limit = limit;
    this.refillPerMs = limit / windowMs;
    this.#level = limit;
    this.#at = now;
  }

  /** Units held at `now` (fractional). An instant before the last one seen counts as that one. */
  level(now: number): number {
    if (now > this.#at) {
      this.#level = Math.min(this.limit, this.#level + (now - this.#at) * this.refillPerMs);
      this.#at = now;
    }
    return this.#level;
  }

  /** Whole units left at `now`, as the headers state them. */
  remaining(now: number): number {
    return Math.floor(this.level(now));
  }

  /** Whether `amount` units would be admitted at `now`. */
  holds(amount: number, now: number): boolean {
    return this.level(now) >= amount;
  }

  /** Takes `amount` units at `now` (the caller checked {@link holds}). */
  take(amount: number, now: number): void {
    this.#level = this.level(now) - amount;
  }

  /** Gives back `amount` units at `now` (a charge settled below its estimate), never above the limit. */
  credit(amount: number, now: number): void {
    this.#level = Math.min(this.limit, this.level(now) + amount);
  }

  /** ms until the bucket holds `amount` units (0 if it does now; `Infinity` if it never can). */
  msUntil(amount: number, now: number): number {
    if (amount > this.limit) return Infinity;
    const missing = amount - this.level(now);
    return missing <= 0 ? 0 : missing / this.refillPerMs;
  }

  /** ms until the bucket is full again: what both vendors call the reset. */
  msUntilFull(now: number): number {
    return this.msUntil(this.limit, now);
  }
}

/**
 * The servers' token count of a text: one token per 4 characters, rounded up (OpenAI's rule of thumb for English).
 * Deterministic, so a client can estimate exactly what the server will charge, or deliberately not.
 */
export function countTokens(text: string): number {
  return Math.ceil(text.length / 4);
}

/** Message content as both APIs accept it: a string, or a list of parts of which the text ones count. */
function contentText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content
    .map((part: unknown) =>
      part !== null && typeof part === 'object' && typeof (part as { text?: unknown }).text === 'string'
        ? (part as { text: string }).text
        : '',
    )
    .join('');
}

/**
 * The prompt tokens of a request body as the servers count them: {@link countTokens} of every message's text (and
 * Anthropic's `system`), joined. Roles, images and tools cost nothing here.
 */
export function promptTokens(body: { readonly messages?: unknown; readonly system?: unknown }): number {
  const messages = Array.isArray(body.messages) ? (body.messages as unknown[]) : [];
  const texts = messages.map((message) =>
    message !== null && typeof message === 'object' ? contentText((message as { content?: unknown }).content) : '',
  );
  return countTokens(contentText(body.system) + texts.join(''));
}

/**
 * A duration as Go's `time.Duration.String()` writes it, which is how OpenAI writes its resets (`6m0s`, `1s`,
 * `120ms`, `8.64s`): rounded up to the millisecond first, as a client must not be told to come back early.
 */
export function goDuration(ms: number): string {
  const total = Math.ceil(ms);
  if (total <= 0) return '0s';
  if (total < 1_000) return `${total}ms`;
  const hours = Math.floor(total / 3_600_000);
  const minutes = Math.floor((total % 3_600_000) / 60_000);
  const millis = total % 60_000;
  const seconds = `${Math.floor(millis / 1_000)}${millis % 1_000 ? `.${String(millis % 1_000).padStart(3, '0')}`.replace(/0+$/, '') : ''}s`;
  if (hours > 0) return `${hours}h${minutes}m${seconds}`;
  if (minutes > 0) return `${minutes}m${seconds}`;
  return seconds;
}

/**
 * An instant in RFC 3339 (UTC), as Anthropic writes its resets. Anthropic sends whole seconds; `'ms'` keeps the
 * milliseconds, since the servers scale time down (a 2 s window) and whole seconds would be a coarse reading of it.
 * Rounded up, never early.
 */
export function rfc3339(at: number, precision: 'ms' | 's'): string {
  const rounded = precision === 's' ? Math.ceil(at / 1_000) * 1_000 : Math.ceil(at);
  const iso = new Date(rounded).toISOString();
  return precision === 's' ? iso.replace(/\.\d{3}Z$/, 'Z') : iso;
}

/** `n` skewed token costs from a fixed `seed` (a Lehmer generator): most small, a few large, 100 to 2,000. */
export function skewedTokenCosts(n: number, seed: number): number[] {
  let state = seed;
  return Array.from({ length: n }, () => {
    state = (state * 48_271) % 2_147_483_647;
    return Math.round(100 + 1_900 * (state / 2_147_483_647) ** 3);
  });
}
