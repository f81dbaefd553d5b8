/** Typed Yida/DingTalk errors with the stable codes the run record carries per product. */
import { SinkError, type SinkErrorOptions } from '../core/index.js';

export type YidaErrorCode = 'YIDA_AUTH_FAILED' | 'YIDA_THROTTLED' | 'YIDA_WRITE_AMBIGUOUS' | 'YIDA_DUPLICATE_FOUND' | 'YIDA_REJECTED' | 'YIDA_UNAVAILABLE';

/** A Yida failure: a sink-neutral error (core/sink-errors.ts) the writer understands, with DingTalk's details. */
export class YidaError extends SinkError {
  declare readonly code: YidaErrorCode;
  constructor(code: YidaErrorCode, message: string, opts: SinkErrorOptions = {}) { super(code, message, opts); }
}

/** DingTalk refused the app credentials or the token, even after one refetch. */
export class YidaAuthError extends YidaError {
  constructor(message: string, opts: ConstructorParameters<typeof YidaError>[2] = {}) { super('YIDA_AUTH_FAILED', message, opts); }
}

/** Still throttled after every retry: nothing was executed. */
export class YidaThrottledError extends YidaError {
  constructor(message: string, opts: ConstructorParameters<typeof YidaError>[2] = {}) { super('YIDA_THROTTLED', message, opts); }
}

/** A write whose outcome is unknown (timeout, 5xx, connection lost after sending): reconcile by search, never retry blindly. */
export class YidaWriteAmbiguousError extends YidaError {
  constructor(message: string, opts: ConstructorParameters<typeof YidaError>[2] = {}) { super('YIDA_WRITE_AMBIGUOUS', message, opts); }
}

/** More than one Yida instance holds the same key: a human must decide which one stays. */
export { DuplicateFoundError as YidaDuplicateFoundError } from '../core/index.js';

/** Yida refused the request as invalid (4xx other than auth/throttling); the message is Yida's. */
export class YidaRejectedError extends YidaError {
  constructor(message: string, opts: ConstructorParameters<typeof YidaError>[2] = {}) { super('YIDA_REJECTED', message, opts); }
}

/** A read (search, token) kept failing on network errors, timeouts or 5xx after every retry. */
export class YidaUnavailableError extends YidaError {
  constructor(message: string, opts: ConstructorParameters<typeof YidaError>[2] = {}) { super('YIDA_UNAVAILABLE', message, opts); }
}

/**
 * An answer without what it must carry (startInstance without an id): an internal signal, never surfaced as is. The
 * classifier reads it as an ambiguous outcome (the instance may exist), so a create ends as YIDA_WRITE_AMBIGUOUS.
 */
export class YidaMalformedAnswer extends Error {
  constructor(message: string) { super(message); this.name = 'YidaMalformedAnswer'; }
}
