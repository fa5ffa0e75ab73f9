/**
 * API clients that are polite and fast at once. {@link createRatewise} makes a client whose `fetch` reads what
 * servers say about their rate limits, paces requests per host, pauses a host on a 429 and retries safely;
 * {@link parseRateLimit} and {@link parseRetryAfter} read those headers on their own.
 * @module ratewise
 */
// The public surface of ratewise: re-exports only.
export { createRatewise } from './client.js';
export type { AdapterRequest, BudgetStats, Ratewise, ScheduleOptions, StoreStats } from './client.js';
export type { Transport } from './engine/send.js';
export type {
  BackoffOptions,
  BudgetOptions,
  ClassifyInput,
  UnitLimit,
  UsageInput,
  ClassifyVerdict,
  Jitter,
  JitterUpOptions,
  RateObject,
  RateSpec,
  LoopGuardOptions,
  RatewiseOptions,
  RequestDescriptor,
  RequestOptions,
  RetryBudgetOptions,
  RetryOptions,
} from './options.js';
export type { RatewiseRequestInit } from './http/request.js';
export type { BudgetCounters, ServerView, WaitReason } from './engine/budget.js';
export type { UnitView } from './engine/unit-quotas.js';
export type { PolicyStats } from './engine/policy-paces.js';
export type { GiveUpEventReason, RatewiseEvents } from './events.js';
export type { GiveUpReason } from './retry/decision.js';
export type { Clock, TimerHandle } from './clock.js';
export {
  AlreadyInstalledError,
  ClosedError,
  isRatewiseError,
  LoopDetectedError,
  QueueFullError,
  RateLimitError,
  RatewiseError,
  RetryBudgetExceededError,
  StoreUnavailableError,
} from './errors.js';
export type {
  CarriedRatewiseError,
  ClosedErrorOptions,
  LoopDetectedErrorOptions,
  OverLimit,
  QueueFullErrorOptions,
  PauseCause,
  RateLimitErrorOptions,
  RateLimitReason,
  RatewiseErrorByCode,
  RatewiseErrorCode,
  RetryBudgetExceededErrorOptions,
  StoreUnavailableErrorOptions,
} from './errors.js';
export type {
  RatewiseStore,
  StoreClient,
  StoreLimit,
  StoreReply,
  StoreRequest,
  StoreRoutes,
  StoreSlots,
  StoreUnit,
  StoreUnitView,
} from './store/types.js';
export { parseRateLimit, parseRetryAfter, ServerClock } from './headers/index.js';
export type {
  HeaderInput,
  ParseRateLimitOptions,
  ParseRetryAfterOptions,
  ServerClockReading,
  RateLimitInfo,
  RateLimitPolicy,
  RateLimitSource,
} from './headers/index.js';
export { redactUrl } from './http/redact.js';
export { giveUpReason } from './engine/send.js';
