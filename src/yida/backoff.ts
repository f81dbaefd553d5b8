/** Exponential backoff with full jitter, and an abortable sleep. */
export interface RetryPolicy {
  /** attempts in total for a call that fails on network errors, timeouts or 5xx, the first included */
  maxAttempts: number;
  /** attempts in total for a call that keeps being throttled (never executed, so always safe to repeat) */
  maxThrottledAttempts: number;
  /** first delay, ms (Yida advises waiting about 1 s when throttled) */
  baseDelayMs: number;
  maxDelayMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { maxAttempts: 5, maxThrottledAttempts: 12, baseDelayMs: 500, maxDelayMs: 15_000 };

export function validateRetry(r: RetryPolicy): RetryPolicy {
  if (!Number.isInteger(r.maxAttempts) || r.maxAttempts < 1) throw new TypeError('retry.maxAttempts: expected a whole number >= 1');
  if (!Number.isInteger(r.maxThrottledAttempts) || r.maxThrottledAttempts < 1) throw new TypeError('retry.maxThrottledAttempts: expected a whole number >= 1');
  if (!(r.baseDelayMs >= 0) || !(r.maxDelayMs >= r.baseDelayMs)) throw new TypeError('retry: expected 0 <= baseDelayMs <= maxDelayMs');
  return r;
}

/** delay before retry number `retry` (1-based): half fixed, half random, so retrying clients spread out */
export function backoffDelay(policy: RetryPolicy, retry: number, random: () => number = Math.random): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (retry - 1));
  return ceiling / 2 + random() * (ceiling / 2);
}

export { sleep } from '../sleep.js';
