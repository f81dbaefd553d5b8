/**
 * Sink-neutral errors: what the writer needs to know about a failed sink call, whichever sink made it. The stable
 * codes are the ones run records have always carried (`YIDA_*`: both targets are Yida), so nothing a caller sees
 * changes. Sinks throw these classes (or subclasses: `yida/errors.ts`); the writer matches on the code, not on the
 * class, so a module loaded twice cannot change the policy.
 */
import { ConnectorError } from '../errors.js';

/** kind of failure → stable code */
export const SINK_ERROR_CODES = {
  /** a write whose outcome is unknown: reconcile by search, never retry blindly */
  ambiguous: 'YIDA_WRITE_AMBIGUOUS',
  /** more than one instance holds one key: a human decides which one stays */
  duplicate: 'YIDA_DUPLICATE_FOUND',
  /** the sink refused the data (its message says why): nothing was written */
  rejected: 'YIDA_REJECTED',
  /** still throttled after every retry: not executed */
  throttled: 'YIDA_THROTTLED',
  /** credentials or token refused: not executed, and no later write can succeed */
  auth: 'YIDA_AUTH_FAILED',
  /** a read kept failing (network, 5xx) after every retry */
  unavailable: 'YIDA_UNAVAILABLE',
} as const;

export type SinkErrorKind = keyof typeof SINK_ERROR_CODES;
export type SinkErrorCode = (typeof SINK_ERROR_CODES)[SinkErrorKind];

const KIND_OF_CODE = new Map<string, SinkErrorKind>(Object.entries(SINK_ERROR_CODES).map(([k, c]) => [c, k as SinkErrorKind]));

export interface SinkErrorOptions { remoteCode?: string; remoteStatus?: number; cause?: unknown; details?: Record<string, unknown> }

export class SinkError extends ConnectorError {
  declare readonly code: SinkErrorCode;
  /** the remote side's own error code, when it answered (e.g. InvalidAuthentication) */
  readonly remoteCode?: string;
  /** HTTP status the remote side answered with, when it answered */
  readonly remoteStatus?: number;
  constructor(code: SinkErrorCode, message: string, opts: SinkErrorOptions = {}) {
    super(code, message, { cause: opts.cause, details: opts.details });
    this.remoteCode = opts.remoteCode;
    this.remoteStatus = opts.remoteStatus;
  }
  get kind(): SinkErrorKind { return KIND_OF_CODE.get(this.code)!; }
}

export class WriteAmbiguousError extends SinkError {
  constructor(message: string, opts: SinkErrorOptions = {}) { super(SINK_ERROR_CODES.ambiguous, message, opts); }
}

export class DuplicateFoundError extends SinkError {
  readonly instanceIds: string[];
  constructor(keyValue: string, instanceIds: string[]) {
    super(SINK_ERROR_CODES.duplicate, `${instanceIds.length} Yida instances hold key ${keyValue}: ${instanceIds.join(', ')}`, { details: { instanceIds } });
    this.instanceIds = instanceIds;
  }
}

export class SinkRejectedError extends SinkError {
  constructor(message: string, opts: SinkErrorOptions = {}) { super(SINK_ERROR_CODES.rejected, message, opts); }
}

export class SinkThrottledError extends SinkError {
  constructor(message: string, opts: SinkErrorOptions = {}) { super(SINK_ERROR_CODES.throttled, message, opts); }
}

export class SinkAuthError extends SinkError {
  constructor(message: string, opts: SinkErrorOptions = {}) { super(SINK_ERROR_CODES.auth, message, opts); }
}

export class SinkUnavailableError extends SinkError {
  constructor(message: string, opts: SinkErrorOptions = {}) { super(SINK_ERROR_CODES.unavailable, message, opts); }
}

/** The kind of a sink failure, by its stable code; undefined for anything else (a store error, a bug). */
export function sinkErrorKind(err: unknown): SinkErrorKind | undefined {
  const code = err && typeof err === 'object' && 'code' in err ? (err as { code: unknown }).code : undefined;
  return typeof code === 'string' ? KIND_OF_CODE.get(code) : undefined;
}

/** The call provably did not run (nothing to reconcile). */
export const notExecuted = (err: unknown): boolean => ['throttled', 'auth'].includes(sinkErrorKind(err) ?? '');
