// The public surface of ratewise: re-exports only.
export { createRatewise } from './client.js';
export type { AdapterRequest, BudgetStats, Ratewise, ScheduleOptions } from './client.js';
export type { Transport } from './send.js';
export type {
  BudgetOptions,
  LoopGuardOptions,
  RatewiseOptions,
  RequestDescriptor,
  RequestOptions,
  RetryBudgetOptions,
  RetryOptions,
} from './options.js';
export type { RatewiseRequestInit } from './request.js';
export type { BudgetCounters, ServerView, WaitReason } from './budget.js';
export type { RatewiseEvents } from './events.js';
export type { GiveUpReason } from './retry.js';
export type { BackoffOptions, Jitter, JitterUpOptions } from './backoff.js';
export type { Clock, TimerHandle } from './clock.js';
export type { RateObject, RateSpec } from './rate.js';
export {
  ClosedError,
  isRatewiseError,
  LoopDetectedError,
  QueueFullError,
  RateLimitError,
  RatewiseError,
  RetryBudgetExceededError,
  StoreUnavailableError,
} from './errors.js';
export type { RatewiseErrorCode, RateLimitReason } from './errors.js';
export type { RatewiseStore, StoreLimit, StoreReply, StoreRequest, StoreSlots } from './store/types.js';
export { parseRateLimit, parseRetryAfter } from './headers/index.js';
export type {
  HeaderInput,
  ParseRateLimitOptions,
  ParseRetryAfterOptions,
  RateLimitInfo,
  RateLimitPolicy,
  RateLimitSource,
} from './headers/index.js';
export { redactUrl } from './redact.js';
export { giveUpReason } from './send.js';
