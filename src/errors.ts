/**
 * The one error shape of the connector (modelled on koa's http errors and fastify's codes): a stable `code` from the
 * catalogue (src/error-codes.ts) that tests and logs match on, and, from the same entry, the HTTP `status` for the
 * HTTP layer and `expose`, whether the message may be shown to a caller. Subclasses (one per failure kind, ky's
 * model) carry what a caller needs. Messages never carry secret values.
 */
import { ERROR_CODES, type ErrorCode, type ErrorCodeInfo } from './error-codes.js';

export { ERROR_CODES, isErrorCode, type ErrorCode, type ErrorCodeInfo } from './error-codes.js';

export interface ConnectorErrorOptions {
  cause?: unknown;
  details?: Record<string, unknown>;
}

export class ConnectorError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly expose: boolean;
  readonly details?: Record<string, unknown>;

  constructor(code: ErrorCode, message: string, opts: ConnectorErrorOptions = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    const info: ErrorCodeInfo = ERROR_CODES[code];
    this.name = new.target.name;
    this.code = code;
    this.status = info.status;
    this.expose = info.expose;
    this.details = opts.details;
  }
}

/** Start-up configuration problem: names the variable, never its value. */
export class ConfigError extends ConnectorError {
  readonly problems: string[];
  constructor(problems: string[]) {
    super('CONFIG_INVALID', `Invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.problems = problems;
  }
}

/** The service is shutting down and takes no new runs (the engine and the HTTP layer both say so). */
export class ShuttingDownError extends ConnectorError {
  constructor(message = 'The service is shutting down; try again shortly') { super('SERVICE_SHUTTING_DOWN', message); }
}

export function errorCode(err: unknown): string {
  if (err instanceof ConnectorError) return err.code;
  if (err && typeof err === 'object' && 'code' in err && typeof (err as { code: unknown }).code === 'string') return (err as { code: string }).code;
  return 'INTERNAL_ERROR';
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
