/**
 * The retry policy as data, and the delay it prescribes. Reads are retried on network errors, timeouts, HTTP 429
 * (honouring Retry-After), HTTP 5xx and throttle-like API codes; everything else fails at once.
 */

export interface RetryPolicy {
  /** total attempts per call, the first included (≥ 1) */
  attempts: number;
  /** first backoff; doubles (×factor) each retry */
  baseDelayMs: number;
  factor: number;
  /** cap of one computed backoff */
  maxDelayMs: number;
  /** full jitter: the delay is drawn from [delay × (1 − jitter), delay] */
  jitter: number;
  /** cap on an honoured Retry-After (a server asking for longer gets this) */
  maxRetryAfterMs: number;
  /** envelope codes (HTTP 200) treated as throttling and retried */
  retryApiCodes: Array<number | string>;
}

/** Defaults: 6 attempts, 500 ms → 1 s → 2 s → 4 s → 8 s (± jitter, capped at 30 s); Retry-After honoured up to 60 s. */
export const DEFAULT_RETRY_POLICY: Readonly<RetryPolicy> = Object.freeze({
  attempts: 6,
  baseDelayMs: 500,
  factor: 2,
  maxDelayMs: 30_000,
  jitter: 0.5,
  maxRetryAfterMs: 60_000,
  retryApiCodes: [429],
});

export function resolveRetryPolicy(partial: Partial<RetryPolicy> = {}): RetryPolicy {
  const p = { ...DEFAULT_RETRY_POLICY, ...partial, retryApiCodes: [...(partial.retryApiCodes ?? DEFAULT_RETRY_POLICY.retryApiCodes)] };
  const bad = (what: string) => { throw new TypeError(`OKKI retry policy: ${what}`); };
  if (!Number.isInteger(p.attempts) || p.attempts < 1 || p.attempts > 50) bad('attempts must be a whole number from 1 to 50');
  if (!(p.baseDelayMs >= 0)) bad('baseDelayMs must be ≥ 0');
  if (!(p.factor >= 1)) bad('factor must be ≥ 1');
  if (!(p.maxDelayMs >= p.baseDelayMs)) bad('maxDelayMs must be ≥ baseDelayMs');
  if (!(p.jitter >= 0 && p.jitter <= 1)) bad('jitter must be within 0..1');
  if (!(p.maxRetryAfterMs >= 0)) bad('maxRetryAfterMs must be ≥ 0');
  return p;
}

/** Backoff before retry number `retry` (1 = first retry). */
export function backoffMs(policy: RetryPolicy, retry: number, random: () => number = Math.random): number {
  const raw = Math.min(policy.maxDelayMs, policy.baseDelayMs * policy.factor ** (retry - 1));
  return Math.round(raw * (1 - policy.jitter * random()));
}

/** Retry-After as ms: delta-seconds or an HTTP date; undefined when absent or unreadable. */
export function parseRetryAfter(value: string | null | undefined, now = Date.now()): number | undefined {
  if (!value) return undefined;
  const v = value.trim();
  if (/^\d+(\.\d+)?$/.test(v)) return Math.round(Number(v) * 1000);
  const t = Date.parse(v);
  return Number.isNaN(t) ? undefined : Math.max(0, t - now);
}

export { sleep } from '../sleep.js';
