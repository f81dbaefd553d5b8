/**
 * Cross-cutting middleware: a request id and one log line per request, the single place errors become the JSON
 * error shape, and a JSON answer for routes that do not exist.
 */
import { randomUUID } from 'node:crypto';
import type Koa from 'koa';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import { ConnectorError } from '../errors.js';
import { redact } from '../redact.js';
import { HttpRequestError, RouteNotFoundError, type ErrorBody } from './errors.js';
import { LogSampler } from './log-sampler.js';

export interface HttpState {
  requestId: string;
  log: Logger;
  /** set by the webhook route so its answers are counted in metrics.webhookRequests */
  webhook?: boolean;
  /** set by the error handler for a 4xx: the request's one log line is the sampled "request refused" line */
  refused?: { code: string; field?: string };
}

export type HttpContext = Koa.ParameterizedContext<HttpState>;
export type HttpMiddleware = Koa.Middleware<HttpState>;

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,64}$/;
/** Probes and scrapes would drown the log at info level. */
const QUIET_PATHS = new Set(['/healthz', '/readyz', '/metrics']);

export function requestContext(logger: Logger, metrics: Metrics, sampler = new LogSampler()): HttpMiddleware {
  return async (ctx, next) => {
    const started = process.hrtime.bigint();
    const incoming = ctx.get('x-request-id');
    ctx.state.requestId = REQUEST_ID.test(incoming) ? incoming : randomUUID();
    ctx.state.log = logger.child({ reqId: ctx.state.requestId });
    ctx.set('X-Request-Id', ctx.state.requestId);
    ctx.set('X-Content-Type-Options', 'nosniff');
    try {
      await next();
    } finally {
      if (ctx.state.webhook) metrics.webhookRequests.inc({ status: String(ctx.status) });
      const durationMs = Number(process.hrtime.bigint() - started) / 1e6;
      const line = { method: ctx.method, path: ctx.path, status: ctx.status, durationMs: Math.round(durationMs * 10) / 10 };
      const refused = ctx.state.refused;
      if (refused) {
        // One line per refused request, and only a sample of them: a flood of bad calls must not flood the log.
        const { log, suppressed } = sampler.take(refused.code);
        if (log) ctx.state.log.info({ ...line, ...refused, ...(suppressed ? { suppressed } : {}) }, suppressed ? `request refused (${suppressed} more with this code were not logged)` : 'request refused');
      } else if (QUIET_PATHS.has(ctx.path) && ctx.status < 400) ctx.state.log.debug(line, 'http request');
      else ctx.state.log.info(line, 'http request');
    }
  };
}

/** What an error becomes on the wire. Internals (stack, cause, unexposed messages) never leave the process. */
export function errorResponse(err: unknown): { status: number; body: ErrorBody } {
  if (err instanceof ConnectorError && err.status >= 400 && err.status < 600) {
    const field = err instanceof HttpRequestError ? err.field : typeof err.details?.field === 'string' ? err.details.field : undefined;
    const message = err.expose ? redact(err.message) : 'internal error';
    return { status: err.status, body: { error: { code: err.code, message, ...(field === undefined ? {} : { field }) } } };
  }
  // http-errors style (from koa or the router): a client error whose message was meant to be seen.
  const e = err as { status?: unknown; expose?: unknown; message?: unknown };
  if (typeof e?.status === 'number' && e.status >= 400 && e.status < 500 && e.expose === true) {
    const code = e.status === 404 ? 'NOT_FOUND' : e.status === 405 ? 'METHOD_NOT_ALLOWED' : 'REQUEST_REFUSED';
    return { status: e.status, body: { error: { code, message: redact(String(e.message)) } } };
  }
  return { status: 500, body: { error: { code: 'INTERNAL_ERROR', message: 'internal error' } } };
}

export function errorHandler(): HttpMiddleware {
  return async (ctx, next) => {
    try {
      await next();
    } catch (err) {
      const { status, body } = errorResponse(err);
      if (status >= 500) ctx.state.log.error({ err, code: body.error.code }, 'request failed');
      else ctx.state.refused = { code: body.error.code, ...(body.error.field === undefined ? {} : { field: body.error.field }) };
      // The rest of an oversized or stalled body is not worth reading: end the connection after answering.
      if (status === 408 || status === 413) ctx.set('Connection', 'close');
      ctx.status = status;
      ctx.body = body;
    }
  };
}

/** Runs outside the router: whatever no route answered becomes a JSON 404 (or 405 from allowedMethods). */
export function jsonFallback(): HttpMiddleware {
  return async (ctx, next) => {
    await next();
    if (ctx.body !== undefined && ctx.body !== null) return;
    if (ctx.status === 404) throw new RouteNotFoundError();
    if (ctx.status === 405) {
      ctx.status = 405;
      ctx.body = { error: { code: 'METHOD_NOT_ALLOWED', message: `${ctx.method} is not allowed here; allowed: ${ctx.response.get('Allow') || 'none'}` } } satisfies ErrorBody;
    }
  };
}
