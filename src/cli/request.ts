// The one request `inspect` sends: prepared from the options (pure), then sent with fetch (the only I/O here). The
// answer keeps what the report needs: status, headers and the instants around it.
import { Buffer } from 'node:buffer';
import { redactUrl } from '../http/redact.js';
import type { InspectOptions } from './args.js';
import { redactHeaders, scrub, secretsOf } from './secrets.js';

/** The request as sent, and as it may be printed. */
export interface PreparedRequest {
  readonly method: string;
  /** The URL sent: without userinfo (fetch refuses it; it becomes an `Authorization: Basic` header). */
  readonly url: string;
  /** The URL as printed: userinfo removed, secret parameters `[REDACTED]`. */
  readonly shownUrl: string;
  /** Headers as sent. */
  readonly headers: readonly (readonly [name: string, value: string])[];
  /** Headers as printed: secret values `[REDACTED]`. */
  readonly shownHeaders: readonly (readonly [name: string, value: string])[];
  /** The `Origin` sent with `--origin`. */
  readonly origin?: string;
  /** Every secret string of the request, to scrub from text the CLI did not write itself. */
  readonly secrets: readonly string[];
}

/** What the server answered. */
export interface Answer {
  readonly status: number;
  readonly statusText: string;
  /** Response headers, names lower-case, as fetch joins them. */
  readonly headers: readonly (readonly [name: string, value: string])[];
  /** When the request was handed to fetch, epoch ms. */
  readonly sentAt: number;
  /** When the response head arrived, epoch ms. */
  readonly receivedAt: number;
}

export type Outcome =
  { readonly kind: 'answer'; readonly answer: Answer } | { readonly kind: 'unreachable'; readonly message: string };

/** What sending needs from the outside world. */
export interface SendContext {
  readonly fetch: typeof globalThis.fetch;
  /** The clock, epoch ms. */
  readonly now: () => number;
}

const USER_AGENT = 'ratewise-inspect';

function decode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** The request `options` describe: userinfo moved into `Authorization` (unless one is given), a User-Agent added. */
export function prepareRequest(options: InspectOptions): PreparedRequest {
  const sent = new URL(options.url.href);
  sent.username = '';
  sent.password = '';
  const headers = [...options.headers];
  const has = (name: string) => headers.some(([n]) => n.toLowerCase() === name);
  const { username, password } = options.url;
  if ((username !== '' || password !== '') && !has('authorization')) {
    const credentials = Buffer.from(`${decode(username)}:${decode(password)}`, 'utf8').toString('base64');
    headers.push(['Authorization', `Basic ${credentials}`]);
  }
  if (!has('user-agent')) headers.push(['User-Agent', USER_AGENT]);
  if (options.origin !== undefined) headers.push(['Origin', options.origin]);
  const prepared: PreparedRequest = {
    method: options.method,
    url: sent.href,
    shownUrl: redactUrl(sent),
    headers,
    shownHeaders: redactHeaders(headers),
    secrets: secretsOf(options.url, headers),
  };
  return options.origin === undefined ? prepared : { ...prepared, origin: options.origin };
}

/** Why fetch failed, from its error and the causes under it (undici puts the socket's error in `cause`). */
function describeFailure(error: unknown): string {
  const parts: string[] = [];
  let current: unknown = error;
  for (let depth = 0; depth < 4 && typeof current === 'object' && current !== null; depth++) {
    const { message, code, errors, cause } = current as {
      message?: unknown;
      code?: unknown;
      errors?: unknown;
      cause?: unknown;
    };
    if (typeof message === 'string' && message !== '' && message !== 'fetch failed') parts.push(message);
    else if (typeof code === 'string') parts.push(code);
    // Node tries every address of a name and reports them together.
    current = cause ?? (Array.isArray(errors) ? (errors as unknown[])[0] : undefined);
  }
  return parts.length === 0 ? String(error) : parts.join(': ');
}

/** Sends `request` once, without following a redirect; waits at most `timeoutMs` for the response head. */
export async function sendOnce(request: PreparedRequest, timeoutMs: number, context: SendContext): Promise<Outcome> {
  const sentAt = context.now();
  let response: Response;
  try {
    response = await context.fetch(request.url, {
      method: request.method,
      headers: request.headers.map(([name, value]): [string, string] => [name, value]),
      redirect: 'manual',
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (error) {
    const timedOut = error instanceof Error && error.name === 'TimeoutError';
    const detail = timedOut ? `no answer within ${timeoutMs} ms` : describeFailure(error);
    return { kind: 'unreachable', message: scrub(`Could not reach ${request.shownUrl}: ${detail}`, request.secrets) };
  }
  const receivedAt = context.now();
  const headers: (readonly [string, string])[] = [];
  response.headers.forEach((value, name) => {
    headers.push([name, value]);
  });
  // Only the head is inspected: the body is dropped so that the connection closes and the process can exit.
  await response.body?.cancel().catch(() => undefined);
  return {
    kind: 'answer',
    answer: { status: response.status, statusText: response.statusText, headers, sentAt, receivedAt },
  };
}
