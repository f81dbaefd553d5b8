/**
 * Errors the HTTP layer answers with. Each has a stable `code` from the catalogue (src/error-codes.ts: what Yida-side
 * flows and tests match on, and the HTTP status it maps to); `field` names the offending body field or query
 * parameter when there is one.
 */
import { ConnectorError, type ErrorCode } from '../errors.js';

export { ShuttingDownError } from '../errors.js';

export class HttpRequestError extends ConnectorError {
  readonly field?: string;
  constructor(code: ErrorCode, message: string, opts: { field?: string; cause?: unknown } = {}) {
    super(code, message, { cause: opts.cause, details: opts.field === undefined ? undefined : { field: opts.field } });
    this.field = opts.field;
  }
}

/** Missing, wrong or replayed credentials, or no credential configured at all. */
export class UnauthorizedError extends HttpRequestError {
  constructor(message: string) { super('WEBHOOK_UNAUTHORIZED', message); }
}

export class UnsupportedMediaTypeError extends HttpRequestError {
  constructor(message = 'Content-Type must be application/json') { super('WEBHOOK_UNSUPPORTED_MEDIA_TYPE', message); }
}

export class BodyTooLargeError extends HttpRequestError {
  constructor(limitBytes: number) { super('WEBHOOK_BODY_TOO_LARGE', `request body exceeds ${limitBytes} bytes`); }
}

export class BodyTimeoutError extends HttpRequestError {
  constructor(timeoutMs: number) { super('WEBHOOK_BODY_TIMEOUT', `request body not received within ${timeoutMs} ms`); }
}

export class BadJsonError extends HttpRequestError {
  constructor(cause?: unknown) { super('WEBHOOK_BAD_JSON', 'request body is not valid JSON', { cause }); }
}

export class InvalidBodyError extends HttpRequestError {
  constructor(message: string, field?: string) { super('WEBHOOK_INVALID_BODY', message, { field }); }
}

export class InvalidQueryError extends HttpRequestError {
  constructor(message: string, field: string) { super('INVALID_QUERY', message, { field }); }
}

export class RunNotFoundError extends HttpRequestError {
  constructor() { super('RUN_NOT_FOUND', 'no run with this id'); }
}

export class RouteNotFoundError extends HttpRequestError {
  constructor() { super('NOT_FOUND', 'no such route'); }
}

/** The JSON every error answer carries. */
export interface ErrorBody { error: { code: string; message: string; field?: string } }
