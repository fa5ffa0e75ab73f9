// What `inspect` reports about one answer, as data: the request as printed, the status, parseRateLimit's reading and
// every quota with the raw fields it came from, the warnings, and the matching budget. Pure: both the text and the
// JSON output are drawn from this.
import { collectFields } from '../headers/fields.js';
import { parseRateLimit, type HeaderInput, type RateLimitPolicy, type RateLimitSource } from '../headers/index.js';
import { selectPolicy } from '../headers/select.js';
import { LazyTimeBase } from '../headers/values.js';
import { redactUrl } from '../http/redact.js';
import { suggestBudget, type BudgetSuggestion } from './budget.js';
import { FAMILY_LABELS, fieldGroup, fieldsOf, type FieldGroup, type RawField } from './fields.js';
import type { Answer, PreparedRequest } from './request.js';
import { warningsOf, type Warning } from './warnings.js';

/** One quota the server described. Instants in epoch ms, durations in ms. */
export interface PolicyReport {
  readonly source: RateLimitSource;
  /** A readable name of the header family. */
  readonly family: string;
  readonly name?: string;
  readonly unit: string;
  readonly limit?: number;
  readonly remaining?: number;
  readonly windowMs?: number;
  readonly resetAt?: number;
  /** `resetAt` less the arrival of the answer. */
  readonly resetInMs?: number;
  readonly partitionKey?: string;
  /** Whether parseRateLimit reports the answer by this quota (the most restrictive). */
  readonly selected: boolean;
  /** The raw fields it was read from. */
  readonly fields: readonly RawField[];
}

/** Everything `inspect` prints. */
export interface Inspection {
  readonly request: {
    readonly method: string;
    /** Redacted. */
    readonly url: string;
    /** As sent, secret values `[REDACTED]`. */
    readonly headers: readonly RawField[];
  };
  readonly response: {
    readonly status: number;
    readonly statusText: string;
    readonly sentAt: number;
    readonly receivedAt: number;
    /** From sending to the response head. */
    readonly elapsedMs: number;
    /** Where a redirect points, redacted (redirects are not followed). */
    readonly location?: string;
  };
  /** parseRateLimit's summary: the selected quota and the retry time. */
  readonly rateLimit: {
    readonly isRateLimited: boolean;
    readonly limit?: number;
    readonly remaining?: number;
    readonly windowMs?: number;
    readonly resetAt?: number;
    readonly resetInMs?: number;
    readonly retryAt?: number;
    readonly retryInMs?: number;
    readonly bucket?: string;
    readonly scope?: string;
  };
  readonly policies: readonly PolicyReport[];
  /** Every rate-limit field of the answer, in the order sent. */
  readonly fields: readonly (RawField & { readonly group: FieldGroup })[];
  readonly warnings: readonly Warning[];
  readonly budget: BudgetSuggestion;
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

function headerInput(headers: Answer['headers']): HeaderInput {
  return {
    forEach(callback) {
      for (const [name, value] of headers) callback(value, name);
    },
  };
}

function policyReport(policy: RateLimitPolicy, selected: boolean, fields: RawField[], now: number): PolicyReport {
  const { source, name, unit, limit, remaining, windowMs, resetAt, partitionKey } = policy;
  return {
    source,
    family: FAMILY_LABELS[source],
    ...(name !== undefined && { name }),
    unit,
    ...(limit !== undefined && { limit }),
    ...(remaining !== undefined && { remaining }),
    ...(windowMs !== undefined && { windowMs }),
    ...(resetAt !== undefined && { resetAt, resetInMs: resetAt - now }),
    ...(partitionKey !== undefined && { partitionKey }),
    selected,
    fields,
  };
}

function location(request: PreparedRequest, answer: Answer): string | undefined {
  if (answer.status < 300 || answer.status > 399) return undefined;
  const value = answer.headers.find(([name]) => name === 'location')?.[1];
  if (value === undefined) return undefined;
  try {
    return redactUrl(new URL(value, request.url));
  } catch {
    return redactUrl(value);
  }
}

/** The report of `answer` to `request`. */
export function inspect(request: PreparedRequest, answer: Answer): Inspection {
  const now = answer.receivedAt;
  const input = headerInput(answer.headers);
  const info = parseRateLimit(input, { now, status: answer.status });
  const fields: RawField[] = [...collectFields(input)].map(([name, value]) => ({ name, value }));
  const selected = selectPolicy(info.policies);
  const policies = info.policies.map((p) => policyReport(p, p === selected, fieldsOf(p, fields), now));

  const rateLimit: Mutable<Inspection['rateLimit']> = { isRateLimited: info.isRateLimited };
  if (info.limit !== undefined) rateLimit.limit = info.limit;
  if (info.remaining !== undefined) rateLimit.remaining = info.remaining;
  if (info.windowMs !== undefined) rateLimit.windowMs = info.windowMs;
  if (info.resetAt !== undefined) {
    rateLimit.resetAt = info.resetAt;
    rateLimit.resetInMs = info.resetAt - now;
  }
  if (info.retryAt !== undefined) {
    rateLimit.retryAt = info.retryAt;
    rateLimit.retryInMs = info.retryAt - now;
  }
  if (info.bucket !== undefined) rateLimit.bucket = info.bucket;
  if (info.scope !== undefined) rateLimit.scope = info.scope;

  const headers = new Map(answer.headers);
  const time = new LazyTimeBase(now, headers.get('date'));
  const warnings = warningsOf(
    {
      fields,
      headers,
      policies: info.policies,
      sentAt: answer.sentAt,
      receivedAt: now,
      ...(request.origin !== undefined && { origin: request.origin }),
    },
    time,
  );
  const response: Mutable<Inspection['response']> = {
    status: answer.status,
    statusText: answer.statusText,
    sentAt: answer.sentAt,
    receivedAt: now,
    elapsedMs: now - answer.sentAt,
  };
  const redirect = location(request, answer);
  if (redirect !== undefined) response.location = redirect;
  return {
    request: {
      method: request.method,
      url: request.shownUrl,
      headers: request.shownHeaders.map(([name, value]) => ({ name, value })),
    },
    response,
    rateLimit,
    policies,
    fields: fields.map((field) => ({ ...field, group: fieldGroup(field.name) })),
    warnings,
    budget: suggestBudget(new URL(request.url), info.policies),
  };
}
