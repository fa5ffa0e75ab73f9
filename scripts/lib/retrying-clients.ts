// ky and axios with axios-retry set up as their users retry a rate-limited API: one definition for the bench's
// `peers` section and for the demo, so that both compare ratewise with the same configurations.
import axios, { type AxiosInstance } from 'axios';
import axiosRetry, { exponentialDelay, isNetworkOrIdempotentRequestError } from 'axios-retry';
import ky from 'ky';

/** Retries ky allows a call, its `retry.limit`. */
export const KY_RETRY_LIMIT = 10;

/** Retries axios-retry allows a call, its `retries`. */
export const AXIOS_RETRIES = 10;

/**
 * GETs `url` with ky and `retry: { limit: 10 }`, resolving with the body. ky's defaults retry a GET on 429 and wait
 * for its `Retry-After` (or `RateLimit-Reset`, `X-RateLimit-Reset`); with none they back off 0.3 s × 2ⁿ⁻¹. Rejects
 * with ky's `HTTPError` when the last answer is not a success.
 */
export function kyGet(url: string, signal: AbortSignal): Promise<ArrayBuffer> {
  return ky.get(url, { retry: { limit: KY_RETRY_LIMIT }, signal }).arrayBuffer();
}

/**
 * An axios instance with axios-retry: 10 retries, `exponentialDelay` (which takes the larger of its backoff,
 * 0.1 s × 2ⁿ plus up to 20 %, and the answer's `Retry-After`), retrying network errors, an idempotent request's 5xx,
 * and 429.
 */
export function createAxiosRetry(): AxiosInstance {
  const instance = axios.create();
  axiosRetry(instance, {
    retries: AXIOS_RETRIES,
    retryDelay: exponentialDelay,
    retryCondition: (error) => isNetworkOrIdempotentRequestError(error) || error.response?.status === 429,
  });
  return instance;
}
