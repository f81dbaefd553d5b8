/**
 * Typed failures of the OKKI source, each with a stable code. Messages name the endpoint and what to check,
 * never a credential or token value.
 */
import { ConnectorError } from '../errors.js';

export type OkkiAuthReason = 'invalid_client' | 'missing_scope' | 'token_rejected' | 'bad_token_response' | 'other';

/** The OAuth step failed, or a fresh token was rejected again: an operator has to act. */
export class OkkiAuthError extends ConnectorError {
  readonly reason: OkkiAuthReason;
  constructor(reason: OkkiAuthReason, message: string, details?: Record<string, unknown>) {
    super('OKKI_AUTH_FAILED', message, { details: { reason, ...details } });
    this.reason = reason;
  }
}

/** An HTTP status that is not success (after retries, when retryable). */
export class OkkiHttpError extends ConnectorError {
  readonly httpStatus: number;
  readonly endpoint: string;
  constructor(endpoint: string, httpStatus: number, message: string, opts: { retryAfterMs?: number; cause?: unknown } = {}) {
    super('OKKI_HTTP_ERROR', message, { cause: opts.cause, details: { endpoint, httpStatus } });
    this.httpStatus = httpStatus;
    this.endpoint = endpoint;
    this.retryAfterMs = opts.retryAfterMs;
  }
  readonly retryAfterMs?: number;
}

/** HTTP 200 whose envelope carries a non-success `code`. */
export class OkkiApiError extends ConnectorError {
  readonly apiCode: number | string;
  readonly apiMessage: string;
  readonly endpoint: string;
  constructor(endpoint: string, apiCode: number | string, apiMessage: string) {
    super('OKKI_API_ERROR', `OKKI ${endpoint} answered code ${apiCode}: ${apiMessage}`, { details: { endpoint, apiCode, apiMessage } });
    this.apiCode = apiCode;
    this.apiMessage = apiMessage;
    this.endpoint = endpoint;
  }
}

/** No answer within the per-request timeout (after retries). */
export class OkkiTimeoutError extends ConnectorError {
  constructor(endpoint: string, timeoutMs: number, cause?: unknown) {
    super('OKKI_TIMEOUT', `OKKI ${endpoint} did not answer within ${timeoutMs} ms`, { cause, details: { endpoint, timeoutMs } });
  }
}

/** The connection failed (refused, reset, DNS) after retries. */
export class OkkiNetworkError extends ConnectorError {
  constructor(endpoint: string, cause: unknown) {
    super('OKKI_NETWORK_ERROR', `OKKI ${endpoint} could not be reached: ${(cause as Error)?.message ?? String(cause)}`, { cause, details: { endpoint } });
  }
}

/** `/v1/product/info` answered `code:404`: a normal outcome for targeted runs, returned rather than thrown by `info()`. */
export class OkkiNotFoundError extends ConnectorError {
  constructor(what: string) {
    super('OKKI_NOT_FOUND', `OKKI has no product ${what}`, { details: { what } });
  }
}

/** A window kept changing under every re-read and could not be covered within the attempt budget. */
export class OkkiWindowUnstableError extends ConnectorError {
  constructor(message: string, details?: Record<string, unknown>) {
    super('OKKI_WINDOW_UNSTABLE', message, { details });
  }
}
