/**
 * What an SDK failure means for us. The SDK throws a plain Error with `code` (DingTalk's code) and `statusCode`
 * when DingTalk answered, and network-level errors (httpx RequestTimeoutError, ECONNRESET, ...) when it did not.
 */
import { resolveRetryPolicy, type Failure, type RetryPolicy } from '../outbound/index.js';
export type FailureKind =
  /** throttled: the call was NOT executed; wait and retry */
  | 'throttled'
  /** token refused: refetch once, retry once */
  | 'auth'
  /** the request never left (connection refused, DNS): safe to retry even for writes */
  | 'not_sent'
  /** no answer or a 5xx: a write may or may not have happened */
  | 'ambiguous'
  /** a 4xx that is neither throttling nor auth: Yida refused the content */
  | 'rejected';

export interface Classified { kind: FailureKind; status?: number; remoteCode?: string; message: string }

const THROTTLE_CODE = /^(Forbidden\.AccessDenied\.(Qps|Qpm)|failure\.operation\.(requestTooFast|tooManyVisitors)|Throttling)/i;
const NOT_SENT_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);

export function classify(err: unknown): Classified {
  const e = (err ?? {}) as { code?: unknown; statusCode?: unknown; message?: unknown; name?: unknown; data?: { message?: unknown } };
  const status = typeof e.statusCode === 'number' ? e.statusCode : undefined;
  const code = typeof e.code === 'string' ? e.code : undefined;
  const remoteMessage = typeof e.data?.message === 'string' ? e.data.message : undefined;
  const message = remoteMessage ?? (typeof e.message === 'string' ? e.message : String(err));
  if (status !== undefined) {
    if (status === 429 || (code && THROTTLE_CODE.test(code))) return { kind: 'throttled', status, remoteCode: code, message };
    if (code === 'InvalidAuthentication' || status === 401) return { kind: 'auth', status, remoteCode: code, message };
    if (status >= 500) return { kind: 'ambiguous', status, remoteCode: code, message };
    return { kind: 'rejected', status, remoteCode: code, message };
  }
  if (code && NOT_SENT_CODES.has(code)) return { kind: 'not_sent', remoteCode: code, message };
  // Timeouts, resets, a body that is not JSON (an HTML ban page): we cannot know what the server did.
  return { kind: 'ambiguous', remoteCode: code ?? (typeof e.name === 'string' ? e.name : undefined), message };
}

/** A classified SDK failure in the outbound kit's vocabulary (rejected content is final). */
export function toFailure(c: Classified): Failure {
  return c.kind === 'rejected' ? { kind: 'fatal' } : { kind: c.kind };
}

/**
 * DingTalk's retry policy: 4 retries (5 attempts) on transient failures; 11 more when throttled (Yida advises waiting
 * about 1 s, and a throttled call was not executed); 500 ms doubling to 15 s, half jitter.
 */
export const YIDA_RETRY_POLICY: Readonly<RetryPolicy> = resolveRetryPolicy({ limit: 4, throttleLimit: 11, backoffLimit: 15_000 });
