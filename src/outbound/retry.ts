/**
 * The one retry loop of the connector. The adapter says what a failure means (`classify`); the policy says how often
 * and how long to wait; this loop applies both, the same way for every outbound call:
 *  - `throttled`: not executed, so repeated for every call kind, within `throttleLimit`;
 *  - `not_sent`: the request never left (connection refused, DNS), repeated for every call kind, within `limit`;
 *  - `ambiguous`: no answer, a reset, a 5xx: repeated within `limit` only for the kinds in `policy.methods` (by
 *    default reads and idempotent calls; a plain write fails at once and the caller reconciles);
 *  - `auth`: a refused token; the attempt has dropped it already, so one immediate repeat with a fresh one;
 *  - `fatal`: thrown at once.
 * A `Retry-After` the classifier read is honoured (capped by `maxRetryAfter`) instead of the computed backoff.
 */
import { sleep } from '../sleep.js';
import { backoffMs, type CallKind, type RetryPolicy } from './policy.js';

export type FailureKind = 'throttled' | 'not_sent' | 'ambiguous' | 'auth' | 'fatal';

export interface Failure {
  kind: FailureKind;
  /** the server's `Retry-After`, ms, when it sent one the policy honours */
  retryAfterMs?: number;
}

export type GiveUpReason =
  /** fatal, or ambiguous for a kind the policy does not repeat */
  | 'not_retryable'
  /** the failure's budget (`limit` or `throttleLimit`) or `maxElapsed` is spent */
  | 'exhausted'
  /** the token was refused again right after a fresh one was fetched */
  | 'auth';

export interface AttemptCounts {
  /** attempts made, the failing one included */
  attempts: number;
  /** failures that were throttling */
  throttled: number;
  /** failures that were not_sent or ambiguous */
  transient: number;
}

export interface RetryEvent extends AttemptCounts { error: unknown; failure: Failure; delayMs: number }
export interface GiveUp extends AttemptCounts { failure: Failure; reason: GiveUpReason }

export interface RetryOptions {
  policy: RetryPolicy;
  /** what the call does; `write` (the default) is never repeated after an ambiguous failure unless the policy says so */
  kind?: CallKind;
  /** what a thrown error means */
  classify: (err: unknown) => Failure;
  /** stops the waiting between attempts (rejecting with its reason); an error thrown after it fired is rethrown as is */
  signal?: AbortSignal;
  /** called before each wait (logs, metrics) */
  onRetry?: (event: RetryEvent) => void;
  /** the error to throw when the loop stops (default: the last error as is) */
  giveUp?: (err: unknown, info: GiveUp) => unknown;
  /** jitter source (tests) */
  random?: () => number;
  now?: () => number;
}

/** The HTTP status of an answer as a Failure under `policy` (statusCodes, afterStatusCodes). */
export function httpFailure(policy: RetryPolicy, status: number, retryAfterMs?: number): Failure {
  if (!policy.statusCodes.includes(status)) return { kind: 'fatal' };
  const kind: FailureKind = status === 429 ? 'throttled' : 'ambiguous';
  return policy.afterStatusCodes.includes(status) && retryAfterMs !== undefined ? { kind, retryAfterMs } : { kind };
}

/** Run `attempt` until it succeeds or the policy says stop. `attempt` gets the attempt number (1-based). */
export async function retrying<T>(attempt: (n: number) => Promise<T>, opts: RetryOptions): Promise<T> {
  const { policy, classify, signal } = opts;
  const kind = opts.kind ?? 'write';
  const now = opts.now ?? Date.now;
  const started = now();
  const counts: AttemptCounts = { attempts: 0, throttled: 0, transient: 0 };
  let authRepeated = false;
  for (;;) {
    counts.attempts++;
    try {
      return await attempt(counts.attempts);
    } catch (err) {
      if (signal?.aborted) throw err;
      const failure = classify(err);
      const stop = (reason: GiveUpReason): never => { throw opts.giveUp ? opts.giveUp(err, { ...counts, failure, reason }) : err; };
      if (failure.kind === 'auth') {
        if (authRepeated) stop('auth');
        authRepeated = true;
        continue; // a fresh token, at once: not a retry of the call's budget
      }
      if (failure.kind === 'fatal') stop('not_retryable');
      if (failure.kind === 'ambiguous' && !policy.methods.includes(kind)) stop('not_retryable');
      if (failure.kind === 'throttled') { if (++counts.throttled > policy.throttleLimit) stop('exhausted'); }
      else if (++counts.transient > policy.limit) stop('exhausted');
      const retries = counts.throttled + counts.transient;
      const delayMs = failure.retryAfterMs !== undefined
        ? Math.min(failure.retryAfterMs, policy.maxRetryAfter)
        : backoffMs(policy, retries, opts.random);
      if (now() - started + delayMs > policy.maxElapsed) stop('exhausted');
      opts.onRetry?.({ ...counts, error: err, failure, delayMs });
      await sleep(delayMs, signal);
    }
  }
}
