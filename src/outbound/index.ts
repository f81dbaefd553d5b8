/** The kit every outbound call uses: one retry policy (data), one retry loop, one single-flight token cache. */
export { DEFAULT_RETRY_POLICY, DEFAULT_STATUS_CODES, resolveRetryPolicy, backoffMs, parseRetryAfter, exponential, type RetryPolicy, type CallKind } from './policy.js';
export { retrying, httpFailure, type Failure, type FailureKind, type RetryOptions, type RetryEvent, type GiveUp, type GiveUpReason, type AttemptCounts } from './retry.js';
export { TokenCache, waitFor, type FetchedToken, type TokenCacheOptions } from './token-cache.js';
